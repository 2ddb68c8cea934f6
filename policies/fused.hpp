#pragma once
// Ours: every query of the batch in one launch, so the matrix is read once per
// batch. The kernel bounds per-thread state by its key group, not by Q.
#include "pagequery/policies/policy.hpp"

namespace pagequery {

template <class ExecSpace>
class Fused : public PlannedPolicy<ExecSpace> {
 public:
  Fused() : PlannedPolicy<ExecSpace>({.mode = BatchMode::Fused}) {}
};

}  // namespace pagequery
