// The page-query kernel with packed keys against the scalar reference
// (packed_reference_answer: a root-to-leaf walk per page), party shares against
// the target page, and shards against the whole matrix, on every backend.
#include "core_test_support.hpp"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

using pagequery::PackedDpfKey;
using pagequery::PageQueryTuning;
using pagequery::PageRange;
using pagequery::SyntheticFill;
using pqtest::kPageBytes;
using pqtest::Page;

std::string describe(const PageQueryTuning& t) {
  return "chunk_log2=" + std::to_string(t.chunk_log2) + " teams=" + std::to_string(t.teams) +
         " key_group=" + std::to_string(t.key_group);
}

// Random pages of the whole domain (some past the last page), alternating parties.
std::vector<PackedDpfKey> random_packed_keys(int leaf_bits, int count, std::uint64_t seed) {
  pagequery::KeyRng rng(seed);
  std::mt19937_64 pick(seed);
  std::vector<PackedDpfKey> keys;
  for (int k = 0; k < count; ++k) {
    const auto pair = pagequery::generate_packed_keys(leaf_bits, pick() % (std::uint64_t{128} << leaf_bits), rng);
    keys.push_back(k % 2 ? pair.party1 : pair.party0);
  }
  return keys;
}

std::vector<Page> reference(const std::vector<std::uint8_t>& pages, std::uint64_t first,
                            const std::vector<PackedDpfKey>& keys) {
  std::vector<Page> out;
  for (const PackedDpfKey& key : keys) out.push_back(pagequery::packed_reference_answer(pages, first, key));
  return out;
}

void expect_answers(const std::vector<Page>& got, const std::vector<Page>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t k = 0; k < got.size(); ++k)
    EXPECT_EQ(pqtest::first_difference(got[k], want[k]), -1) << what << ": key " << k << " of " << got.size();
}

template <class ExecSpace>
class PackedPageQuery : public ::testing::Test {};
TYPED_TEST_SUITE(PackedPageQuery, pqtest::ExecSpaces, pqtest::ExecSpaceNames);

