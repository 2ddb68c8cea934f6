#pragma once
// Files of page updates (docs/live-updates.md): records of the page index, 8
// bytes little-endian, then the page's 4096 new bytes; a later record of a page
// wins. `answer --updates` reads them, `updates --synthetic` writes them.
#include "policies/engine.hpp"

#include <cstdint>
#include <ostream>
#include <string>

namespace pagequery::bench {

inline constexpr std::size_t kUpdateRecordBytes = 8 + kPageBytes;

// An update file, checked whole against a matrix of `total_pages` whose last
// page holds `last_page_bytes` bytes.
class UpdateFile {
 public:
  // Reads and checks `path`: a truncated record, a page outside the matrix or
  // non-zero bytes past its end are an InputError naming the file and record.
  UpdateFile(const std::string& path, std::uint64_t total_pages, std::uint64_t last_page_bytes);
  UpdateFile() = default;

  std::size_t records() const { return text_.size() / kUpdateRecordBytes; }
  // Stages every record in file order (a later one of a page wins).
  void stage(Engine& engine) const;
  // "N records, XXH3 <hex>": what MPI ranks compare.
  std::string identity() const;

 private:
  std::uint64_t page(std::size_t record) const;
  std::span<const std::uint8_t> bytes(std::size_t record) const;
  std::string text_;
};

// `updates --synthetic`: `blocks` blocks of `pages_per_block` distinct pages
// each, ranks drawn Zipf(s = zipf) over the matrix's pages and scattered by a
// fixed permutation, random bytes, all from `seed`.
struct SyntheticUpdates {
  std::uint64_t total_pages = 0;
  std::uint64_t last_page_bytes = kPageBytes;
  std::uint64_t blocks = 1;
  std::uint64_t pages_per_block = 1;
  double zipf = 1.0;
  std::uint64_t seed = 1;
};
// Writes the records to `out`; returns how many.
std::uint64_t write_synthetic_updates(const SyntheticUpdates& spec, std::ostream& out);

}  // namespace pagequery::bench
