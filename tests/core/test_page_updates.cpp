// Patching a matrix in place (core/page_updates.hpp): random batches of new pages
// and XOR diffs, in both layouts, whole matrices and shards that start mid-block,
// checked against the pages patched on the host.
#include "core_test_support.hpp"

#include "pagequery/core/page_updates.hpp"

#include <algorithm>
#include <map>
#include <random>

namespace {

using pagequery::PageLayout;
using pagequery::PageRange;
using pagequery::SyntheticFill;
using pqtest::Bits128;
using pqtest::kPageBytes;
using pqtest::kVectorsPerPage;

template <class ExecSpace>
class PageUpdates : public ::testing::Test {};
TYPED_TEST_SUITE(PageUpdates, pqtest::ExecSpaces, pqtest::ExecSpaceNames);

struct Change {
  bool replace;
  std::vector<std::uint8_t> bytes;
};

// `count` distinct pages of the shard, clustered so that groups hold several.
std::map<std::uint64_t, Change> random_changes(const PageRange& r, std::size_t count, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::map<std::uint64_t, Change> out;
  while (out.size() < std::min<std::size_t>(count, r.count)) {
    const std::uint64_t page = r.first_page + gen() % r.count;
    out[page] = Change{gen() % 2 == 0, pqtest::random_bytes(kPageBytes, gen())};
  }
  return out;
}

// The patch on the device, as the engine builds it (rows in staging order: reversed).
template <class ExecSpace>
pagequery::PagePatch<typename ExecSpace::memory_space> device_patch(const ExecSpace& exec,
                                                                    const std::map<std::uint64_t, Change>& changes) {
  using Mem = typename ExecSpace::memory_space;
  const std::size_t n = changes.size();
  Kokkos::View<std::uint64_t*, Mem> pages("pqtest::patch_pages", n);
  Kokkos::View<std::uint32_t*, Mem> rows("pqtest::patch_rows", n);
  Kokkos::View<std::uint8_t*, Mem> replace("pqtest::patch_replace", n);
  Kokkos::View<Bits128**, Kokkos::LayoutRight, Mem> data("pqtest::patch_data", n, kVectorsPerPage);
  auto hp = Kokkos::create_mirror_view(pages);
  auto hr = Kokkos::create_mirror_view(rows);
  auto hx = Kokkos::create_mirror_view(replace);
  auto hd = Kokkos::create_mirror_view(data);
  std::vector<std::uint64_t> sorted;
  std::size_t k = 0;
  for (const auto& [page, change] : changes) {
    const std::size_t row = n - 1 - k;
    hp(k) = page;
    hr(k) = static_cast<std::uint32_t>(row);
    hx(k) = change.replace;
    std::memcpy(&hd(row, 0), change.bytes.data(), kPageBytes);
    sorted.push_back(page);
    ++k;
  }
  const std::vector<std::uint32_t> starts = pagequery::slice_groups(sorted);
  Kokkos::View<std::uint32_t*, Mem> groups("pqtest::patch_groups", starts.size());
  auto hg = Kokkos::create_mirror_view(groups);
  for (std::size_t g = 0; g < starts.size(); ++g) hg(g) = starts[g];
  Kokkos::deep_copy(exec, pages, hp);
  Kokkos::deep_copy(exec, rows, hr);
  Kokkos::deep_copy(exec, replace, hx);
  Kokkos::deep_copy(exec, data, hd);
  Kokkos::deep_copy(exec, groups, hg);
  exec.fence();
  return {pages, rows, replace, data, groups};
}

void apply_on_host(std::vector<std::uint8_t>& pages, std::uint64_t first_page,
                   const std::map<std::uint64_t, Change>& changes) {
  for (const auto& [page, change] : changes) {
    std::uint8_t* dst = pages.data() + (page - first_page) * kPageBytes;
    for (int i = 0; i < kPageBytes; ++i) dst[i] = change.replace ? change.bytes[i] : dst[i] ^ change.bytes[i];
  }
}

// The local pages a matrix holds, read back from either layout bit by bit (the
// bit-sliced one through slice_word_index, independent of the kernels' transposes).
template <class MemorySpace>
std::vector<std::uint8_t> pages_of(const pagequery::PageMatrix<MemorySpace>& m) {
  if (m.layout() == PageLayout::Vectors) return pqtest::matrix_bytes(m);
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m.view());
  const auto* words = reinterpret_cast<const std::uint32_t*>(host.data());
  const std::uint64_t first_row = m.first_page() - m.first_block() * pagequery::kSlicePages;
  std::vector<std::uint8_t> out(m.pages() * kPageBytes, 0);
  for (std::uint64_t p = 0; p < m.pages(); ++p) {
    const std::uint64_t row = first_row + p;
    const int q = static_cast<int>(row % pagequery::kSlicePages);
    const std::uint32_t* block = words + row / pagequery::kSlicePages * pagequery::kSliceWords;
    for (int v = 0; v < kVectorsPerPage; ++v)
      for (int bit = 0; bit < 128; ++bit) {
        const std::uint32_t word = block[pagequery::slice_word_index(v, bit, q / 128, (q % 128) / 32)];
        if ((word >> (q % 32)) & 1u) out[p * kPageBytes + 16 * v + bit / 8] |= std::uint8_t(1u << (bit % 8));
      }
  }
  return out;
}

