// The statistics behind the verdict and compare: the median's interval from order
// statistics, the verdict's test, and run-to-run changes.
#include "bench/compare.hpp"
#include "bench/markdown_printer.hpp"
#include "bench/stats.hpp"
#include "bench/verdict.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace pagequery::bench {
namespace {

// n samples around `center`: center * (1 + spread * (i / (n - 1) - 1/2)).
std::vector<double> samples(int n, double center, double spread) {
  std::vector<double> out;
  for (int i = 0; i < n; ++i) out.push_back(center * (1 + spread * (double(i) / (n - 1) - 0.5)));
  return out;
}

// A run of cells whose single loop takes 20 ms in every iteration, with their samples.
RunRecord run_of(const std::vector<std::pair<std::string, std::vector<double>>>& cells) {
  RunRecord run;
  for (const auto& [strategy, batch] : cells) {
    const auto index = static_cast<std::uint32_t>(run.cells.size());
    CellRow r;
    r.strategy = strategy;
    r.queries = 1;
    r.concurrency = 1;
    r.batch_ms = summarize(batch);
    r.single_ms = summarize(std::vector<double>(batch.size(), 20.0));
    run.cells.push_back(r);
    for (std::uint32_t it = 0; it < batch.size(); ++it) {
      run.samples.push_back({index, 0, it, 20.0, 0});
      run.samples.push_back({index, 1, it, batch[it], 0});
    }
  }
  return run;
}

CellRow cell(const std::string& strategy, std::uint32_t q, const std::vector<double>& batch) {
  CellRow r;
  r.strategy = strategy;
  r.queries = q;
  r.concurrency = 1;
  r.batch_ms = summarize(batch);
  r.single_ms = summarize(std::vector<double>(batch.size(), 2 * r.batch_ms.median));
  return r;
}

TEST(Stats, MedianIntervalRanksFollowTheBinomialTables) {
  // Below 6 samples no pair of order statistics covers 95 %: [min, max].
  for (std::size_t n : {1u, 2u, 5u, 6u, 8u}) EXPECT_EQ(median_ci_rank(n), 1u) << n;
  EXPECT_EQ(median_ci_rank(9), 2u);     // ranks 2 and 8
  EXPECT_EQ(median_ci_rank(20), 6u);    // ranks 6 and 15
  EXPECT_EQ(median_ci_rank(100), 40u);  // ranks 40 and 61
}

TEST(Stats, SummaryHasTheIntervalAndTheNoise) {
  const Stats s = summarize(samples(9, 10, 0.2));  // 9, 9.25, ..., 11
  EXPECT_DOUBLE_EQ(s.median, 10);
  EXPECT_DOUBLE_EQ(s.median_ci_low, 9.25);
  EXPECT_DOUBLE_EQ(s.median_ci_high, 10.75);
  EXPECT_NEAR(s.noise_pct, 7.5, 1e-9);
  EXPECT_EQ(summarize(std::vector<double>{3}).noise_pct, 0);
}

TEST(Verdict, OverlappingIntervalsAreATie) {
  const RunRecord run = run_of({{"a", samples(20, 10, 0.2)}, {"b", samples(20, 10.3, 0.2)}});
  const auto v = verdicts(run);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].winner->strategy, "a");
  EXPECT_FALSE(v[0].significant);
}

TEST(Verdict, TwiceTheTimeLosesAndTheSpeedupsAreMedians) {
  const RunRecord run = run_of({{"multi_stream_4", samples(20, 20, 0.1)}, {"fused", samples(20, 10, 0.1)}});
  const auto v = verdicts(run);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].winner->strategy, "fused");
  EXPECT_TRUE(v[0].significant);
  EXPECT_NEAR(v[0].lead, 1.0, 1e-9);
  ASSERT_TRUE(v[0].vs_multi_stream_4);
  EXPECT_NEAR(*v[0].vs_multi_stream_4, 2.0, 1e-9);
  EXPECT_NEAR(v[0].vs_single, 2.0, 1e-9);
}

TEST(Verdict, AClearButSmallLeadIsATie) {
  // Disjoint intervals, but 1 % is below kMinLead.
  const RunRecord run = run_of({{"a", samples(20, 10, 0.001)}, {"b", samples(20, 10.1, 0.001)}});
  EXPECT_FALSE(verdicts(run)[0].significant);
}

TEST(Verdict, ACellThatRanSlowerAsAWholeIsNoWin) {
  // The same work, but the second cell ran while the machine was twice as slow:
  // its single loop shows it, and the paired ratio cancels it.
  RunRecord run = run_of({{"a", samples(20, 10, 0.01)}, {"b", samples(20, 20, 0.01)}});
  for (Sample& s : run.samples)
    if (s.cell == 1 && s.path == 0) s.ms = 40;
  EXPECT_FALSE(verdicts(run)[0].significant);
}

