#pragma once
// Bounded input and checked output of the CLI: a request is read with a size
// limit enforced while reading, a file that must be regular is checked without
// opening it (a FIFO would block), and a write to stdout that fails is an error.
#include <cstdint>
#include <string>

namespace pagequery::apps {

// The bytes of `path` ("-": stdin). InputError ("<what>: more than <limit> bytes
// (<flag> raises the limit)") as soon as there are more than `limit`: a larger
// regular file before reading, anything else after limit + 1 bytes.
std::string read_limited(const std::string& path, std::uint64_t limit, const std::string& what,
                         const std::string& flag);

// Flushes std::cout; throws std::runtime_error ("<command>: cannot write to stdout: <why>")
// if a write failed (a full disk, a closed pipe: SIGPIPE is ignored).
void flush_stdout(const std::string& command);

}  // namespace pagequery::apps
