#include "bench/results/read_limits.hpp"

#include "bench/results/hdf5.hpp"
#include "pagequery/core/memory_budget.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <limits>

namespace pagequery::bench::results {

namespace {

// The room left under the soft limit `resource`, whose use /proc/self/status
// reports as `field` (kB); unlimited: the largest value.
std::uint64_t room_under(int resource, const std::string& field) {
  rlimit limit{};
  if (::getrlimit(resource, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return std::numeric_limits<std::uint64_t>::max();
  std::ifstream status("/proc/self/status");
  std::uint64_t used_kib = 0;
  for (std::string key; status >> key;) {
    if (key == field) {
      status >> used_kib;
      break;
    }
    status.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  const std::uint64_t used = used_kib * 1024;
  return limit.rlim_cur > used ? limit.rlim_cur - used : 0;
}

}  // namespace

std::uint64_t memory_for_reading() {
  return std::min({host_memory_available(), room_under(RLIMIT_AS, "VmSize:"), room_under(RLIMIT_DATA, "VmData:")});
}

void check_in_memory(const std::string& path, const std::string& what, std::uint64_t count,
                     std::uint64_t element_bytes) {
  const std::uint64_t available = memory_for_reading();
  if (element_bytes != 0 && (count > available / element_bytes || !fits_in(count * element_bytes, available)))
    fail(path, what + " declares " + std::to_string(count) + " elements of " + std::to_string(element_bytes) +
                   " bytes in memory, more than the " + std::to_string(available >> 20) +
                   " MiB available hold (damaged?)");
}

}  // namespace pagequery::bench::results