// N from one page to several leaves with a partial last one; chunks of 2..64
// leaves (clamped to the tree), one to many teams, every compiled key group.
TYPED_TEST(PackedPageQuery, MatchesScalarReference) {
  const TypeParam exec;
  const std::vector<PageQueryTuning> tunings = {{1, 1, 0},  {2, 3, 0},     {0, 0, 0}, {6, 2, 4},
                                                {3, 0, 16}, {1, 1000, 12}, {0, 5, 8}};
  for (std::uint64_t n : {1, 3, 128, 129, 1000, 4097}) {
    const std::vector<std::uint8_t> bytes = pqtest::random_bytes(n * kPageBytes, 800 + n);
    const auto m = pqtest::matrix_from_bytes(exec, bytes, 0, n);
    const int d = pagequery::packed_domain_bits(n);
    const std::vector<PackedDpfKey> keys = random_packed_keys(d, 40, 900 + n);
    const std::vector<Page> want = reference(bytes, 0, keys);
    std::size_t next = 0;
    for (std::size_t K : {1, 2, 3, 5, 17, 40}) {
      for (int i = 0; i < 2; ++i) {
        const PageQueryTuning& t = tunings[next++ % tunings.size()];
        const std::vector<PackedDpfKey> batch(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(K));
        expect_answers(pqtest::kernel_answers(exec, m, batch, t),
                       std::vector<Page>(want.begin(), want.begin() + static_cast<std::ptrdiff_t>(K)),
                       "N=" + std::to_string(n) + " K=" + std::to_string(K) + " " + describe(t));
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

TYPED_TEST(PackedPageQuery, PartiesXorToTargetPage) {
  const TypeParam exec;
  for (std::uint64_t n : {1000, 6, 257}) {
    const auto m = pagequery::synthesize_page_matrix(exec, PageRange{n, 0, n}, SyntheticFill::Hash, 31);
    exec.fence();
    const std::vector<std::uint8_t> bytes = pqtest::matrix_bytes(m);
    const int d = pagequery::packed_domain_bits(n);
    const std::uint64_t domain = std::uint64_t{128} << d;
    const std::vector<std::uint64_t> targets = {0, 1, 127, 128, n - 1, n % domain, domain - 1, n / 2};
    pagequery::KeyRng rng(32);
    std::vector<PackedDpfKey> keys(2 * targets.size());
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const auto pair = pagequery::generate_packed_keys(d, targets[i], rng);
      keys[i] = pair.party0;
      keys[targets.size() + i] = pair.party1;
    }
    const std::vector<Page> answers = pqtest::kernel_answers(exec, m, keys);
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const std::uint64_t x = targets[i];
      const Page page = x < n ? Page(bytes.begin() + static_cast<std::ptrdiff_t>(x * kPageBytes),
                                     bytes.begin() + static_cast<std::ptrdiff_t>((x + 1) * kPageBytes))
                              : Page(kPageBytes, 0);
      EXPECT_EQ(pqtest::first_difference(pqtest::xor_pages(answers[i], answers[targets.size() + i]), page), -1)
          << "N=" << n << " target " << x;
    }
  }
}

// Shards cut inside leaves and across them: each matches the reference over its
// global pages, and their XOR is the whole matrix's answer.
TYPED_TEST(PackedPageQuery, ShardsXorToWholeAnswer) {
  const TypeParam exec;
  const std::uint64_t n = 1000;
  const std::vector<std::uint8_t> bytes = pqtest::random_bytes(n * kPageBytes, 33);
  const std::vector<PackedDpfKey> keys = random_packed_keys(pagequery::packed_domain_bits(n), 7, 34);
  const std::vector<Page> whole = reference(bytes, 0, keys);
  for (const std::vector<std::uint64_t>& cuts :
       {std::vector<std::uint64_t>{0, 300, 1000}, {0, 1, 127, 128, 129, 640, 1000}, {0, 512, 1000}}) {
    std::vector<Page> combined(keys.size(), Page(kPageBytes, 0));
    for (std::size_t s = 0; s + 1 < cuts.size(); ++s) {
      const std::vector<std::uint8_t> shard(bytes.begin() + static_cast<std::ptrdiff_t>(cuts[s] * kPageBytes),
                                            bytes.begin() + static_cast<std::ptrdiff_t>(cuts[s + 1] * kPageBytes));
      const auto m = pqtest::matrix_from_bytes(exec, shard, cuts[s], n);
      const std::vector<Page> got = pqtest::kernel_answers(exec, m, keys, {1, 2, 0});
      expect_answers(got, reference(shard, cuts[s], keys), "shard at " + std::to_string(cuts[s]));
      for (std::size_t k = 0; k < keys.size(); ++k) combined[k] = pqtest::xor_pages(combined[k], got[k]);
    }
    expect_answers(combined, whole, "XOR of shards, " + std::to_string(cuts.size() - 1) + " shards");
  }
}

// --- Tensor-core kernel (bit-sliced matrices) -------------------------------------
// Where the backend has binary tensor cores the packed mma kernel must give the
// scalar reference's bytes for every tile count, team count and slab of leaves
// (one slab unless the batch is very large: the tuning forces small ones here),
// on whole matrices, a partial last block and a shard starting mid-block;
// elsewhere a bit-sliced matrix is refused.

template <class ExecSpace>
void check_packed_sliced(const ExecSpace& exec, const PageRange& r, const std::vector<std::size_t>& ks) {
  const auto sliced =
      pagequery::synthesize_page_matrix(exec, r, SyntheticFill::Hash, 41, pagequery::PageLayout::BitSliced);
  const auto vectors = pagequery::synthesize_page_matrix(exec, r, SyntheticFill::Hash, 41);
  exec.fence();
  const std::vector<PackedDpfKey> keys =
      random_packed_keys(pagequery::packed_domain_bits(r.total_pages), static_cast<int>(ks.back()), 42 + r.count);
  const std::vector<Page> want = reference(pqtest::matrix_bytes(vectors), r.first_page, keys);
  std::size_t next = 0;
  for (std::size_t K : ks) {
    const std::vector<PackedDpfKey> batch(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(K));
    for (int tiles : {0, 1, 2, 3, 4, 6}) {
      PageQueryTuning t;
      t.teams = std::vector<int>{0, 1, 3, 7}[next++ % 4];
      t.mma_tiles = tiles;
      t.mma_slab = std::vector<int>{0, 1, 3}[next % 3];
      t.tensor_kernel = pagequery::TensorKernel::MmaSync;
      expect_answers(pqtest::kernel_answers(exec, sliced, batch, t),
                     std::vector<Page>(want.begin(), want.begin() + static_cast<std::ptrdiff_t>(K)),
                     "N=" + std::to_string(r.total_pages) + " shard [" + std::to_string(r.first_page) + ", +" +
                         std::to_string(r.count) + ") K=" + std::to_string(K) + " mma_tiles=" + std::to_string(tiles) +
                         " teams=" + std::to_string(t.teams) + " slab=" + std::to_string(t.mma_slab));
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TYPED_TEST(PackedPageQuery, TensorCoresMatchReference) {
  const TypeParam exec;
  if (!pagequery::mma_available(exec)) {
    const auto m = pagequery::synthesize_page_matrix(exec, PageRange{300, 0, 300}, SyntheticFill::Hash, 5,
                                                     pagequery::PageLayout::BitSliced);
    exec.fence();
    EXPECT_THROW(pqtest::kernel_answers(exec, m, random_packed_keys(2, 3, 35)), std::invalid_argument);
    return;
  }
  check_packed_sliced(exec, PageRange{3, 0, 3}, {1, 3, 17});
  check_packed_sliced(exec, PageRange{300, 0, 300}, {2, 16, 33});
  check_packed_sliced(exec, PageRange{5000, 0, 5000}, {1, 3, 16, 17, 40, 65, 96, 200});
  check_packed_sliced(exec, PageRange{5000, 1000, 2500}, {3, 24, 70});
}

// The Hopper kernel (wgmma, compute capability 9.0): every pass shape (1 to 4
// wgmmas of 64 keys, 1 to 3 passes), clusters of 1, 2 and 4 blocks sharing the
// leaves, 1 to 7 persistent teams (items of several ranges, chunks and passes
// per team), slabs of 1 and 3 blocks; a device it cannot run on refuses it.
template <class ExecSpace>
void check_wgmma(const ExecSpace& exec, const PageRange& r, const std::vector<std::size_t>& ks) {
  const auto sliced =
      pagequery::synthesize_page_matrix(exec, r, SyntheticFill::Hash, 43, pagequery::PageLayout::BitSliced);
  const auto vectors = pagequery::synthesize_page_matrix(exec, r, SyntheticFill::Hash, 43);
  exec.fence();
  const std::vector<PackedDpfKey> keys =
      random_packed_keys(pagequery::packed_domain_bits(r.total_pages), static_cast<int>(ks.back()), 44 + r.count);
  const std::vector<Page> want = reference(pqtest::matrix_bytes(vectors), r.first_page, keys);
  std::size_t next = 0;
  for (std::size_t K : ks) {
    PageQueryTuning t;
    t.tensor_kernel = pagequery::TensorKernel::Wgmma;
    t.teams = std::vector<int>{0, 1, 3, 7}[next++ % 4];
    t.mma_slab = std::vector<int>{0, 1, 3}[next % 3];
    const std::vector<PackedDpfKey> batch(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(K));
    for (int cluster : {0, 1, 2, 4}) {
      t.wgmma_cluster = cluster;
      expect_answers(pqtest::kernel_answers(exec, sliced, batch, t),
                     std::vector<Page>(want.begin(), want.begin() + static_cast<std::ptrdiff_t>(K)),
                     "wgmma N=" + std::to_string(r.total_pages) + " shard [" + std::to_string(r.first_page) + ", +" +
                         std::to_string(r.count) + ") K=" + std::to_string(K) + " teams=" + std::to_string(t.teams) +
                         " slab=" + std::to_string(t.mma_slab) + " cluster=" + std::to_string(cluster));
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TYPED_TEST(PackedPageQuery, WgmmaMatchesReference) {
  const TypeParam exec;
  if (!pagequery::mma_available(exec)) GTEST_SKIP() << "no binary tensor cores on this backend";
  if (!pagequery::wgmma_available(exec)) {
    const auto m = pagequery::synthesize_page_matrix(exec, PageRange{300, 0, 300}, SyntheticFill::Hash, 5,
                                                     pagequery::PageLayout::BitSliced);
    exec.fence();
    PageQueryTuning t;
    t.tensor_kernel = pagequery::TensorKernel::Wgmma;
    EXPECT_THROW(pqtest::kernel_answers(exec, m, random_packed_keys(2, 3, 37), t), std::invalid_argument);
    return;
  }
  check_wgmma(exec, PageRange{3, 0, 3}, {1, 3, 64, 65});
  check_wgmma(exec, PageRange{300, 0, 300}, {2, 16, 33, 129, 192, 256, 257});
  check_wgmma(exec, PageRange{5000, 0, 5000}, {1, 3, 40, 96, 200, 384, 600});
  check_wgmma(exec, PageRange{5000, 1000, 2500}, {3, 70, 300});
  check_wgmma(exec, PageRange{70000, 0, 70000}, {3, 96});
}

TYPED_TEST(PackedPageQuery, TensorCoresRefuseTileCountsOutOfRange) {
  const TypeParam exec;
  if (!pagequery::mma_available(exec)) GTEST_SKIP() << "no binary tensor cores on this backend";
  const auto m = pagequery::synthesize_page_matrix(exec, PageRange{300, 0, 300}, SyntheticFill::Hash, 5,
                                                   pagequery::PageLayout::BitSliced);
  exec.fence();
  PageQueryTuning t;
  t.mma_tiles = 5;
  t.tensor_kernel = pagequery::TensorKernel::MmaSync;
  EXPECT_THROW(pqtest::kernel_answers(exec, m, random_packed_keys(2, 3, 36), t), std::invalid_argument);
}

}  // namespace
