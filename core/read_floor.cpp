#include "pagequery/core/read_floor.hpp"

#include <algorithm>
#include <fstream>

namespace pagequery {

std::uint64_t host_last_level_cache_bytes(const std::string& root) {
  std::uint64_t largest = 0;
  for (int index = 0;; ++index) {
    std::ifstream in(root + "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/size");
    if (!in) break;
    std::uint64_t size = 0;
    char unit = 0;
    if (!(in >> size)) continue;
    in >> unit;  // "32768K", "16M", or bytes
    size <<= unit == 'K' ? 10 : unit == 'M' ? 20 : unit == 'G' ? 30 : 0;
    largest = std::max(largest, size);
  }
  return largest ? largest : std::uint64_t{64} << 20;
}

}  // namespace pagequery