template <class ExecSpace>
void check_patches(const ExecSpace& exec, const PageRange& r, PageLayout layout, std::size_t per_round) {
  const auto m = pagequery::synthesize_page_matrix(exec, r, SyntheticFill::Hash, 21, layout);
  exec.fence();
  std::vector<std::uint8_t> want = pages_of(m);
  for (std::uint64_t round = 0; round < 3; ++round) {
    const auto changes = random_changes(r, per_round, 100 * round + r.first_page + r.count);
    pagequery::patch_pages(exec, m, device_patch(exec, changes));
    exec.fence();
    apply_on_host(want, r.first_page, changes);
    const std::vector<std::uint8_t> got = pages_of(m);
    ASSERT_EQ(got.size(), want.size());
    const auto diff = std::mismatch(got.begin(), got.end(), want.begin());
    ASSERT_TRUE(diff.first == got.end()) << "layout " << (layout == PageLayout::BitSliced ? "bit-sliced" : "vectors")
                                         << " shard [" << r.first_page << ", +" << r.count << ") round " << round
                                         << ": page " << (diff.first - got.begin()) / kPageBytes << " byte "
                                         << (diff.first - got.begin()) % kPageBytes;
  }
}

TYPED_TEST(PageUpdates, PatchesEveryLayoutInPlace) {
  const TypeParam exec;
  for (PageLayout layout : {PageLayout::Vectors, PageLayout::BitSliced})
    for (const PageRange r : {PageRange{1, 0, 1}, PageRange{300, 0, 300}, PageRange{1000, 300, 500}}) {
      check_patches(exec, r, layout, 1);
      check_patches(exec, r, layout, 40);
      if (::testing::Test::HasFailure()) return;
    }
}

TYPED_TEST(PageUpdates, AnEmptyPatchChangesNothing) {
  const TypeParam exec;
  const auto m =
      pagequery::synthesize_page_matrix(exec, PageRange{300, 0, 300}, SyntheticFill::Hash, 2, PageLayout::BitSliced);
  exec.fence();
  const std::vector<std::uint8_t> before = pages_of(m);
  pagequery::patch_pages(exec, m, device_patch(exec, {}));
  exec.fence();
  EXPECT_TRUE(pages_of(m) == before);
}

TEST(SliceGroups, RunsOfOneGroupAndTheEnd) {
  const std::vector<std::uint64_t> pages{0, 5, 31, 32, 100, 255, 256, 1000};
  EXPECT_EQ(pagequery::slice_groups(pages), (std::vector<std::uint32_t>{0, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(pagequery::slice_groups({}), (std::vector<std::uint32_t>{0}));
}

}  // namespace
