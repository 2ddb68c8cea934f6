#pragma once
// How much memory this process may still allocate before it is killed. The
// kernel's MemAvailable is the machine's view; a Slurm job or a container runs
// in a cgroup whose limit is often far lower, and exceeding that one kills the
// process without a message. Plain C++ (no Kokkos).
#include <cstdint>
#include <string>

namespace pagequery {

// The smaller of MemAvailable and, for the memory cgroup of this process and each
// of its ancestors, limit - usage + reclaimable file cache (cgroup v2: memory.max,
// memory.current, inactive_file; v1: memory.limit_in_bytes, memory.usage_in_bytes,
// total_inactive_file). `root` prefixes every path read (tests use a fake tree).
std::uint64_t host_memory_available(const std::string& root = "");

// What an allocation must leave free of `available`: 5 %, at least 256 MiB (the
// runtime, the page cache, other allocations of the process).
std::uint64_t memory_headroom(std::uint64_t available);

// `need` bytes fit into `available` with the headroom to spare.
inline bool fits_in(std::uint64_t need, std::uint64_t available) {
  const std::uint64_t headroom = memory_headroom(available);
  return available > headroom && need <= available - headroom;
}

}  // namespace pagequery
