#pragma once
// The seed's cuda_graph_replay: the plan's launch sequence captured once as a
// Kokkos Graph and replayed while the batch shape and buffers are unchanged;
// rebuilt when they change. Contents may change between replays.
#include "policies/policy.hpp"

#include <Kokkos_Graph.hpp>

#include <optional>
#include <tuple>

namespace pagequery {

// What create_graph builds on: an execution space instance up to Kokkos 4.x, a
// device handle in Kokkos 5 (5.2.2 has it). The change (kokkos/kokkos#8191) is in
// no CHANGELOG entry, so no release number is known to test: the header that
// brought get_device_handle decides.
template <class ExecSpace>
auto graph_device(const ExecSpace& exec) {
#if __has_include(<impl/Kokkos_DeviceHandle.hpp>)
  return Kokkos::Experimental::get_device_handle(exec);
#else
  return exec;
#endif
}

template <class ExecSpace>
class GraphReplay : public BatchPolicy<ExecSpace> {
 public:
  using typename BatchPolicy<ExecSpace>::memory_space;

  explicit GraphReplay(PolicyConfig config) : config_(config) { config_.graph = true; }
  std::string name() const override { return strategy_name(config_); }
  std::vector<Launch> plan(int queries) const override { return plan_batch(config_, queries); }

  void run(const ExecSpace& exec, const PageMatrix<memory_space>& matrix,
           KeyBatch<memory_space> keys, AnswerView<memory_space> answers) override {
    if (matrix.layout() == PageLayout::BitSliced)
      throw ConfigError(*lop3_only(config_));
    const Shape shape{keys.format(), keys.size(), keys.data(), answers.data(), matrix.view().data(),
                      matrix.pages()};
    if (!graph_ || shape != shape_) {
      const std::vector<Launch> launches = plan(this->query_count(keys));
      graph_ = Kokkos::Experimental::create_graph(graph_device(exec), [&](const auto& root) {
        Kokkos::Experimental::GraphNodeRef<ExecSpace> node = root;
        for (const Launch& l : launches) node = this->launch_of(exec, matrix, keys, answers, l).then(node);
      });
      graph_->instantiate();
      shape_ = shape;
      ++builds_;
    }
    graph_->submit(exec);
  }

  // How often the graph was (re)built: tests check replays don't rebuild it.
  int builds() const { return builds_; }

 private:
  using Shape = std::tuple<DpfFormat, std::size_t, const void*, const void*, const void*, std::uint64_t>;
  PolicyConfig config_;
  std::optional<Kokkos::Experimental::Graph<ExecSpace>> graph_;
  Shape shape_{};
  int builds_ = 0;
};

}  // namespace pagequery
