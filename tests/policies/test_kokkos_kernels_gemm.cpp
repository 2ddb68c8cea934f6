// The kokkos_kernels_gemm policy (KokkosBlas::gemm over the (XOR, AND) ring):
// the ring itself, gemm against a naive product, parity with the single-query
// loop like every other policy, and its use as an independent oracle for fused.
#include "pagequery/policies/fused.hpp"
#include "pagequery/policies/kokkos_kernels_gemm.hpp"
#include "tests/policies/policy_test_support.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <random>

namespace pagequery {
namespace {

using namespace pagequery::policytest;

// The plainest statement of the product: answer_k = XOR_p (page_p AND dpf_evaluate(key_k, p)).
template <class ExecSpace>
std::vector<std::uint8_t> naive_answers(const Matrix<ExecSpace>& m, const Batch<ExecSpace>& b) {
  auto pages = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m.view());
  auto keys = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b.keys);
  std::vector<Bits128> out(keys.extent(0) * kVectorsPerPage, Bits128{{0, 0, 0, 0}});
  for (std::size_t k = 0; k < keys.extent(0); ++k)
    for (std::uint64_t p = 0; p < m.pages(); ++p) {
      const Bits128 mask = dpf_evaluate(keys(k), m.first_page() + p);
      for (int v = 0; v < kVectorsPerPage; ++v)
        out[k * kVectorsPerPage + v] = out[k * kVectorsPerPage + v] ^ (pages(p, v) & mask);
    }
  std::vector<std::uint8_t> bytes(out.size() * sizeof(Bits128));
  std::memcpy(bytes.data(), out.data(), bytes.size());
  return bytes;
}

template <class ExecSpace>
class KokkosKernelsGemmTest : public ::testing::Test {};
// Every enabled backend; on a CUDA build, fused on the GPU is checked against gemm on the GPU.
TYPED_TEST_SUITE(KokkosKernelsGemmTest, pqtest::ExecSpaces, pqtest::ExecSpaceNames);

TEST(XorAnd128, IsTheBooleanRing) {
  const XorAnd128 a(Bits128{{0x12345678, 0x9abcdef0, 0x0f0f0f0f, 0xffff0000}});
  const XorAnd128 b(Bits128{{0xffffffff, 0, 0x33333333, 0x00ff00ff}});
  EXPECT_EQ(a + XorAnd128::zero(), a);
  EXPECT_EQ(a * XorAnd128::one(), a);
  EXPECT_EQ(a * XorAnd128::zero(), XorAnd128::zero());
  EXPECT_EQ(a + a, XorAnd128::zero()) << "characteristic 2";
  EXPECT_EQ(-a, a);
  EXPECT_EQ(a - b, a + b);
  EXPECT_EQ(a * b, XorAnd128(a.bits & b.bits));
  EXPECT_EQ(a + b, XorAnd128(a.bits ^ b.bits));
  EXPECT_EQ(XorAnd128(0), XorAnd128::zero());
  EXPECT_EQ(XorAnd128(3), XorAnd128::one()) << "n maps to n * one";
  EXPECT_EQ(XorAnd128(2), XorAnd128::zero());
  EXPECT_EQ(Kokkos::ArithTraits<XorAnd128>::one(), XorAnd128::one());
  EXPECT_TRUE(Kokkos::ArithTraits<Bits128>::zero() == (Bits128{{0, 0, 0, 0}}));
}

// gemm against the naive triple loop, for shapes that leave every block of the
// generic GEMM (24 x 16 x 64) partial, with beta = zero and beta = one.
TYPED_TEST(KokkosKernelsGemmTest, GemmIsTheRingProduct) {
  using Exec = TypeParam;
  using Mem = typename Exec::memory_space;
  const Exec exec;
  std::mt19937 rng(7);  // 32-bit words
  const auto word = [&] {
    return Bits128{{std::uint32_t(rng()), std::uint32_t(rng()), std::uint32_t(rng()), std::uint32_t(rng())}};
  };
  for (auto [M, L, N] :
       {std::array{1, 1, 64}, std::array{3, 17, 256}, std::array{25, 33, 128}, std::array{48, 5, 256}}) {
    Kokkos::View<XorAnd128**, Kokkos::LayoutRight, Mem> A("A", M, L), C("C", M, N);
    Kokkos::View<Bits128**, Kokkos::LayoutRight, Mem> B("B", L, N);
    auto a = Kokkos::create_mirror_view(A);
    auto b = Kokkos::create_mirror_view(B);
    auto c = Kokkos::create_mirror_view(C);
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < L; ++j) a(i, j) = word();
    for (int i = 0; i < L; ++i)
      for (int j = 0; j < N; ++j) b(i, j) = word();
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) c(i, j) = word();
    Kokkos::deep_copy(A, a);
    Kokkos::deep_copy(B, b);
    Kokkos::deep_copy(C, c);
    for (const XorAnd128 beta : {XorAnd128::zero(), XorAnd128::one()}) {
      std::vector<XorAnd128> expected(static_cast<std::size_t>(M) * N);
      for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) {
          XorAnd128 sum = beta * c(i, j);
          for (int l = 0; l < L; ++l) sum += a(i, l) * b(l, j);
          expected[static_cast<std::size_t>(i) * N + j] = sum;
        }
      Kokkos::deep_copy(C, c);
      KokkosBlas::gemm(exec, "N", "N", XorAnd128::one(), A, B, beta, C);
      auto got = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), C);
      for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j)
          ASSERT_EQ(got(i, j), expected[static_cast<std::size_t>(i) * N + j])
              << M << "x" << L << "x" << N << " beta=" << (beta == XorAnd128::one()) << " at " << i << "," << j;
    }
  }
}

