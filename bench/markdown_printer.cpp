#include "bench/markdown_printer.hpp"

#include "bench/compare.hpp"
#include "bench/plan.hpp"
#include "bench/verdict.hpp"
#include "service/key_list.hpp"
#include "service/policy_text.hpp"
#include "service/text.hpp"
#include "pagequery/core/bits128.hpp"
#include "pagequery/core/printable.hpp"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <tuple>

namespace pagequery::bench {

using namespace service;

namespace {

struct Table {
  std::string title;
  std::function<std::string(const CellRow&)> cell;
};

// The rows of a run by (concurrency, column, Q): columns are strategies and key
// formats in order of first appearance.
struct Grid {
  std::vector<std::string> columns;
  std::set<std::uint32_t> concurrencies, batch_sizes;
  std::map<std::tuple<std::uint32_t, std::string, std::uint32_t>, const CellRow*> by_key;

  // The baseline cells only: those with live updates have a table of their own.
  explicit Grid(const std::vector<CellRow>& rows) {
    for (const CellRow& r : rows) {
      if (r.update_pages) continue;
      const std::string column = column_label(r.strategy, r.dpf);
      if (std::find(columns.begin(), columns.end(), column) == columns.end()) columns.push_back(column);
      concurrencies.insert(r.concurrency);
      batch_sizes.insert(r.queries);
      by_key[{r.concurrency, column, r.queries}] = &r;
    }
  }
};

// One table of concurrency c: rows Q, columns the grid's ("-" where no cell ran).
std::string grid_table(const Grid& grid, const Table& t, std::uint32_t c, bool label_concurrency) {
  std::string out = "### " + t.title;
  if (label_concurrency) out += ", concurrency " + std::to_string(c);
  out += "\n\n| Q |";
  for (const std::string& s : grid.columns) out += " " + markdown_text(s) + " |";
  out += "\n|---|";
  for (std::size_t i = 0; i < grid.columns.size(); ++i) out += "---:|";
  out += "\n";
  for (std::uint32_t q : grid.batch_sizes) {
    out += "| " + std::to_string(q) + " |";
    for (const std::string& s : grid.columns) {
      const auto it = grid.by_key.find({c, s, q});
      out += " " + (it == grid.by_key.end() ? std::string("-") : t.cell(*it->second)) + " |";
    }
    out += "\n";
  }
  return out + "\n";
}

// Per concurrency, every table.
template <std::size_t N>
std::string grid_tables(const std::vector<CellRow>& rows, const Table (&tables)[N]) {
  const Grid grid(rows);
  if (grid.by_key.empty()) return "";
  const bool label_concurrency = grid.concurrencies.size() > 1 || *grid.concurrencies.begin() != 1;
  std::string out;
  for (std::uint32_t c : grid.concurrencies)
    for (const Table& t : tables) out += grid_table(grid, t, c, label_concurrency);
  return out;
}

std::string parity_line(const std::vector<CellRow>& rows) {
  std::vector<const CellRow*> mismatched;
  for (const CellRow& r : rows)
    if (!r.checksum_match) mismatched.push_back(&r);
  if (mismatched.empty()) return "- `checksum_match=1` for all " + std::to_string(rows.size()) + " rows.\n";
  std::string out =
      "- `checksum_match=0` for " + std::to_string(mismatched.size()) + " of " + std::to_string(rows.size()) + " rows:";
  for (const CellRow* r : mismatched) out += " " + markdown_text(cell_text(*r)) + ";";
  out.back() = '\n';
  return out;
}

// "0.812 [0.773, 0.836]"
std::string with_interval(const Stats& s) {
  return fixed(s.median, 3) + " [" + fixed(s.median_ci_low, 3) + ", " + fixed(s.median_ci_high, 3) + "]";
}

std::string times(double ratio) { return ratio > 0 ? fixed(ratio, 2) + "x" : std::string("-"); }

bool scaled_out(const RunRecord& run) {
  const auto* ranks = run.find("mpi_ranks");
  return ranks && std::holds_alternative<std::int64_t>(*ranks) && std::get<std::int64_t>(*ranks) > 1;
}

std::string read_floor_text(const RunRecord& run) {
  const std::optional<double> floor = read_floor_of(run);
  if (!floor) return "n/a (run written before the read floor was measured)";
  const std::optional<double> gbs = run.real("read_floor_gbs");
  return fixed(*floor, 3) + " ms" + (gbs ? ", " + fixed(*gbs, 1) + " GB/s" : "") +
         " (a plain streaming read of the matrix, the fastest of " + run.text("read_floor_repetitions", "?") + ")";
}

std::string matrix_text(const RunRecord& run) {
  std::string matrix = run.text("matrix", run.text("matrix_source"));
  if (run.find("pages")) {
    matrix += ", " + run.text("pages") + " pages, d = " + run.text("domain_bits");
    if (const auto* bytes = run.find("size_bytes"); bytes && std::holds_alternative<std::uint64_t>(*bytes))
      matrix += ", " + human_bytes(std::get<std::uint64_t>(*bytes));
  }
  return matrix;
}

// "iterations=5", or the stopping rule of a run that had one (iterations = 0).
std::string settings_text(const RunRecord& run) {
  if (!run.find("min_samples") || run.text("iterations") != "0") return "iterations=" + run.text("iterations");
  return "stopping rule: min samples " + run.text("min_samples") + ", max noise " + run.text("max_noise_pct") +
         " %, min time " + run.text("min_time_s") + " s, max time " + run.text("max_time_s") + " s";
}

std::string host_text(const RunRecord& run) {
  std::string where = run.text("host");
  if (run.find("slurm_job_id")) where += ", Slurm job " + run.text("slurm_job_id");
  if (run.find("slurm_job_nodelist")) where += " on " + run.text("slurm_job_nodelist");
  return where;
}

// "- label: value" lines of the run's metadata (empty values left out).
std::string run_header(const RunRecord& run) {
  std::string out;
  const auto line = [&](const std::string& label, const std::string& value) {
    if (!value.empty()) out += "- " + label + ": " + markdown_text(value) + "\n";
  };
  std::string device = run.text("device");
  if (run.find("kokkos_backend"))
    device += " (Kokkos " + run.text("kokkos_version") + ", " + run.text("kokkos_backend") + ")";
  line("device", device);
  line("accumulate", accumulate_of(run));
  if (accumulate_of(run) == "mma") line("packed kernel", run.text("packed_kernel"));
  line("dpf", run.text("dpf", "morphogen"));
  line("read floor", read_floor_text(run));
  line("matrix", matrix_text(run));
  if (run.find("iterations"))
    line("settings", settings_text(run) + ", warmup=" + run.text("warmup") +
                         (run.text("cold") == "1" ? ", cold caches" : "") + ", concurrency=" + run.text("concurrency") +
                         ", seed=" + run.text("seed"));
  line("single loop", run.text("single_policy"));
  line("env switches", run.text("env_switches"));
  if (scaled_out(run))
    line("ranks", run.text("mpi_ranks") + " (MPI, answers XOR-reduced into rank 0; shards [first, count] " +
                      run.text("shard_layout") + ")");
  line("host", host_text(run));
  line("git", run.text("git_revision"));
  line("started", run.text("started_utc"));
  std::string status = run.text("status", "unknown");
  if (run.find("cells_planned"))
    status += " (" + std::to_string(run.cells.size()) + " of " + run.text("cells_planned") + " cells)";
  line("status", status);
  return out;
}

std::string join(const std::vector<int>& v) {
  std::string out;
  for (int i : v) out += (out.empty() ? "" : ",") + std::to_string(i);
  return out;
}

// The mode a run of the plan will have. A dry run starts no device, so auto that
// no strategy made lop3 is still open: the engine picks it.
std::string accumulate_text(const Plan& plan) {
  if (plan.spec.accumulate == Accumulate::Auto)
    return "auto (mma on a CUDA GPU of compute capability 8.0+, else lop3: the device decides, "
           "and a dry run does not ask it)";
  return to_string(plan.spec.accumulate) + accumulate_note(plan);
}

// The key formats, with what they leave out of the plan's cells.
std::string dpf_text(const Plan& plan) {
  std::string out;
  for (DpfFormat f : plan.formats) out += (out.empty() ? "" : ",") + to_string(f);
  const bool cut = std::any_of(plan.batch_sizes.begin(), plan.batch_sizes.end(),
                               [](int q) { return q > max_batch_queries(DpfFormat::Morphogen); });
  if (cut && std::count(plan.formats.begin(), plan.formats.end(), DpfFormat::Morphogen))
    out += " (morphogen cells stop at Q = " + std::to_string(max_batch_queries(DpfFormat::Morphogen)) + ")";
  const bool gemm = std::any_of(plan.strategies.begin(), plan.strategies.end(),
                                [](const Strategy& s) { return s.config.mode == BatchMode::Gemm; });
  if (gemm && std::count(plan.formats.begin(), plan.formats.end(), DpfFormat::Packed))
    out += " (kokkos_kernels_gemm takes Morphogen keys only)";
  return out;
}

// "0,16 (Zipf s = 1)": the U axis, its baseline 0 included.
std::string update_axis_text(const Plan& plan) {
  std::string out;
  for (std::uint64_t u : plan.update_pages) out += (out.empty() ? "" : ",") + std::to_string(u);
  return plan.update_pages.size() > 1 ? out + " (Zipf s = " + number(plan.update_zipf) + ")" : out;
}

// The matrix, the axes and the settings of a plan.
std::string plan_text(const Plan& plan) {
  const std::uint64_t bytes = plan.pages * kPageBytes;
  std::string names;
  for (const Strategy& s : plan.strategies) names += (names.empty() ? "" : ",") + s.name;
  return "matrix: " + printable(plan.matrix_text) + ", " + std::to_string(plan.pages) +
         " pages, d = " + std::to_string(plan.domain_bits) + ", " + std::to_string(bytes) + " bytes (" +
         human_bytes(bytes) + ")\n" + "axes: strategies " + names + "; batch sizes " + join(plan.batch_sizes) +
         "; concurrency " + join(plan.concurrency) + "; update pages " + update_axis_text(plan) + "\n" +
         "accumulate: " + accumulate_text(plan) + "\n" + "dpf: " + dpf_text(plan) + "\n" + stopping_text(plan.stop) +
         ", warmup " + std::to_string(plan.warmup) + (plan.cold ? ", cold caches" : "") + ", key seed " +
         std::to_string(plan.key_seed) + (plan.key_seed_given ? "" : " (random)") + "\n" +
         "cells: " + std::to_string(plan.cells.size()) + "\n";
}

}  // namespace

void MarkdownPrinter::do_print_plan(const PlanListing& listing) {
  const Plan& plan = listing.plan;
  std::ostream& out = stream();
  out << "pagequery sweep: dry run (nothing is measured or written)\n" << plan_text(plan);
  if (!listing.layout.empty())
    out << "ranks: " << listing.layout.size() << " (MPI), shards [first, count] " << shard_layout_json(listing.layout)
        << "\n";
  for (std::size_t i = 0; i < plan.cells.size(); ++i) {
    const Cell& c = plan.cells[i];
    out << "  [cell " << i + 1 << "/" << plan.cells.size() << "] " << cell_name(plan, c) << " Q=" << c.queries
        << " C=" << c.concurrency << " (" << describe(plan.strategies[c.strategy].config) << ")\n";
  }
  out << "output: " << printable(plan.output)
      << (listing.runs_in_output ? " (appends; " + std::to_string(*listing.runs_in_output) + " runs there)"
                                 : std::string(" (a new file)"))
      << "\n";
}

void MarkdownPrinter::do_print_run_list(const std::vector<RunRecord>& runs) {
  for (const RunRecord& r : runs)
    stream() << printable(r.id) << "  " << printable(r.text("status", "unknown")) << "  " << r.cells.size()
             << " cells  " << printable(accumulate_of(r)) << "  " << printable(r.text("device", "?")) << "\n";
}

void MarkdownPrinter::do_print_run(const RunRecord& run) {
  std::string out = "## pagequery sweep " + markdown_text(run.id) + "\n\n" + run_header(run);
  out += "\n" + verdict_table(verdicts(run)) + markdown_tables(run.cells) + live_updates_table(run.cells);
  if (!run.cells.empty()) out += "\n" + read_floor_tables(run.cells, read_floor_of(run)) + hardware_floor_tables(run);
  if (scaled_out(run) && !run.cells.empty()) out += "\n" + reduction_tables(run.cells);
  stream() << out;
}

std::string markdown_tables(const std::vector<CellRow>& rows) {
  if (rows.empty()) return "No cells were measured.\n";
  const Table tables[] = {
      {"Batch-vs-single speedup (`batch_vs_single_speedup`)",
       [](const CellRow& r) { return fixed(r.speedup, 2) + "x"; }},
      {"Batch latency (`batch_ms_per_batch`)", [](const CellRow& r) { return fixed(r.batch_ms.mean, 2); }},
      {"Batch throughput (`batch_qps`)", [](const CellRow& r) { return fixed(r.batch_qps, 2); }},
  };
  return grid_tables(rows, tables) + "### Correctness parity\n\n" + parity_line(rows);
}

std::string live_updates_table(const std::vector<CellRow>& rows) {
  std::map<std::tuple<std::string, std::string, std::uint32_t, std::uint32_t>, const CellRow*> baseline;
  for (const CellRow& r : rows)
    if (!r.update_pages) baseline[{r.strategy, r.dpf, r.queries, r.concurrency}] = &r;
  std::string out;
  for (const CellRow& r : rows) {
    if (!r.update_pages) continue;
    const auto it = baseline.find({r.strategy, r.dpf, r.queries, r.concurrency});
    const CellRow* base = it == baseline.end() ? nullptr : it->second;
    out += "| " + std::to_string(r.concurrency) + " | " + markdown_text(row_label(r)) + " | " +
           std::to_string(r.queries) + " | " + std::to_string(r.update_pages) + " | " + with_interval(r.update_ms) +
           " | " + fixed(r.update_gbs, 2) + " | " + (base ? with_interval(base->batch_ms) : "-") + " | " +
           with_interval(r.batch_ms) + " | " +
           (base && base->batch_ms.median > 0 ? times(r.batch_ms.median / base->batch_ms.median) : "-") + " |\n";
  }
  if (out.empty()) return "";
  return "\n### Live updates\n\n"
         "Before each batch of a cell with U > 0, U fresh pages are staged and applied as a new epoch; the batch "
         "runs right after. Apply ms: the epoch advance (upload and patch kernel), median [95 % CI]; GB/s: "
         "U x 4096 bytes over that median; batch ms: medians [95 % CI] of the cell without updates (U = 0) and "
         "with them; latency cost: their ratio.\n\n"
         "| C | strategy | Q | U | apply ms [95 % CI] | update GB/s | batch ms, U = 0 | batch ms, with updates | "
         "latency cost |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|\n" +
         out;
}

std::string read_floor_tables(const std::vector<CellRow>& rows, std::optional<double> read_floor_ms) {
  if (!read_floor_ms) {
    const Table tables[] = {{"Read-floor multiple (n/a: the run has no `read_floor_ms`)",
                             [](const CellRow&) { return std::string("n/a"); }}};
    return grid_tables(rows, tables);
  }
  const double floor = *read_floor_ms;
  const Table tables[] = {
      {"Read-floor multiple (`batch_ms_per_batch / read_floor_ms`, floor " + fixed(floor, 3) + " ms)",
       [floor](const CellRow& r) { return fixed(r.batch_ms.mean / floor, 2) + "x"; }}};
  return grid_tables(rows, tables);
}

std::string hardware_floor_tables(const RunRecord& run) {
  const std::optional<double> floor = read_floor_of(run);
  const double rate = std::max(run.real("mma_sync_rate").value_or(0), run.real("wgmma_rate").value_or(0));
  const double pages = std::strtod(run.text("local_pages", "0").c_str(), nullptr);
  if (!floor || rate <= 0 || pages <= 0) return "";
  // What the card can do: a batch of Q queries scans 3 Q keys, 3 Q x pages x 32,768
  // binary MMA operations at the device's best binary MMA rate.
  const auto tensor_ms = [=](const CellRow& r) {
    return double(kKeysPerQuery) * r.queries * pages * 32768.0 / rate * 1e3;
  };
  const Table tables[] = {
      {"Tensor floor, ms (3 Q x pages x 32,768 over the run's best binary MMA rate)",
       [=](const CellRow& r) { return fixed(tensor_ms(r), 3); }},
      {"Hardware-floor multiple (`batch_ms_per_batch / max(read floor, tensor floor)`)",
       [=](const CellRow& r) { return fixed(r.batch_ms.mean / std::max(*floor, tensor_ms(r)), 2) + "x"; }}};
  return "\n" + grid_tables(run.cells, tables);
}

std::string reduction_tables(const std::vector<CellRow>& rows) {
  const Table tables[] = {
      {"MPI reduction per batch, ms (`batch_reduce_ms`; part of `batch_ms_per_batch`)",
       [](const CellRow& r) { return fixed(r.batch_reduce_ms, 3); }},
      {"MPI reduction per query in the single loop, ms (`single_reduce_ms` / Q)",
       [](const CellRow& r) { return fixed(r.queries ? r.single_reduce_ms / r.queries : 0.0, 3); }},
  };
  return grid_tables(rows, tables);
}

std::string verdict_table(const std::vector<Verdict>& verdicts) {
  if (verdicts.empty()) return "";
  std::string out =
      "### Verdict\n\n"
      "Per concurrency C, Q and key format, the strategies ranked by batch ms / single-loop ms of the same "
      "iteration (the single loop is the same work in every cell, so the ratio cancels load that drifts "
      "between cells). The fastest wins when the runner-up's 95 % interval of that ratio lies entirely above "
      "its own and it leads by at least " +
      fixed(kMinLead * 100, 0) +
      " %; else it is a tie. Batch ms: the "
      "winner's median wall time [95 % interval]; vs: the other's median ratio over the winner's.\n\n"
      "| C | Q | fastest | batch ms [95 % CI] | runner-up | lead | verdict | vs multi_stream_4 | vs single loop |\n"
      "|---:|---:|---|---:|---|---:|---|---:|---:|\n";
  for (const Verdict& v : verdicts) {
    const std::string runner = v.runner_up ? markdown_text(row_label(*v.runner_up)) : std::string("-");
    const std::string lead = v.runner_up ? fixed(v.lead * 100, 1) + " %" : std::string("-");
    const std::string verdict = !v.runner_up ? "only one" : v.significant ? "wins" : "tie";
    out += "| " + std::to_string(v.concurrency) + " | " + std::to_string(v.queries) + " | " +
           markdown_text(row_label(*v.winner)) + " | " + with_interval(v.winner->batch_ms) + " | " + runner + " | " +
           lead + " | " + verdict + " | " + (v.vs_multi_stream_4 ? times(*v.vs_multi_stream_4) : "-") + " | " +
           times(v.vs_single) + " |\n";
  }
  return out + "\n";
}

std::string comparison_table(const Comparison& comparison, std::string_view a, std::string_view b) {
  std::string out = "## pagequery compare\n\n- A: " + markdown_text(a) + "\n- B: " + markdown_text(b) +
                    "\n\nMedian batch ms per cell ([95 % CI]); B / A with the interval [B low / A high, "
                    "B high / A low]. A change is significant when the two intervals do not overlap.\n\n"
                    "| cell | A ms | B ms | B / A | change |\n|---|---:|---:|---:|---|\n";
  for (const CellChange& c : comparison.changes) {
    const std::string mark = !c.significant ? "same" : c.ratio > 1 ? "**slower**" : "faster";
    out += "| " + markdown_text(cell_text(*c.a)) + " | " + with_interval(c.a->batch_ms) + " | " +
           with_interval(c.b->batch_ms) + " | " + fixed(c.ratio, 3) + " [" + fixed(c.low, 3) + ", " + fixed(c.high, 3) +
           "] | " + mark + " |\n";
  }
  for (const std::string& cell : comparison.only_a) out += "| " + markdown_text(cell) + " | | - | | only in A |\n";
  for (const std::string& cell : comparison.only_b) out += "| " + markdown_text(cell) + " | - | | | only in B |\n";
  return out;
}

std::string markdown_text(std::string_view text) {
  std::string out;
  for (const char c : printable(text)) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

}  // namespace pagequery::bench
