#include "page_updates.hpp"

#include "backends.hpp"

namespace pagequery {

std::vector<std::uint32_t> slice_groups(std::span<const std::uint64_t> sorted_pages) {
  std::vector<std::uint32_t> starts;
  for (std::size_t k = 0; k < sorted_pages.size(); ++k)
    if (k == 0 || sorted_pages[k] / 32 != sorted_pages[k - 1] / 32) starts.push_back(static_cast<std::uint32_t>(k));
  starts.push_back(static_cast<std::uint32_t>(sorted_pages.size()));
  return starts;
}

namespace Impl {

PAGEQUERY_INLINE std::uint32_t patched(std::uint32_t old, std::uint32_t value, bool replace) {
  return replace ? value : old ^ value;
}

// One thread per (changed page, vector).
template <class ExecSpace>
void patch_vectors(const ExecSpace& exec, const PageMatrix<typename ExecSpace::memory_space>& matrix,
                   const PagePatch<typename ExecSpace::memory_space>& patch) {
  const auto rows = matrix.view();
  const std::uint64_t first = matrix.first_page();
  Kokkos::parallel_for(
      "pagequery::patch_vectors",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>, Kokkos::IndexType<std::int64_t>>(
          exec, {0, 0}, {static_cast<std::int64_t>(patch.pages.extent(0)), kVectorsPerPage}),
      KOKKOS_LAMBDA(std::int64_t k, std::int64_t v) {
        Bits128& dst = rows(patch.pages(k) - first, v);
        const Bits128 src = patch.data(patch.rows(k), v);
        for (int w = 0; w < 4; ++w) dst.w[w] = patched(dst.w[w], src.w[w], patch.replace(k));
      });
}

// One thread per (32-page group, vector, word of the vector): the group's 32
// slice words of those 32 bits are transposed back to the pages' words, the
// changed pages patched, and the words sliced again (slice_blocks' inverse and
// itself). No two threads share a word.
template <class ExecSpace>
void patch_slices(const ExecSpace& exec, const PageMatrix<typename ExecSpace::memory_space>& matrix,
                  const PagePatch<typename ExecSpace::memory_space>& patch) {
  std::uint32_t* words = reinterpret_cast<std::uint32_t*>(matrix.view().data());
  const std::uint64_t first_row_page = matrix.first_block() * kSlicePages;
  const std::int64_t groups = static_cast<std::int64_t>(patch.groups.extent(0)) - 1;
  Kokkos::parallel_for(
      "pagequery::patch_slices",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(exec, 0, groups * kVectorsPerPage * 4),
      KOKKOS_LAMBDA(std::int64_t item) {
        const int w = static_cast<int>(item & 3);
        const int v = static_cast<int>((item >> 2) & 255);
        const std::int64_t g = item >> 10;
        const std::uint32_t k0 = patch.groups(g), k1 = patch.groups(g + 1);
        const std::uint64_t row = patch.pages(k0) - first_row_page;
        const int in_block = static_cast<int>(row % kSlicePages);
        const int half = in_block / 128, t = (in_block % 128) / 32;
        std::uint32_t* block = words + (row / kSlicePages) * kSliceWords;
        std::uint32_t m[32];
        for (int b = 0; b < 32; ++b) m[b] = block[slice_word_index(v, 32 * w + b, half, t)];
        transpose32(m);  // m[i]: word w of vector v of the group's page i
        for (std::uint32_t k = k0; k < k1; ++k) {
          const int i = static_cast<int>((patch.pages(k) - first_row_page) % 32);
          m[i] = patched(m[i], patch.data(patch.rows(k), v).w[w], patch.replace(k));
        }
        transpose32(m);
        for (int b = 0; b < 32; ++b) block[slice_word_index(v, 32 * w + b, half, t)] = m[b];
      });
}

}  // namespace Impl

template <class ExecSpace>
void patch_pages(const ExecSpace& exec, const PageMatrix<typename ExecSpace::memory_space>& matrix,
                 const PagePatch<typename ExecSpace::memory_space>& patch) {
  if (patch.pages.extent(0) == 0) return;
  if (matrix.layout() == PageLayout::BitSliced)
    Impl::patch_slices(exec, matrix, patch);
  else
    Impl::patch_vectors(exec, matrix, patch);
}

#define PAGEQUERY_INSTANTIATE_PATCH_PAGES(ExecSpace)                                      \
  template void patch_pages(const ExecSpace&, const PageMatrix<ExecSpace::memory_space>&, \
                            const PagePatch<ExecSpace::memory_space>&);
PAGEQUERY_FOR_EACH_BACKEND(PAGEQUERY_INSTANTIATE_PATCH_PAGES)

}  // namespace pagequery
