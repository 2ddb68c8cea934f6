#pragma once
// What the wire layer needs to know of a matrix without Kokkos: its errors,
// its page count from a file, and the DPF domain that covers its pages.
#include <cstdint>
#include <stdexcept>
#include <string>

namespace pagequery {

class MatrixError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// d = max(1, ceil(log2 pages)); throws for 0 pages or more than 2^32.
int domain_bits_for(std::uint64_t pages);

// Pages of the raw matrix file at `path` (Morphogen: ceil(bytes / 4096)); throws
// if it is missing, not a regular file or empty.
std::uint64_t page_count_of_file(const std::string& path);

}  // namespace pagequery
