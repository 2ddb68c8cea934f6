#include "bench/verdict.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace pagequery::bench {

namespace {

Verdict decide(std::uint32_t c, std::uint32_t q, std::vector<const CellRow*> cells) {
  std::sort(cells.begin(), cells.end(),
            [](const CellRow* a, const CellRow* b) { return a->batch_ms.median < b->batch_ms.median; });
  Verdict v{c, q, cells.front()};
  const double best = v.winner->batch_ms.median;
  if (cells.size() > 1) {
    v.runner_up = cells[1];
    v.lead = best > 0 ? v.runner_up->batch_ms.median / best - 1 : 0;
    v.significant = v.winner->batch_ms.median_ci_high < v.runner_up->batch_ms.median_ci_low && v.lead >= kMinLead;
  }
  for (const CellRow* r : cells)
    if (r->strategy == "multi_stream_4" && r->dpf == "morphogen" && best > 0)
      v.vs_multi_stream_4 = r->batch_ms.median / best;
  v.vs_single = best > 0 ? v.winner->single_ms.median / best : 0;
  return v;
}

}  // namespace

std::string row_label(const CellRow& row) { return column_label(row.strategy, row.dpf); }

std::vector<Verdict> verdicts(const std::vector<CellRow>& rows) {
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::vector<const CellRow*>> groups;
  for (const CellRow& r : rows) groups[{r.concurrency, r.queries}].push_back(&r);
  std::vector<Verdict> out;
  for (const auto& [key, cells] : groups) out.push_back(decide(key.first, key.second, cells));
  return out;
}

}  // namespace pagequery::bench
