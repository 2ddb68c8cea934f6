#pragma once
// Patching a page matrix in place: a batch of changed pages, already on the
// device, written into either layout by one kernel. The pages of a batch are
// sorted and unique; each carries the page's new bytes or an XOR diff.
// Bit-sliced blocks are not rebuilt: only the 32-page groups holding changed
// pages are read, transposed back to vectors, patched and sliced again.
#include "page_matrix.hpp"

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace pagequery {

template <class MemorySpace>
struct PagePatch {
  // Global page indices, ascending and unique, all inside the matrix's shard.
  Kokkos::View<const std::uint64_t*, MemorySpace> pages;
  // Row of pages(k)'s bytes in `data`, and whether they replace the page (1) or
  // are XORed into it (0).
  Kokkos::View<const std::uint32_t*, MemorySpace> rows;
  Kokkos::View<const std::uint8_t*, MemorySpace> replace;
  Kokkos::View<const Bits128**, Kokkos::LayoutRight, MemorySpace> data;
  // Bit-sliced layout only: pages [groups(g), groups(g + 1)) share one 32-page
  // word group (slice_groups); groups.extent(0) - 1 groups.
  Kokkos::View<const std::uint32_t*, MemorySpace> groups;
};

// The starts of the runs of `sorted_pages` that fall in one 32-page group of the
// bit-sliced layout, plus the end (sorted_pages.size()).
std::vector<std::uint32_t> slice_groups(std::span<const std::uint64_t> sorted_pages);

// Writes `patch` into `matrix` (asynchronous on `exec`).
template <class ExecSpace>
void patch_pages(const ExecSpace& exec, const PageMatrix<typename ExecSpace::memory_space>& matrix,
                 const PagePatch<typename ExecSpace::memory_space>& patch);

}  // namespace pagequery
