// The page-query kernel against a plain scalar reference (dpf_evaluate per
// page), party shares against the target page, and shards against the whole
// matrix, on every enabled backend and several tunings.
#include "core_test_support.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using pagequery::DpfKey;
using pagequery::PageQueryTuning;
using pagequery::PageRange;
using pagequery::SyntheticFill;
using pqtest::kPageBytes;
using pqtest::kVectorsPerPage;
using pqtest::Page;

std::string describe(const PageQueryTuning& t) {
  std::ostringstream s;
  s << "chunk_log2=" << t.chunk_log2 << " teams=" << t.teams;
  return s.str();
}

// Every combination of chunk_log2 {1, 3, 6} and teams {1, 3, default}, then
// clamped chunk sizes (0 and 40) and more teams than chunks.
std::vector<PageQueryTuning> all_tunings() {
  std::vector<PageQueryTuning> out;
  for (int chunk : {1, 3, 6})
    for (int teams : {1, 3, 0}) out.push_back({chunk, teams});
  out.push_back({0, 0});
  out.push_back({40, 2});
  out.push_back({2, 1000});
  return out;
}

// K keys of random targets in [0, 2^d) (so some lie past the last page when N
// is not a power of two), alternating between party 0 and party 1 keys so both
// root control bits are exercised.
std::vector<DpfKey> random_keys(int d, int count, std::uint64_t seed) {
  pagequery::KeyRng rng(seed);
  std::mt19937_64 pick(seed);
  std::vector<DpfKey> keys;
  for (int k = 0; k < count; ++k) {
    const std::uint64_t x = pick() % (std::uint64_t{1} << d);
    const pagequery::DpfKeyPair pair = pagequery::generate_dpf_keys(d, x, rng);
    keys.push_back(k % 2 ? pair.party1 : pair.party0);
  }
  return keys;
}

template <class T>
std::vector<T> prefix(const std::vector<T>& v, std::size_t k) {
  return {v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k)};
}

void expect_answers(const std::vector<Page>& got, const std::vector<Page>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t k = 0; k < got.size(); ++k) {
    const long diff = pqtest::first_difference(got[k], want[k]);
    EXPECT_EQ(diff, -1) << what << ": key " << k << " of " << got.size() << " differs first at byte " << diff;
  }
}

template <class ExecSpace>
class PageQueryKernel : public ::testing::Test {};
TYPED_TEST_SUITE(PageQueryKernel, pqtest::ExecSpaces, pqtest::ExecSpaceNames);

// --- Kernel vs scalar reference ----------------------------------------------

