#pragma once
// The batching-policy interface: plan a batch of Q queries into launches of the
// one page-query kernel, then run the plan on execution-space instances.
#include "pagequery/core/page_query.hpp"
#include "pagequery/policies/policy_config.hpp"

#include <Kokkos_Core.hpp>

#include <string>
#include <utility>
#include <vector>

namespace pagequery {

template <class ExecSpace>
class BatchPolicy {
 public:
  using memory_space = typename ExecSpace::memory_space;

  virtual ~BatchPolicy() = default;
  virtual std::string name() const = 0;
  virtual std::vector<Launch> plan(int queries) const = 0;
  // Answers keys (3 per query, in order; either format) into answers(3Q x 256). Work is queued
  // on `exec`; a policy that uses other instances waits for them before returning,
  // so fencing `exec` is enough before reading the answers.
  virtual void run(const ExecSpace& exec, const PageMatrix<memory_space>& matrix, KeyBatch<memory_space> keys,
                   AnswerView<memory_space> answers) = 0;

 protected:
  // The keys and answers of one planned launch.
  static PageQuery<ExecSpace> launch_of(const ExecSpace& exec, const PageMatrix<memory_space>& matrix,
                                        const KeyBatch<memory_space>& keys, const AnswerView<memory_space>& answers,
                                        const Launch& launch) {
    const auto rows = std::make_pair(std::size_t(kKeysPerQuery) * launch.first_query,
                                     std::size_t(kKeysPerQuery) * (launch.first_query + launch.queries));
    return PageQuery<ExecSpace>(exec, matrix, keys.rows(rows.first, rows.second),
                                Kokkos::subview(answers, rows, Kokkos::ALL));
  }

  static int query_count(const KeyBatch<memory_space>& keys) {
    if (keys.size() % kKeysPerQuery != 0)
      throw ConfigError("a batch holds 3 keys per query, got " + std::to_string(keys.size()) + " keys");
    return static_cast<int>(keys.size() / kKeysPerQuery);
  }
};

// A policy whose plan comes from a configuration and runs in order on one instance.
template <class ExecSpace>
class PlannedPolicy : public BatchPolicy<ExecSpace> {
 public:
  using typename BatchPolicy<ExecSpace>::memory_space;

  explicit PlannedPolicy(PolicyConfig config) : config_(config) {}
  std::string name() const override { return strategy_name(config_); }
  std::vector<Launch> plan(int queries) const override { return plan_batch(config_, queries); }
  void run(const ExecSpace& exec, const PageMatrix<memory_space>& matrix, KeyBatch<memory_space> keys,
           AnswerView<memory_space> answers) override {
    for (const Launch& l : plan(this->query_count(keys))) this->launch_of(exec, matrix, keys, answers, l).launch(exec);
  }

 protected:
  const PolicyConfig& config() const { return config_; }

 private:
  PolicyConfig config_;
};

}  // namespace pagequery