TEST(Verdict, WithoutSamplesTheMediansRankButNeverWin) {
  RunRecord run = run_of({{"multi_stream_4", samples(20, 20, 0.01)}, {"fused", samples(20, 10, 0.01)}});
  run.samples.clear();
  const auto v = verdicts(run);
  EXPECT_EQ(v[0].winner->strategy, "fused");
  EXPECT_FALSE(v[0].significant);
}

TEST(Compare, ARunAgainstItselfHasNoChange) {
  RunRecord a;
  a.cells = {cell("fused", 1, samples(20, 10, 0.05)), cell("fused", 4, samples(20, 30, 0.05))};
  const Comparison c = compare_runs(a, a);
  ASSERT_EQ(c.changes.size(), 2u);
  for (const CellChange& change : c.changes) {
    EXPECT_DOUBLE_EQ(change.ratio, 1);
    EXPECT_FALSE(change.significant);
    EXPECT_LT(change.low, 1);
    EXPECT_GT(change.high, 1);
  }
  EXPECT_TRUE(regressions(c, 0).empty());
}

TEST(Compare, TenPercentSlowerIsFlaggedAboveFivePercent) {
  RunRecord a, b;
  a.cells = {cell("fused", 1, samples(20, 10, 0.05)), cell("baseline_full_batch", 1, samples(20, 10, 0.05))};
  b.cells = {cell("fused", 1, samples(20, 11, 0.05)), cell("tiled_tile4", 1, samples(20, 10, 0.05))};
  const Comparison c = compare_runs(a, b);
  ASSERT_EQ(c.changes.size(), 1u);
  EXPECT_NEAR(c.changes[0].ratio, 1.1, 1e-9);
  EXPECT_TRUE(c.changes[0].significant);
  EXPECT_EQ(regressions(c, 5).size(), 1u);
  EXPECT_TRUE(regressions(c, 15).empty());
  EXPECT_EQ(c.only_a, std::vector<std::string>{"baseline_full_batch Q=1 C=1"});
  EXPECT_EQ(c.only_b, std::vector<std::string>{"tiled_tile4 Q=1 C=1"});
}

// The same cell with a set of `pages` applied before each batch, taking `apply_ms`.
CellRow with_updates(CellRow r, std::uint64_t pages, double apply_ms, double batch_factor) {
  r.update_pages = pages;
  r.update_ms = summarize(samples(20, apply_ms, 0.05));
  r.batch_ms = summarize(samples(20, r.batch_ms.median * batch_factor, 0.05));
  finish_row(r, 0);
  return r;
}

TEST(LiveUpdates, UpdateCellsAreNeitherRankedNorGriddedButCompared) {
  RunRecord run = run_of({{"fused", samples(20, 10, 0.05)}, {"tiled_tile4", samples(20, 20, 0.05)}});
  run.cells.push_back(with_updates(run.cells[1], 1000, 4.096, 0.1));  // 10x faster: must not win
  const std::vector<Verdict> v = verdicts(run);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].winner->strategy, "fused");
  EXPECT_EQ(v[0].runner_up->strategy, "tiled_tile4");
  EXPECT_EQ(v[0].runner_up->update_pages, 0u);
  const std::string tables = markdown_tables(run.cells);
  EXPECT_NE(tables.find("| 1 | 10.00 | 20.00 |\n"), std::string::npos) << tables;  // the baseline latencies
  EXPECT_NE(tables.find("for 3 of 3 rows: fused Q=1 C=1; tiled_tile4 Q=1 C=1; tiled_tile4 Q=1 C=1 U=1000\n"),
            std::string::npos)
      << tables;  // the parity line covers every cell (run_of's rows never matched)
  const Comparison c = compare_runs(run, run);
  EXPECT_EQ(c.changes.size(), 3u);
  EXPECT_EQ(cell_text(run.cells[2]), "tiled_tile4 Q=1 C=1 U=1000");
}

TEST(LiveUpdates, TheTableGivesTheRateAndTheCostOverTheBaseline) {
  RunRecord run = run_of({{"fused", samples(20, 10, 0.05)}});
  EXPECT_EQ(live_updates_table(run.cells), "");
  run.cells.push_back(with_updates(run.cells[0], 1000, 4.096, 1.5));
  EXPECT_NEAR(run.cells[1].update_gbs, 1.0, 1e-9);  // 4,096,000 bytes in 4.096 ms
  const std::string table = live_updates_table(run.cells);
  EXPECT_NE(table.find("### Live updates"), std::string::npos) << table;
  EXPECT_NE(table.find("| 1 | fused | 1 | 1000 | 4.096 ["), std::string::npos) << table;
  EXPECT_NE(table.find(" | 1.00 | 10.000 ["), std::string::npos) << table;
  EXPECT_NE(table.find(" | 1.50x |\n"), std::string::npos) << table;
}

}  // namespace
}  // namespace pagequery::bench