template <class ExecSpace>
void check_against_reference(const ExecSpace& exec, std::uint64_t n, const std::vector<std::uint8_t>& bytes,
                             const pagequery::PageMatrix<typename ExecSpace::memory_space>& m,
                             const std::vector<DpfKey>& keys, const std::vector<std::size_t>& ks,
                             const std::vector<PageQueryTuning>& tunings, bool rotate) {
  const std::vector<Page> reference = pqtest::reference_answers(bytes, 0, keys);
  std::size_t next = 0;
  for (std::size_t K : ks) {
    const std::vector<DpfKey> batch = prefix(keys, K);
    const std::vector<Page> want = prefix(reference, K);
    // rotate: three tunings per batch size, cycling through the list.
    const std::size_t count = rotate ? std::min<std::size_t>(3, tunings.size()) : tunings.size();
    for (std::size_t i = 0; i < count; ++i) {
      const PageQueryTuning& t = tunings[rotate ? next++ % tunings.size() : i];
      const std::vector<Page> got = pqtest::kernel_answers(exec, m, batch, t);
      expect_answers(got, want, "N=" + std::to_string(n) + " K=" + std::to_string(K) + " " + describe(t));
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TYPED_TEST(PageQueryKernel, TinyMatricesMatchReference) {
  const TypeParam exec;
  for (std::uint64_t n : {1, 2, 3}) {
    const std::vector<std::uint8_t> bytes = pqtest::random_bytes(n * kPageBytes, 100 + n);
    const auto m = pqtest::matrix_from_bytes(exec, bytes, 0, n);
    const int d = pagequery::domain_bits_for(n);
    ASSERT_EQ(m.domain_bits(), d);
    const std::vector<DpfKey> keys = random_keys(d, 17, 200 + n);
    check_against_reference(exec, n, bytes, m, keys, {1, 2, 3, 17}, all_tunings(), false);
  }
}

// N = 1000 (d = 10, a partial last chunk at every chunk size), synthetic hash
// fill, K = 1..40 across one, two and three key groups.
TYPED_TEST(PageQueryKernel, ThousandPagesMatchReference) {
  const TypeParam exec;
  const std::uint64_t n = 1000;
  const auto m = pagequery::synthesize_page_matrix(exec, PageRange{n, 0, n}, SyntheticFill::Hash, 7);
  exec.fence();
  const std::vector<std::uint8_t> bytes = pqtest::matrix_bytes(m);
  const std::vector<DpfKey> keys = random_keys(10, 40, 300);
  check_against_reference(exec, n, bytes, m, keys, {1, 2, 3, 5, 16, 33}, all_tunings(), true);
  check_against_reference(exec, n, bytes, m, keys, {17, 40}, all_tunings(), false);
}

// N = 4097 (d = 13: one page past a power of two), random bytes.
TYPED_TEST(PageQueryKernel, FourThousandNinetySevenPagesMatchReference) {
  const TypeParam exec;
  const std::uint64_t n = 4097;
  const std::vector<std::uint8_t> bytes = pqtest::random_bytes(n * kPageBytes, 400);
  const auto m = pqtest::matrix_from_bytes(exec, bytes, 0, n);
  ASSERT_EQ(m.domain_bits(), 13);
  const std::vector<DpfKey> keys = random_keys(13, 17, 500);
  std::vector<PageQueryTuning> tunings = {{1, 1}, {3, 3}, {6, 0}, {13, 0}, {6, 1}, {1, 0}};
  check_against_reference(exec, n, bytes, m, keys, {1, 3}, tunings, false);
  check_against_reference(exec, n, bytes, m, keys, {17}, {{6, 0}, {3, 3}}, false);
}

// --- Two parties --------------------------------------------------------------

template <class ExecSpace>
void check_parties(const ExecSpace& exec, std::uint64_t n, SyntheticFill fill,
                   const std::vector<std::uint64_t>& targets, const PageQueryTuning& tuning) {
  const auto m = pagequery::synthesize_page_matrix(exec, PageRange{n, 0, n}, fill, 11);
  exec.fence();
  const std::vector<std::uint8_t> bytes = pqtest::matrix_bytes(m);
  const int d = m.domain_bits();
  pagequery::KeyRng rng(12);
  // One batch: all party-0 keys, then all party-1 keys.
  std::vector<DpfKey> keys(2 * targets.size());
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const pagequery::DpfKeyPair pair = pagequery::generate_dpf_keys(d, targets[i], rng);
    keys[i] = pair.party0;
    keys[targets.size() + i] = pair.party1;
  }
  const std::vector<Page> answers = pqtest::kernel_answers(exec, m, keys, tuning);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const std::uint64_t x = targets[i];
    const Page page = x < n ? Page(bytes.begin() + static_cast<std::ptrdiff_t>(x * kPageBytes),
                                   bytes.begin() + static_cast<std::ptrdiff_t>((x + 1) * kPageBytes))
                            : Page(kPageBytes, 0);  // past the end: zero
    const Page got = pqtest::xor_pages(answers[i], answers[targets.size() + i]);
    EXPECT_EQ(pqtest::first_difference(got, page), -1) << "N=" << n << " target " << x << " " << describe(tuning);
    // A single share is not the page (the mask hides it).
    if (x < n) {
      EXPECT_NE(pqtest::first_difference(answers[i], page), -1) << "target " << x;
    }
  }
}

TYPED_TEST(PageQueryKernel, PartiesXorToTargetPage) {
  const TypeParam exec;
  // Morphogen's fill: page x is the byte x & 0xff everywhere.
  check_parties(exec, 1000, SyntheticFill::Morphogen, {0, 1, 63, 64, 255, 256, 500, 998, 999, 1000, 1023}, {6, 0});
  check_parties(exec, 1000, SyntheticFill::Hash, {0, 17, 999, 1010}, {3, 3});
  check_parties(exec, 777, SyntheticFill::Hash, {776, 0, 300, 512, 1023}, {1, 1});
  check_parties(exec, 1, SyntheticFill::Hash, {0, 1}, {});
  check_parties(exec, 2, SyntheticFill::Morphogen, {1, 0}, {});
  check_parties(exec, 3, SyntheticFill::Hash, {2, 3, 1}, {1, 0});
}

// --- Shards -------------------------------------------------------------------

template <class ExecSpace>
void check_shards(const ExecSpace& exec, std::uint64_t n, const std::vector<std::uint64_t>& cuts,
                  const std::vector<DpfKey>& keys, const std::vector<std::uint8_t>& whole_bytes,
                  const std::vector<Page>& whole, const PageQueryTuning& tuning, bool from_bytes) {
  std::vector<Page> combined(keys.size(), Page(kPageBytes, 0));
  std::string what = "N=" + std::to_string(n) + " " + describe(tuning) + " cuts";
  for (std::uint64_t c : cuts) what += " " + std::to_string(c);
  what += from_bytes ? " (shards from bytes)" : " (synthetic shards)";
  for (std::size_t s = 0; s + 1 < cuts.size(); ++s) {
    const std::uint64_t first = cuts[s], count = cuts[s + 1] - cuts[s];
    const std::vector<std::uint8_t> shard_bytes(
        whole_bytes.begin() + static_cast<std::ptrdiff_t>(first * kPageBytes),
        whole_bytes.begin() + static_cast<std::ptrdiff_t>((first + count) * kPageBytes));
    const auto shard =
        from_bytes ? pqtest::matrix_from_bytes(exec, shard_bytes, first, n)
                   : pagequery::synthesize_page_matrix(exec, PageRange{n, first, count}, SyntheticFill::Hash, 21);
    exec.fence();
    ASSERT_EQ(shard.first_page(), first);
    ASSERT_EQ(shard.domain_bits(), pagequery::domain_bits_for(n));
    const std::vector<Page> got = pqtest::kernel_answers(exec, shard, keys, tuning);
    // Each shard on its own matches the reference over its global indices.
    expect_answers(got, pqtest::reference_answers(shard_bytes, first, keys),
                   what + ": shard [" + std::to_string(first) + ", +" + std::to_string(count) + ")");
    for (std::size_t k = 0; k < keys.size(); ++k) combined[k] = pqtest::xor_pages(combined[k], got[k]);
  }
  expect_answers(combined, whole, what + ": XOR of shards");
}

TYPED_TEST(PageQueryKernel, ShardsXorToWholeAnswer) {
  const TypeParam exec;
  const std::uint64_t n = 1000;
  const auto m = pagequery::synthesize_page_matrix(exec, PageRange{n, 0, n}, SyntheticFill::Hash, 21);
  exec.fence();
  const std::vector<std::uint8_t> bytes = pqtest::matrix_bytes(m);
  const std::vector<DpfKey> keys = random_keys(10, 6, 600);
  const std::vector<Page> whole = pqtest::kernel_answers(exec, m, keys, {6, 0});
  expect_answers(whole, pqtest::reference_answers(bytes, 0, keys), "whole matrix");

  check_shards(exec, n, {0, 300, 1000}, keys, bytes, whole, {6, 0}, false);
  check_shards(exec, n, {0, 512, 1000}, keys, bytes, whole, {6, 3}, false);
  check_shards(exec, n, {0, 1, 999, 1000}, keys, bytes, whole, {3, 0}, false);
  check_shards(exec, n, {0, 333, 667, 1000}, keys, bytes, whole, {1, 1}, true);
  // Shards inside one chunk and across chunk boundaries, none aligned.
  check_shards(exec, n, {0, 70, 75, 129, 640, 1000}, keys, bytes, whole, {6, 2}, true);
}

// --- Launch details -------------------------------------------------------------

// A PageQuery launched twice on the same answers gives the same answers: every
// launch zeroes them first.
template <class ExecSpace>
std::vector<Page> launch_twice(const ExecSpace& exec, const pagequery::PageMatrix<typename ExecSpace::memory_space>& m,
                               const std::vector<DpfKey>& keys) {
  using MemorySpace = typename ExecSpace::memory_space;
  Kokkos::View<DpfKey*, MemorySpace> dkeys("keys", keys.size());
  auto hkeys = Kokkos::create_mirror_view(dkeys);
  for (std::size_t k = 0; k < keys.size(); ++k) hkeys(k) = keys[k];
  Kokkos::deep_copy(exec, dkeys, hkeys);
  pagequery::AnswerView<MemorySpace> answers("answers", keys.size(), kVectorsPerPage);
  const pagequery::PageQuery<ExecSpace> query(exec, m, dkeys, answers, {3, 2});
  query.launch(exec);
  query.launch(exec);
  exec.fence();
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), answers);
  std::vector<Page> out(keys.size(), Page(kPageBytes));
  for (std::size_t k = 0; k < keys.size(); ++k)
    for (int v = 0; v < kVectorsPerPage; ++v) std::memcpy(out[k].data() + 16 * v, &host(k, v), 16);
  return out;
}

