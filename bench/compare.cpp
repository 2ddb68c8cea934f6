#include "bench/compare.hpp"

#include "bench/verdict.hpp"

#include <map>
#include <tuple>

namespace pagequery::bench {

namespace {

using Key = std::tuple<std::string, std::string, std::uint32_t, std::uint32_t, std::uint64_t>;

Key key_of(const CellRow& r) { return {r.strategy, r.dpf, r.queries, r.concurrency, r.update_pages}; }

CellChange change(const CellRow& a, const CellRow& b) {
  CellChange c{&a, &b};
  const Stats &x = a.batch_ms, &y = b.batch_ms;
  if (x.median > 0) c.ratio = y.median / x.median;
  if (x.median_ci_high > 0) c.low = y.median_ci_low / x.median_ci_high;
  if (x.median_ci_low > 0) c.high = y.median_ci_high / x.median_ci_low;
  c.significant = differ(x, y);
  return c;
}

}  // namespace

std::string cell_text(const CellRow& row) {
  return row_label(row) + " Q=" + std::to_string(row.queries) + " C=" + std::to_string(row.concurrency) +
         (row.update_pages ? " U=" + std::to_string(row.update_pages) : "");
}

Comparison compare_runs(const RunRecord& a, const RunRecord& b) {
  std::map<Key, const CellRow*> in_b;
  for (const CellRow& r : b.cells) in_b[key_of(r)] = &r;
  Comparison out;
  for (const CellRow& r : a.cells) {
    const auto it = in_b.find(key_of(r));
    if (it == in_b.end()) {
      out.only_a.push_back(cell_text(r));
      continue;
    }
    out.changes.push_back(change(r, *it->second));
    in_b.erase(it);
  }
  for (const CellRow& r : b.cells)
    if (in_b.count(key_of(r))) out.only_b.push_back(cell_text(r));
  return out;
}

std::vector<const CellChange*> regressions(const Comparison& comparison, double percent) {
  std::vector<const CellChange*> out;
  for (const CellChange& c : comparison.changes)
    if (c.significant && c.ratio > 1 + percent / 100) out.push_back(&c);
  return out;
}

}  // namespace pagequery::bench
