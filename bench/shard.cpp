#include "bench/shard.hpp"

#include <algorithm>
#include <stdexcept>

namespace pagequery::bench {

PageRange shard_of(std::uint64_t total_pages, int rank, int size) {
  if (size < 1 || rank < 0 || rank >= size)
    throw std::invalid_argument("shard_of: rank " + std::to_string(rank) + " of " + std::to_string(size));
  const auto p = static_cast<std::uint64_t>(size), r = static_cast<std::uint64_t>(rank);
  const std::uint64_t base = total_pages / p, extra = total_pages % p;
  return {total_pages, r * base + std::min(r, extra), base + (r < extra ? 1 : 0)};
}

std::vector<PageRange> shard_layout(std::uint64_t total_pages, int size) {
  std::vector<PageRange> out;
  for (int r = 0; r < size; ++r) out.push_back(shard_of(total_pages, r, size));
  return out;
}

std::string shard_layout_json(const std::vector<PageRange>& layout) {
  std::string out = "[";
  for (const PageRange& s : layout)
    out += (out.size() > 1 ? ",[" : "[") + std::to_string(s.first_page) + "," + std::to_string(s.count) + "]";
  return out + "]";
}

}  // namespace pagequery::bench
