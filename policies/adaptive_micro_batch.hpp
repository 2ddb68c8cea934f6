#pragma once
// Morphogen's default: a full batch up to `threshold` queries, micro-batches of 2 above.
#include "pagequery/policies/policy.hpp"

namespace pagequery {

template <class ExecSpace>
class AdaptiveMicroBatch : public PlannedPolicy<ExecSpace> {
 public:
  explicit AdaptiveMicroBatch(int threshold = 4, int tile = kMaxTile)
      : PlannedPolicy<ExecSpace>({.mode = BatchMode::Adaptive, .tile = tile, .threshold = threshold}) {}
};

}  // namespace pagequery