TYPED_TEST(PageQueryKernel, RelaunchZeroesAnswers) {
  const TypeParam exec;
  const std::uint64_t n = 100;
  const auto m = pagequery::synthesize_page_matrix(exec, PageRange{n, 0, n}, SyntheticFill::Hash, 5);
  exec.fence();
  const std::vector<DpfKey> keys = random_keys(7, 5, 700);
  expect_answers(launch_twice(exec, m, keys), pqtest::reference_answers(pqtest::matrix_bytes(m), 0, keys),
                 "launched twice");
}

TYPED_TEST(PageQueryKernel, EmptyBatch) {
  const TypeParam exec;
  const auto m = pagequery::synthesize_page_matrix(exec, PageRange{10, 0, 10}, SyntheticFill::Hash, 5);
  exec.fence();
  EXPECT_TRUE(pqtest::kernel_answers(exec, m, {}, {}).empty());
}

template <class ExecSpace>
void answer_with_extents(const ExecSpace& exec, const pagequery::PageMatrix<typename ExecSpace::memory_space>& m,
                         std::size_t keys, std::size_t answer_rows, std::size_t answer_vectors) {
  using MemorySpace = typename ExecSpace::memory_space;
  Kokkos::View<DpfKey*, MemorySpace> dkeys("keys", keys);
  pagequery::AnswerView<MemorySpace> answers("answers", answer_rows, answer_vectors);
  pagequery::answer_keys(exec, m, dkeys, answers);
  exec.fence();
}

