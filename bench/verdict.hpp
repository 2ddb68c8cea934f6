#pragma once
// What a run decides: per (concurrency, Q, key format), the fastest strategy, its
// lead over the runner-up, and whether that lead is beyond noise. Plain C++ over
// the run's cells and samples (bench/results/record.hpp).
//
// Strategies are ranked by their batch time relative to the single loop of the
// same iteration (batch ms / single ms, paired). The single loop is the same work
// in every cell of a group (the same queries, the latency policy), measured right
// before each batch, so the ratio cancels what drifts between cells measured one
// after another: on a shared machine a whole cell can run 2x slower than the next.
#include "bench/results/record.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pagequery::bench {

// A lead below this is a tie even with disjoint intervals: too small to choose by.
inline constexpr double kMinLead = 0.02;

struct Verdict {
  std::uint32_t concurrency = 0, queries = 0;
  std::string dpf;
  const CellRow* winner = nullptr;      // the lowest median batch / single ratio
  const CellRow* runner_up = nullptr;   // the next; null when one strategy ran
  Stats winner_ratio, runner_up_ratio;  // the paired ratios' statistics
  double lead = 0;                      // runner-up median ratio / winner's - 1
  // The runner-up's 95 % interval of the ratio lies entirely above the winner's,
  // and lead >= kMinLead.
  bool significant = false;
  std::optional<double> vs_multi_stream_4;  // multi_stream_4's median ratio / the winner's (when it ran)
  double vs_single = 0;                     // 1 / the winner's median ratio: its speedup over the single loop
};

// One verdict per (concurrency, Q, key format) of the run's baseline cells (no
// live updates), in that order. Cells
// without samples (a run read without them) rank by their medians, never significant.
std::vector<Verdict> verdicts(const RunRecord& run);

// "fused" or "fused (packed)": a row's strategy as tables name it.
std::string row_label(const CellRow& row);

}  // namespace pagequery::bench
