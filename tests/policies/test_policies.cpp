// Every policy against the single-query loop, on every host backend; the
// multi-stream instances (refused when shared); graph replay and rebuild.
#include "policies/instances.hpp"
#include "policies/registry.hpp"
#include "tests/test_backends.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace pagequery {
namespace {

template <class ExecSpace>
using Matrix = PageMatrix<typename ExecSpace::memory_space>;

template <class ExecSpace>
struct Batch {
  Kokkos::View<DpfKey*, typename ExecSpace::memory_space> keys;
  AnswerView<typename ExecSpace::memory_space> answers;
};

template <class ExecSpace>
Batch<ExecSpace> make_batch(const Matrix<ExecSpace>& m, int queries, std::uint64_t seed) {
  KeyRng rng(seed);
  Batch<ExecSpace> b{Kokkos::View<DpfKey*, typename ExecSpace::memory_space>("keys", 3 * queries),
                     AnswerView<typename ExecSpace::memory_space>("answers", 3 * queries, kVectorsPerPage)};
  auto host = Kokkos::create_mirror_view(b.keys);
  for (int k = 0; k < 3 * queries; ++k)
    host(k) = generate_dpf_keys(m.domain_bits(), (seed * 31 + k * 17) % m.pages(), rng).party0;
  Kokkos::deep_copy(b.keys, host);
  return b;
}

template <class ExecSpace>
std::vector<std::uint8_t> answer_bytes(const ExecSpace& exec, const AnswerView<typename ExecSpace::memory_space>& a) {
  exec.fence();
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a);
  std::vector<std::uint8_t> out(host.size() * sizeof(Bits128));
  std::memcpy(out.data(), host.data(), out.size());
  return out;
}

// The reference every policy must match: one launch per query.
template <class ExecSpace>
std::vector<std::uint8_t> single_query_loop(const ExecSpace& exec, const Matrix<ExecSpace>& m,
                                            const Batch<ExecSpace>& b) {
  const int q = static_cast<int>(b.keys.extent(0) / 3);
  for (int i = 0; i < q; ++i) {
    const auto rows = std::make_pair(3 * i, 3 * i + 3);
    answer_keys(exec, m, Kokkos::subview(b.keys, rows), Kokkos::subview(b.answers, rows, Kokkos::ALL));
  }
  return answer_bytes(exec, b.answers);
}

template <class ExecSpace>
std::vector<std::uint8_t> run_policy(const ExecSpace& exec, BatchPolicy<ExecSpace>& policy,
                                     const Matrix<ExecSpace>& m, const Batch<ExecSpace>& b) {
  Kokkos::deep_copy(exec, b.answers, Bits128{{0xdeadbeef, 1, 2, 3}});  // poison
  policy.run(exec, m, b.keys, b.answers);
  return answer_bytes(exec, b.answers);
}

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

}  // namespace
}  // namespace pagequery
