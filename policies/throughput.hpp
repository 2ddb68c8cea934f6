#pragma once
// Morphogen's throughput policy: micro-batches of 2 queries, always.
#include "pagequery/policies/policy.hpp"

namespace pagequery {

template <class ExecSpace>
class Throughput : public PlannedPolicy<ExecSpace> {
 public:
  explicit Throughput(int tile = kMaxTile) : PlannedPolicy<ExecSpace>({.mode = BatchMode::Throughput, .tile = tile}) {}
};

}  // namespace pagequery
