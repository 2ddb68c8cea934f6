#include "service/shard.hpp"

#include "pagequery/core/bits128.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <stdexcept>

namespace pagequery::service {

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

std::string file_identity(const std::string& path, int ranks) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open '" + path + "': " + std::strerror(errno));
  const std::uint64_t bytes = static_cast<std::uint64_t>(in.seekg(0, std::ios::end).tellg());
  const std::uint64_t pages = (bytes + kPageBytes - 1) / kPageBytes;
  std::set<std::uint64_t> sampled;
  for (const PageRange& s : shard_layout(pages, ranks))
    if (s.count) sampled.insert({s.first_page, s.first_page + s.count - 1});
  constexpr std::uint64_t kSpread = 64;
  for (std::uint64_t k = 0; k < kSpread && pages; ++k) sampled.insert(k * pages / kSpread);
  const std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> owned(XXH3_createState(), XXH3_freeState);
  XXH3_state_t* state = owned.get();
  XXH3_64bits_reset(state);
  std::vector<char> page(kPageBytes);
  for (const std::uint64_t p : sampled) {
    in.clear();
    in.seekg(static_cast<std::streamoff>(p * kPageBytes));
    in.read(page.data(), static_cast<std::streamsize>(page.size()));
    XXH3_64bits_update(state, &p, sizeof p);
    XXH3_64bits_update(state, page.data(), static_cast<std::size_t>(in.gcount()));
  }
  const std::uint64_t hash = XXH3_64bits_digest(state);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return "matrix file of " + std::to_string(bytes) + " bytes, sampled pages XXH3 " + hex;
}

}  // namespace pagequery::service
