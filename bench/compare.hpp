#pragma once
// Run against run, after nvbench_compare: for every cell both runs measured (same
// strategy, key format, Q and concurrency), the ratio of the median batch times
// with an interval, and whether the change is beyond noise. Cells with live
// updates (U > 0) are cells of their own. Plain C++.
#include "bench/results/record.hpp"

#include <string>
#include <vector>

namespace pagequery::bench {

struct CellChange {
  const CellRow* a = nullptr;  // the baseline run's cell
  const CellRow* b = nullptr;  // the same cell of the other run
  double ratio = 0;            // b median / a median (> 1: b is slower)
  // b's interval over a's: [b low / a high, b high / a low]. It holds the ratio of
  // the true medians whenever both 95 % intervals hold theirs (>= 90 %).
  double low = 0, high = 0;
  bool significant = false;  // the two 95 % intervals do not overlap (so 1 is outside [low, high])
};

struct Comparison {
  std::vector<CellChange> changes;          // in the baseline's cell order
  std::vector<std::string> only_a, only_b;  // cells one run lacks ("fused Q=4 C=1")
};

Comparison compare_runs(const RunRecord& a, const RunRecord& b);

// The significant changes slower by more than `percent` %.
std::vector<const CellChange*> regressions(const Comparison& comparison, double percent);

// "fused Q=4 C=1" ("fused (packed) Q=4 C=1", "fused Q=4 C=1 U=1000")
std::string cell_text(const CellRow& row);

}  // namespace pagequery::bench
