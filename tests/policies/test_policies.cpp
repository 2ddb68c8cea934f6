// Every policy against the single-query loop, on every host backend; the
// multi-stream instances; graph replay and rebuild.
#include "policies/registry.hpp"
#include "tests/policies/policy_test_support.hpp"

#include <gtest/gtest.h>

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

TYPED_TEST(Policies, MultiStreamSubmitsToDistinctInstances) {
  using Exec = TypeParam;
  const Exec exec;
  MultiStream<Exec> policy(4);
  const auto& streams = policy.instances(exec);
  std::size_t expected = 4;
#ifdef KOKKOS_ENABLE_OPENMP
  if constexpr (std::is_same_v<Exec, Kokkos::OpenMP>)  // a partition needs a thread
    expected = std::min<std::size_t>(expected, exec.impl_thread_pool_size());
#endif
  ASSERT_EQ(streams.size(), expected);
  for (std::size_t i = 0; i < streams.size(); ++i) {
    EXPECT_FALSE(streams[i] == exec);
    for (std::size_t j = i + 1; j < streams.size(); ++j) EXPECT_FALSE(streams[i] == streams[j]);
  }
  EXPECT_EQ(&policy.instances(exec), &streams) << "instances are made once per parent instance";
}

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

}  // namespace
}  // namespace pagequery
