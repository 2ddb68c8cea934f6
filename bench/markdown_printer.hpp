#pragma once
// The human format: a run as markdown (a header of its metadata, then the seed's
// tables: speedup, batch ms and batch QPS per strategy and Q), the run list, and
// a dry run's plan.
#include "bench/compare.hpp"
#include "bench/printer.hpp"
#include "bench/stats.hpp"
#include "bench/verdict.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagequery::bench {

class MarkdownPrinter : public Printer {
 public:
  using Printer::Printer;

 private:
  // The matrix, the axes and settings, then one line per cell, and the output.
  void do_print_plan(const PlanListing& listing) override;
  // One line per run: id, status, cells, accumulate, device.
  void do_print_run_list(const std::vector<RunRecord>& runs) override;
  // The header and the tables below.
  void do_print_run(const RunRecord& run) override;
};

// The seed's tables (speedup, batch ms per batch, batch QPS; rows Q, columns
// strategies), one set per concurrency, then a checksum parity line. These, and
// the floor and reduction tables, show the baseline cells (no live updates); the
// parity line covers every cell.
std::string markdown_tables(const std::vector<CellRow>& rows);
// The cells with live updates (U > 0): apply ms, update GB/s and batch ms beside
// the baseline cell of the same strategy, key format, Q and C (the latency cost
// is their ratio); empty for a run without them.
std::string live_updates_table(const std::vector<CellRow>& rows);
// The verdicts (bench/verdict.hpp) as a table with the test they apply; empty for none.
std::string verdict_table(const std::vector<Verdict>& verdicts);
// Two runs' cells side by side (bench/compare.hpp); `a` and `b` name the runs.
std::string comparison_table(const Comparison& comparison, std::string_view a, std::string_view b);
// Each cell's mean batch time as a multiple of the run's read floor (rows Q,
// columns strategies); "n/a" in every cell of a run without one.
std::string read_floor_tables(const std::vector<CellRow>& rows, std::optional<double> read_floor_ms);
// The tensor floor of each cell and its multiple of max(read floor, tensor floor),
// for runs that measured their tensor rates (mma); empty otherwise.
std::string hardware_floor_tables(const RunRecord& run);
// The MPI reduction's share of the single loop and the batch (reduce ms per
// query and per batch, rows Q, columns strategies), one set per concurrency.
std::string reduction_tables(const std::vector<CellRow>& rows);

// Text read from a results file as markdown: one line, '|' escaped, so that a
// table keeps its columns.
std::string markdown_text(std::string_view text);

}  // namespace pagequery::bench