TYPED_TEST(PageQueryKernel, RejectsMismatchedAnswers) {
  const TypeParam exec;
  const auto m = pagequery::synthesize_page_matrix(exec, PageRange{10, 0, 10}, SyntheticFill::Hash, 5);
  exec.fence();
  EXPECT_THROW(answer_with_extents(exec, m, 3, 2, kVectorsPerPage), std::invalid_argument);
  EXPECT_THROW(answer_with_extents(exec, m, 3, 4, kVectorsPerPage), std::invalid_argument);
  EXPECT_THROW(answer_with_extents(exec, m, 3, 3, kVectorsPerPage - 1), std::invalid_argument);
  EXPECT_THROW(answer_with_extents(exec, m, 3, 3, 2 * kVectorsPerPage), std::invalid_argument);
}

// --- Tensor-core kernel (bit-sliced matrices) ---------------------------------
// Where the backend has binary tensor cores (CUDA, sm_80+) the mma kernel must
// give the scalar reference's bytes, and the portable kernel's on the same keys;
// elsewhere a bit-sliced matrix is refused.

template <class ExecSpace>
void check_sliced(const ExecSpace& exec, const PageRange& r, const std::vector<std::size_t>& ks,
                  const std::vector<int>& teams) {
  using pagequery::PageLayout;
  const auto vectors = pagequery::synthesize_page_matrix(exec, r, SyntheticFill::Hash, 13);
  const auto sliced = pagequery::synthesize_page_matrix(exec, r, SyntheticFill::Hash, 13, PageLayout::BitSliced);
  exec.fence();
  const int d = pagequery::domain_bits_for(r.total_pages);
  const std::vector<DpfKey> keys = random_keys(d, static_cast<int>(ks.back()), 600 + r.count);
  const std::vector<Page> reference = pqtest::reference_answers(pqtest::matrix_bytes(vectors), r.first_page, keys);
  for (std::size_t K : ks) {
    const std::vector<DpfKey> batch = prefix(keys, K);
    const std::vector<Page> portable = pqtest::kernel_answers(exec, vectors, batch);
    for (int t : teams) {
      const std::string what = "N=" + std::to_string(r.total_pages) + " shard [" + std::to_string(r.first_page) +
                               ", +" + std::to_string(r.count) + ") K=" + std::to_string(K) +
                               " teams=" + std::to_string(t);
      const std::vector<Page> got = pqtest::kernel_answers(exec, sliced, batch, {0, t});
      expect_answers(got, prefix(reference, K), what + " vs reference");
      expect_answers(got, portable, what + " vs portable");
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TYPED_TEST(PageQueryKernel, TensorCoresMatchReferenceAndPortable) {
  const TypeParam exec;
  if (!pagequery::mma_available(exec)) {
    const auto m = pagequery::synthesize_page_matrix(exec, PageRange{10, 0, 10}, SyntheticFill::Hash, 5,
                                                     pagequery::PageLayout::BitSliced);
    EXPECT_THROW(pqtest::kernel_answers(exec, m, random_keys(4, 3, 1)), std::invalid_argument);
    return;
  }
  // d < 8 (one partial block), d = 8, several blocks with path changes, a shard
  // that starts mid-block; K across one and two key tiles and several groups.
  check_sliced(exec, PageRange{3, 0, 3}, {1, 3, 17}, {0});
  check_sliced(exec, PageRange{256, 0, 256}, {3, 16, 32}, {0, 1});
  check_sliced(exec, PageRange{4097, 0, 4097}, {1, 3, 16, 17, 33, 40, 96}, {0, 1, 3});
  check_sliced(exec, PageRange{4097, 1000, 2000}, {3, 24, 40}, {0, 2});
}

}  // namespace
