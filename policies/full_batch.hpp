#pragma once
// Morphogen's latency policy: the whole batch, as launches of at most `tile`
// queries (16, 8, 4, 2, 1, largest first). baseline_full_batch and tiled_tile4.
#include "pagequery/policies/policy.hpp"

namespace pagequery {

template <class ExecSpace>
class FullBatch : public PlannedPolicy<ExecSpace> {
 public:
  explicit FullBatch(int tile = kMaxTile) : PlannedPolicy<ExecSpace>({.mode = BatchMode::Latency, .tile = tile}) {}
};

}  // namespace pagequery
