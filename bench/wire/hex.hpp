#pragma once
// Small text formats of the CLI: the hex strings of Morphogen's JSON wire format,
// decimal integers given on the command line, and the matrix-file domain rule.
// Plain C++ (no Kokkos, no CLI11): the sweep and the tests reuse it.
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pagequery::bench {

// Malformed text; the message says what is wrong but not where the text came
// from (callers prefix that: "queries[1].keys[2]: ...").
class FormatError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// "0x" followed by two lower-case hex digits per byte (what Morphogen writes).
std::string to_hex(std::span<const std::uint8_t> bytes);

// Decodes hex with or without a leading "0x"/"0X" (Morphogen writes the prefix,
// hand-made requests often omit it); digits may be upper or lower case. Refuses
// an odd number of digits, any non-hex character (whitespace included), and a
// doubled prefix. "0x" alone and "" decode to zero bytes.
std::vector<std::uint8_t> from_hex(std::string_view text);

// A whole decimal unsigned integer ("42"; no sign, no spaces, no hex);
// `source` names the flag in the error: "--index must be ... got 'x'".
std::uint64_t parse_u64(std::string_view text, std::string_view source);

// The text with every control character escaped ("\n", "\t", "\x1b";
// core/printable.hpp), so that an error message stays on one line.
std::string one_line(std::string_view text);

}  // namespace pagequery::bench
