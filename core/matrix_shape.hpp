#pragma once
// What the host API and the wire layer need to know of a matrix without Kokkos:
// its errors, its page count from a file, the DPF domain that covers its pages,
// and how a synthetic one is filled.
#include <cstdint>
#include <stdexcept>
#include <string>

namespace pagequery {

enum class SyntheticFill {
  Hash,       // word = hash(seed, page, vector, word): every byte differs
  Morphogen,  // Morphogen's bench: page i filled with the byte i & 0xFF
};
std::string to_string(SyntheticFill fill);  // "hash", "morphogen"

class MatrixError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A shard of `total_pages`: pages [first_page, first_page + count); count may be 0.
struct PageRange {
  std::uint64_t total_pages;
  std::uint64_t first_page;
  std::uint64_t count;
  bool operator==(const PageRange&) const = default;
};

// d = max(1, ceil(log2 pages)); throws for 0 pages or more than 2^32.
int domain_bits_for(std::uint64_t pages);

// Pages of the raw matrix file at `path` (Morphogen: ceil(bytes / 4096)); throws
// if it is missing, not a regular file or empty.
std::uint64_t page_count_of_file(const std::string& path);

}  // namespace pagequery
