#pragma once
// The read floor: one plain streaming read of a matrix, an XOR over all its
// 64-bit words (padding included). No scan of the page query can beat it on the
// same device, so the sweep times it and reports every cell as a multiple of it.
#include "page_matrix.hpp"

#include <Kokkos_Core.hpp>

#include <cstdint>

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
  Kokkos::parallel_reduce("pagequery::read_floor",
                          Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(
                              exec, 0, static_cast<std::int64_t>(rows.span())),
                          functor, result);
  exec.fence("pagequery::read_all_words");
  return result;
}

}  // namespace pagequery
