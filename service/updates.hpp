#pragma once
// Files of page updates (docs/live-updates.md): records of the page index, 8
// bytes little-endian, then the page's 4096 new bytes; a later record of a page
// wins. `answer --updates` reads them, `updates --synthetic` writes them.
#include "pagequery/policies/engine.hpp"

#include <cstdint>
#include <ostream>
#include <random>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

namespace pagequery::service {

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

// Synthetic update sets: page ranks drawn Zipf(s = zipf) over the matrix's pages
// and scattered by a fixed permutation (hot pages are not neighbours), random
// bytes (zero past the end of a short last page), all from `seed`. What
// `updates --synthetic` writes and what the sweep's --update-pages stages.
class SyntheticUpdates {
 public:
  SyntheticUpdates(std::uint64_t total_pages, std::uint64_t last_page_bytes, double zipf, std::uint64_t seed);
  // The next set of `count` distinct pages (count <= total_pages): `emit(page,
  // bytes)` once per page; the bytes are valid during the call.
  template <class Emit>
  void next_set(std::uint64_t count, Emit&& emit) {
    std::unordered_set<std::uint64_t> taken;
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::uint64_t page = next_page(taken);  // first: next_bytes() fills this page
      emit(page, next_bytes());
    }
  }

 private:
  std::uint64_t next_page(std::unordered_set<std::uint64_t>& taken);
  std::span<const std::uint8_t> next_bytes();

  std::uint64_t total_pages_, last_page_bytes_, stride_, offset_;
  double zipf_;
  std::mt19937_64 gen_;
  std::uint64_t last_page_ = 0;  // the page next_bytes() fills
  std::vector<std::uint8_t> bytes_;
};

// `updates --synthetic`: `blocks` blocks of `pages_per_block` distinct pages each.
struct SyntheticUpdateFile {
  std::uint64_t total_pages = 0;
  std::uint64_t last_page_bytes = kPageBytes;
  std::uint64_t blocks = 1;
  std::uint64_t pages_per_block = 1;
  double zipf = 1.0;
  std::uint64_t seed = 1;
};
// Writes the records to `out`; returns how many. InputError when a block holds
// more pages than the matrix.
std::uint64_t write_synthetic_updates(const SyntheticUpdateFile& spec, std::ostream& out);

}  // namespace pagequery::service
