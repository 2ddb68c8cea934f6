#pragma once
// What a run decides: per (concurrency, Q), the fastest strategy by median batch
// time, its lead over the runner-up, and whether that lead is beyond noise.
// Plain C++ over the cells' statistics (bench/stats.hpp).
#include "bench/stats.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pagequery::bench {

// The smallest lead that can win: cells run one after another, and on a shared
// machine their conditions drift by a few percent between them, which no
// interval of one cell's samples sees.
inline constexpr double kMinLead = 0.05;

struct Verdict {
  std::uint32_t concurrency = 0, queries = 0;
  const CellRow* winner = nullptr;     // the lowest median batch time
  const CellRow* runner_up = nullptr;  // the next; null when one strategy ran
  double lead = 0;                     // runner-up median / winner median - 1
  // The runner-up's 95 % interval lies entirely above the winner's, and lead >= kMinLead.
  bool significant = false;
  std::optional<double> vs_multi_stream_4;  // multi_stream_4's median / the winner's (when it ran)
  double vs_single = 0;                     // the single loop's median / the winner's batch median
};

// One verdict per (concurrency, Q) of `rows`, in that order (C, then Q ascending).
std::vector<Verdict> verdicts(const std::vector<CellRow>& rows);

// "fused" or "fused (packed)": a row's strategy as tables name it.
std::string row_label(const CellRow& row);

}  // namespace pagequery::bench