// The parity check every policy gets in test_policies, with tiles of the whole
// domain (d = 7), of 32 pages (a partial last tile) and of 4 pages (subtrees
// smaller than the default).
TYPED_TEST(KokkosKernelsGemmTest, MatchesTheSingleQueryLoop) {
  using Exec = TypeParam;
  const Exec exec;
  const auto m = synthesize_page_matrix(exec, PageRange{77, 0, 77}, SyntheticFill::Hash, 5);
  KokkosKernelsGemm<Exec> whole, tiles32(5), tiles4(2);
  for (int q = 1; q <= 33; ++q) {
    const auto batch = make_batch<Exec>(m, q, q);
    const auto expected = single_query_loop(exec, m, batch);
    for (KokkosKernelsGemm<Exec>* p : {&whole, &tiles32, &tiles4}) {
      EXPECT_EQ(run_policy(exec, *p, m, batch), expected) << p->name() << " Q=" << q;
      EXPECT_EQ(run_policy(exec, *p, m, batch), expected) << p->name() << " Q=" << q << ", run again";
    }
  }
  EXPECT_EQ(whole.plan(5), (std::vector<Launch>{{0, 5, 0}}));
  EXPECT_TRUE(whole.plan(0).empty());
}

// Fused against gemm as an independent oracle (they share only the DPF
// primitives), and both against the naive product: shards that start and end
// inside subtrees and tiles, several domain sizes, both fills, key counts that
// are not whole key groups or GEMM blocks.
TYPED_TEST(KokkosKernelsGemmTest, IsAnOracleForFused) {
  using Exec = TypeParam;
  const Exec exec;
  struct Case {
    PageRange range;
    SyntheticFill fill;
    int tile_log2;
  };
  const Case cases[] = {
      {{1, 0, 1}, SyntheticFill::Hash, 10},
      {{2, 1, 1}, SyntheticFill::Hash, 10},
      {{1000, 0, 1000}, SyntheticFill::Hash, 8},
      {{1000, 301, 517}, SyntheticFill::Hash, 7},
      {{1000, 301, 517}, SyntheticFill::Morphogen, 10},
      {{4096, 1000, 3000}, SyntheticFill::Hash, 10},
  };
  Fused<Exec> fused;
  for (const Case& c : cases) {
    const auto m = synthesize_page_matrix(exec, c.range, c.fill, 11);
    KokkosKernelsGemm<Exec> gemm(c.tile_log2);
    for (int q : {1, 4, 11, 32}) {
      const auto batch = make_keys<Exec>(m.domain_bits(), c.range.total_pages, 3 * q, 100 + q);
      const auto by_gemm = run_policy(exec, gemm, m, batch);
      EXPECT_EQ(run_policy(exec, fused, m, batch), by_gemm)
          << "fused vs gemm, pages " << c.range.first_page << "+" << c.range.count << " of " << c.range.total_pages
          << " Q=" << q;
      if (q <= 4 && m.pages() <= 1000) EXPECT_EQ(by_gemm, naive_answers(m, batch)) << "gemm vs naive";
    }
  }
}

// A key for every page of a small matrix: each answer is its target page.
TYPED_TEST(KokkosKernelsGemmTest, TwoPartiesRecoverEveryPage) {
  using Exec = TypeParam;
  const Exec exec;
  const auto m = synthesize_page_matrix(exec, PageRange{50, 0, 50}, SyntheticFill::Hash, 3);
  KeyRng rng(9);
  Kokkos::View<DpfKey*, typename Exec::memory_space> k0("k0", 50), k1("k1", 50);
  auto h0 = Kokkos::create_mirror_view(k0);
  auto h1 = Kokkos::create_mirror_view(k1);
  for (int p = 0; p < 50; ++p) {
    const DpfKeyPair pair = generate_dpf_keys(m.domain_bits(), p, rng);
    h0(p) = pair.party0;
    h1(p) = pair.party1;
  }
  Kokkos::deep_copy(k0, h0);
  Kokkos::deep_copy(k1, h1);
  AnswerView<typename Exec::memory_space> a0("a0", 50, kVectorsPerPage), a1("a1", 50, kVectorsPerPage);
  KokkosKernelsGemm<Exec> gemm(4);
  gemm.answer(exec, m, k0, a0);
  gemm.answer(exec, m, k1, a1);
  exec.fence();
  auto x0 = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a0);
  auto x1 = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a1);
  auto pages = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m.view());
  for (int p = 0; p < 50; ++p)
    for (int v = 0; v < kVectorsPerPage; ++v)
      ASSERT_TRUE((x0(p, v) ^ x1(p, v)) == pages(p, v)) << "page " << p << " vector " << v;
}

}  // namespace
}  // namespace pagequery
