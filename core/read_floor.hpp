#pragma once
// The read floor: one plain streaming read of a matrix, an XOR over all its
// 64-bit words (padding included). No scan of the page query can beat it on the
// same device, so the sweep times it and reports every cell as a multiple of it.
#include "page_matrix.hpp"

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <string>
#include <type_traits>

namespace pagequery {

template <class MemorySpace>
struct XorWords {
  using value_type = std::uint64_t;
  Kokkos::View<const Bits128*, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> vectors;
  KOKKOS_FUNCTION void operator()(std::int64_t i, value_type& x) const {
    const Bits128 v = vectors(i);  // one 16-byte load
    x ^= ((std::uint64_t{v.w[1]} << 32) | v.w[0]) ^ ((std::uint64_t{v.w[3]} << 32) | v.w[2]);
  }
  KOKKOS_FUNCTION void init(value_type& x) const { x = 0; }
  KOKKOS_FUNCTION void join(value_type& x, const value_type& y) const { x ^= y; }
};

// Reads every word of the matrix's view once on `exec` and returns their XOR
// (waits for it).
template <class ExecSpace>
std::uint64_t read_all_words(const ExecSpace& exec, const PageMatrix<typename ExecSpace::memory_space>& matrix) {
  using MemorySpace = typename ExecSpace::memory_space;
  const auto& rows = matrix.view();
  XorWords<MemorySpace> functor;
  functor.vectors = decltype(functor.vectors)(rows.data(), rows.span());
  std::uint64_t result = 0;
  Kokkos::parallel_reduce(
      "pagequery::read_floor",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(exec, 0, static_cast<std::int64_t>(rows.span())),
      functor, result);
  exec.fence("pagequery::read_all_words");
  return result;
}

// A cold-cache eviction (the sweep's --cold): writes `scratch`, which should be
// twice the device's last-level cache (last_level_cache_bytes), with `round`, so
// that no line of the matrix or of a batch's keys survives it (waits for it).
template <class ExecSpace>
void evict_caches(const ExecSpace& exec, const Kokkos::View<std::uint64_t*, typename ExecSpace::memory_space>& scratch,
                  std::uint64_t round) {
  Kokkos::deep_copy(exec, scratch, round);
  exec.fence("pagequery::evict_caches");
}

// The host's last-level cache: the largest cache of CPU 0 that Linux lists
// (/sys/devices/system/cpu/cpu0/cache/index*/size), 64 MiB when none is readable.
// `root` prefixes the path (tests use a fake tree).
std::uint64_t host_last_level_cache_bytes(const std::string& root = "");

// Bytes of the last-level cache in front of ExecSpace's memory: the GPU's L2, or the host's.
template <class ExecSpace>
std::uint64_t last_level_cache_bytes([[maybe_unused]] const ExecSpace& exec) {
#ifdef KOKKOS_ENABLE_CUDA
  if constexpr (std::is_same_v<ExecSpace, Kokkos::Cuda>)
    return static_cast<std::uint64_t>(exec.cuda_device_prop().l2CacheSize);
#endif
  return host_last_level_cache_bytes();
}

}  // namespace pagequery
