// Every policy against the single-query loop, on every host backend; the
// multi-stream instances (refused when shared); graph replay and rebuild.
#include "pagequery/policies/instances.hpp"
#include "pagequery/policies/registry.hpp"
#include "tests/policies/policy_test_support.hpp"

#include <gtest/gtest.h>

#include <span>

namespace pagequery {
namespace {

using namespace pagequery::policytest;

template <class ExecSpace>
class Policies : public ::testing::Test {};
TYPED_TEST_SUITE(Policies, pqtest::ExecSpaces, pqtest::ExecSpaceNames);

TYPED_TEST(Policies, EveryPolicyMatchesTheSingleQueryLoop) {
  using Exec = TypeParam;
  const Exec exec;
  // 77 pages: d = 7, a partial last chunk; contents differ in every byte.
  const auto m = synthesize_page_matrix(exec, PageRange{77, 0, 77}, SyntheticFill::Hash, 5);
  std::vector<std::unique_ptr<BatchPolicy<Exec>>> policies;
  for (const std::string& s : all_strategies()) policies.push_back(make_policy<Exec>(strategy_config(s)));
  for (int streams : {2, 8}) policies.push_back(std::make_unique<MultiStream<Exec>>(streams));
  PolicyConfig graph_micro = strategy_config("throughput");
  graph_micro.graph = true;
  policies.push_back(make_policy<Exec>(graph_micro));
  for (int q = 1; q <= 33; ++q) {
    const auto batch = make_batch<Exec>(m, q, q);
    const auto expected = single_query_loop(exec, m, batch);
    for (auto& p : policies) EXPECT_EQ(run_policy(exec, *p, m, batch), expected) << p->name() << " Q=" << q;
  }
}

// Packed keys through every policy: each answer is the scalar reference's (the
// XOR of the pages the key selects, by root-to-leaf walks), up to Q = 40 and at
// the packed batch limit of 256 queries.
TYPED_TEST(Policies, EveryPolicyMatchesTheScalarReferenceWithPackedKeys) {
  using Exec = TypeParam;
  const Exec exec;
  // 300 pages: 3 leaves of 128 pages (d = 2), the last one partial.
  const std::uint64_t n = 300;
  const auto m = synthesize_page_matrix(exec, PageRange{n, 0, n}, SyntheticFill::Hash, 6);
  auto host_pages = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m.view());
  const std::span<const std::uint8_t> pages(reinterpret_cast<const std::uint8_t*>(host_pages.data()), n * kPageBytes);
  std::vector<std::unique_ptr<BatchPolicy<Exec>>> policies;
  for (const std::string& s : all_strategies()) policies.push_back(make_policy<Exec>(strategy_config(s)));
  policies.push_back(std::make_unique<MultiStream<Exec>>(8));
  KeyRng rng(77);
  for (int q : {1, 2, 3, 5, 17, 40, 256}) {
    Kokkos::View<PackedDpfKey*, typename Exec::memory_space> keys("packed keys", 3 * q);
    auto host = Kokkos::create_mirror_view(keys);
    std::vector<std::uint8_t> expected;
    for (int k = 0; k < 3 * q; ++k) {
      const auto pair = generate_packed_keys(packed_domain_bits(n), (k * 97 + q) % 512, rng);
      host(k) = k % 2 ? pair.party1 : pair.party0;
      const std::vector<std::uint8_t> want = packed_reference_answer(pages, 0, host(k));
      expected.insert(expected.end(), want.begin(), want.end());
    }
    Kokkos::deep_copy(keys, host);
    AnswerView<typename Exec::memory_space> answers("answers", 3 * q, kVectorsPerPage);
    for (auto& p : policies) {
      if (q > 40 && p->name() != "fused" && p->name() != "baseline_full_batch") continue;  // time
      if (p->name() == "kokkos_kernels_gemm") {                                            // Morphogen keys only
        EXPECT_THROW(p->run(exec, m, keys, answers), ConfigError);
        continue;
      }
      Kokkos::deep_copy(exec, answers, Bits128{{0xdeadbeef, 1, 2, 3}});  // poison
      p->run(exec, m, keys, answers);
      EXPECT_EQ(answer_bytes(exec, answers), expected) << p->name() << " Q=" << q;
    }
  }
}

TYPED_TEST(Policies, MultiStreamSubmitsToDistinctInstances) {
  using Exec = TypeParam;
  const Exec exec;
  MultiStream<Exec> policy(4);
  std::size_t expected = 4;
#ifdef KOKKOS_ENABLE_OPENMP
  const int levels = omp_get_max_active_levels();
  if constexpr (std::is_same_v<Exec, Kokkos::OpenMP>)  // a partition needs a thread
    expected = std::min<std::size_t>(expected, exec.impl_thread_pool_size());
#endif
  const auto& streams = policy.instances(exec);
  ASSERT_EQ(streams.size(), expected);
  for (std::size_t i = 0; i < streams.size(); ++i) {
    EXPECT_FALSE(streams[i] == exec);
    for (std::size_t j = i + 1; j < streams.size(); ++j) EXPECT_FALSE(streams[i] == streams[j]);
  }
  EXPECT_EQ(&policy.instances(exec), &streams) << "instances are made once per parent instance";
#ifdef KOKKOS_ENABLE_OPENMP
  EXPECT_EQ(omp_get_max_active_levels(), levels) << "partitioning leaves the OpenMP nesting setting as it was";
#endif
}

#if defined(KOKKOS_ENABLE_OPENMP) && KOKKOS_VERSION_GREATER_EQUAL(5, 0, 0)
// Kokkos 5 partitions OpenMP only outside a parallel region; inside one it hands
// back copies of the default instance, which must be refused, not used.
TEST(DisjointInstances, SharedOpenMPInstancesAreRefused) {
  const Kokkos::OpenMP exec;
  bool refused = false;
#pragma omp parallel num_threads(1)
  try {
    disjoint_instances(exec, 2);
  } catch (const ConfigError&) {
    refused = true;
  }
  EXPECT_TRUE(refused);
}
#endif

TYPED_TEST(Policies, GraphReplaySeesNewContentsAndRebuildsOnNewShapes) {
  using Exec = TypeParam;
  const Exec exec;
  const auto m = synthesize_page_matrix(exec, PageRange{40, 0, 40}, SyntheticFill::Hash, 1);
  GraphReplay<Exec> graph(strategy_config("cuda_graph_replay"));
  const auto batch = make_batch<Exec>(m, 5, 3);

  const auto first = run_policy(exec, graph, m, batch);
  EXPECT_EQ(first, single_query_loop(exec, m, batch));
  EXPECT_EQ(run_policy(exec, graph, m, batch), first);
  EXPECT_EQ(graph.builds(), 1);

  fill_synthetic(exec, m, SyntheticFill::Hash, 2);  // same buffer, new contents
  const auto replayed = run_policy(exec, graph, m, batch);
  EXPECT_EQ(graph.builds(), 1) << "new contents replay the same graph";
  EXPECT_NE(replayed, first);
  EXPECT_EQ(replayed, single_query_loop(exec, m, batch));

  const auto bigger = make_batch<Exec>(m, 6, 3);
  EXPECT_EQ(run_policy(exec, graph, m, bigger), single_query_loop(exec, m, bigger));
  EXPECT_EQ(graph.builds(), 2) << "a new batch shape rebuilds the graph";
}

// On a bit-sliced matrix (the tensor-core kernel) every policy an mma engine
// runs gives the portable kernel's bytes, graph replay included: its launches
// are captured from the stream, replayed with new contents, rebuilt on a new shape.
TYPED_TEST(Policies, TensorCoreLaunchesRunUnderEveryPolicyAndGraphReplay) {
  using Exec = TypeParam;
  const Exec exec;
  if (!mma_available(exec)) GTEST_SKIP() << "no tensor-core kernel on " << Exec::name();
  const PageRange pages{1000, 0, 1000};
  const auto vectors = synthesize_page_matrix(exec, pages, SyntheticFill::Hash, 3);
  const auto sliced = synthesize_page_matrix(exec, pages, SyntheticFill::Hash, 3, PageLayout::BitSliced);
  std::vector<std::unique_ptr<BatchPolicy<Exec>>> policies;
  for (const std::string& s : all_strategies())
    if (!lop3_only(strategy_config(s))) policies.push_back(make_policy<Exec>(strategy_config(s)));
  for (int q : {1, 6, 11}) {
    const auto batch = make_batch<Exec>(vectors, q, q);
    const auto expected = single_query_loop(exec, vectors, batch);
    for (auto& p : policies) EXPECT_EQ(run_policy(exec, *p, sliced, batch), expected) << p->name() << " Q=" << q;
  }

  GraphReplay<Exec> graph(strategy_config("cuda_graph_replay"));
  const auto batch = make_batch<Exec>(vectors, 5, 3);
  const auto first = run_policy(exec, graph, sliced, batch);
  EXPECT_EQ(first, single_query_loop(exec, vectors, batch));
  fill_synthetic(exec, sliced, SyntheticFill::Hash, 2);
  fill_synthetic(exec, vectors, SyntheticFill::Hash, 2);
  EXPECT_EQ(run_policy(exec, graph, sliced, batch), single_query_loop(exec, vectors, batch));
  EXPECT_EQ(graph.builds(), 1) << "new contents replay the captured graph";
  const auto bigger = make_batch<Exec>(vectors, 7, 3);
  EXPECT_EQ(run_policy(exec, graph, sliced, bigger), single_query_loop(exec, vectors, bigger));
  EXPECT_EQ(graph.builds(), 2) << "a new batch shape captures again";
}

}  // namespace
}  // namespace pagequery
