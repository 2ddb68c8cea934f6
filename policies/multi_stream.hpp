#pragma once
// Morphogen's multi-stream dispatch: every query alone, round robin over N
// execution-space instances (CUDA streams on the GPU) from partition_space.
#include "pagequery/policies/instances.hpp"
#include "pagequery/policies/policy.hpp"

#include <vector>

namespace pagequery {

template <class ExecSpace>
class MultiStream : public BatchPolicy<ExecSpace> {
 public:
  using typename BatchPolicy<ExecSpace>::memory_space;

  explicit MultiStream(int streams) : config_{.mode = BatchMode::Latency, .streams = streams} {}
  std::string name() const override { return strategy_name(config_); }
  std::vector<Launch> plan(int queries) const override { return plan_batch(config_, queries); }

  void run(const ExecSpace& exec, const PageMatrix<memory_space>& matrix, KeyBatch<memory_space> keys,
           AnswerView<memory_space> answers) override {
    const std::vector<ExecSpace>& streams = instances(exec);
    // The instances must not start before work already queued on exec is done.
    exec.fence("pagequery::MultiStream: inputs ready");
    for (const Launch& l : plan(this->query_count(keys)))
      this->launch_of(streams[l.instance % streams.size()], matrix, keys, answers, l)
          .launch(streams[l.instance % streams.size()]);
    for (const ExecSpace& s : streams) s.fence("pagequery::MultiStream: answers ready");
  }

  // The instances the last run used (distinct from each other and from exec, or
  // a ConfigError: see disjoint_instances). OpenMP partitions need a thread each,
  // so there are at most as many as threads; queries then go round robin over those.
  const std::vector<ExecSpace>& instances(const ExecSpace& exec) {
    if (streams_.empty() || !(parent_ == exec)) {
      int n = config_.streams;
#ifdef KOKKOS_ENABLE_OPENMP
      if constexpr (std::is_same_v<ExecSpace, Kokkos::OpenMP>) n = std::min(n, exec.impl_thread_pool_size());
#endif
      parent_ = exec;
      streams_ = disjoint_instances(exec, n);
    }
    return streams_;
  }

 private:
  PolicyConfig config_;
  ExecSpace parent_{};
  std::vector<ExecSpace> streams_;
};

}  // namespace pagequery
