#include "bench/verdict.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace pagequery::bench {

namespace {

struct Ranked {
  const CellRow* row;
  Stats ratio;
  bool from_samples;  // else ratio holds the medians' ratio alone: no interval
};

// batch ms / single ms of the same iteration, per cell; where a cell has no
// samples, the ratio of its medians without an interval.
std::vector<Ranked> paired_ratios(const RunRecord& run) {
  std::vector<std::map<std::uint32_t, double>> single(run.cells.size()), batch(run.cells.size());
  for (const Sample& s : run.samples)
    if (s.cell < run.cells.size() && s.path < 2) (s.path == 0 ? single : batch)[s.cell][s.iteration] = s.ms;
  std::vector<Ranked> out;
  for (std::size_t i = 0; i < run.cells.size(); ++i) {
    std::vector<double> ratios;
    for (const auto& [it, ms] : batch[i])
      if (const auto s = single[i].find(it); s != single[i].end() && s->second > 0) ratios.push_back(ms / s->second);
    const CellRow& r = run.cells[i];
    Stats medians;
    medians.median = r.single_ms.median > 0 ? r.batch_ms.median / r.single_ms.median : 0;
    out.push_back(ratios.empty() ? Ranked{&r, medians, false} : Ranked{&r, summarize(ratios), true});
  }
  return out;
}

Verdict decide(std::vector<Ranked> cells) {
  std::sort(cells.begin(), cells.end(),
            [](const Ranked& a, const Ranked& b) { return a.ratio.median < b.ratio.median; });
  const CellRow& best = *cells.front().row;
  Verdict v{best.concurrency, best.queries, best.dpf, &best};
  v.winner_ratio = cells.front().ratio;
  const double m = v.winner_ratio.median;
  if (cells.size() > 1) {
    v.runner_up = cells[1].row;
    v.runner_up_ratio = cells[1].ratio;
    v.lead = m > 0 ? v.runner_up_ratio.median / m - 1 : 0;
    v.significant = cells[0].from_samples && cells[1].from_samples &&
                    v.winner_ratio.median_ci_high < v.runner_up_ratio.median_ci_low && v.lead >= kMinLead;
  }
  for (const Ranked& c : cells)
    if (c.row->strategy == "multi_stream_4" && m > 0) v.vs_multi_stream_4 = c.ratio.median / m;
  v.vs_single = m > 0 ? 1 / m : 0;
  return v;
}

}  // namespace

std::string row_label(const CellRow& row) { return column_label(row.strategy, row.dpf); }

std::vector<Verdict> verdicts(const RunRecord& run) {
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::string>, std::vector<Ranked>> groups;
  for (const Ranked& cell : paired_ratios(run))
    if (cell.row->update_pages == 0)  // cells with updates rank apart: the "Live updates" table
      groups[{cell.row->concurrency, cell.row->queries, cell.row->dpf}].push_back(cell);
  std::vector<Verdict> out;
  for (auto& [key, cells] : groups) out.push_back(decide(std::move(cells)));
  return out;
}

}  // namespace pagequery::bench
