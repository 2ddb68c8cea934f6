#include "pagequery/core/matrix_shape.hpp"

#include "pagequery/core/bits128.hpp"

#include <filesystem>
#include <system_error>

namespace pagequery {

int domain_bits_for(std::uint64_t pages) {
  if (pages == 0) throw MatrixError("a matrix needs at least one page");
  if (pages > (std::uint64_t{1} << 32))
    throw MatrixError("a matrix of " + std::to_string(pages) + " pages exceeds the DPF domain of 2^32 pages");
  int d = 1;
  while ((std::uint64_t{1} << d) < pages) ++d;
  return d;
}

std::uint64_t page_count_of_file(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) throw MatrixError("matrix file " + path + " does not exist");
  if (!std::filesystem::is_regular_file(status)) throw MatrixError("matrix file " + path + " is not a regular file");
  const std::uint64_t bytes = std::filesystem::file_size(path, ec);
  if (ec) throw MatrixError("cannot read the size of matrix file " + path + ": " + ec.message());
  if (bytes == 0) throw MatrixError("matrix file " + path + " is empty");
  return (bytes + kPageBytes - 1) / kPageBytes;
}

}  // namespace pagequery
