// pagequery report: the seed's tables (or CSV rows, or a QPS plot) for one run
// of a sweep results file. Reads HDF5 only; never initialises Kokkos.
#include "apps/commands.hpp"
#include "apps/crash_guard.hpp"
#include "apps/io_limits.hpp"
#include "apps/plot.hpp"
#include "bench/csv_printer.hpp"
#include "bench/json_printer.hpp"
#include "bench/markdown_printer.hpp"
#include "bench/results/reader.hpp"
#include "service/text.hpp"
#include "pagequery/core/printable.hpp"

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pagequery::apps {

using namespace bench;

namespace {

struct ReportArgs {
  std::string file;
  std::vector<std::string> overlays;  // --plot draws their latest runs too
  std::optional<std::string> run;
  bool csv = false;
  bool list = false;
  std::optional<std::string> plot;
  std::optional<std::string> json;
};

void print_list(const std::string& file, const std::vector<std::string>& runs) {
  std::vector<RunRecord> records;  // all read before anything is printed
  for (const std::string& id : runs) records.push_back(read_run(file, id, false));
  MarkdownPrinter(std::cout).print_run_list(records);
}

void report_runs(const ReportArgs& args) {
  const std::vector<std::string> runs = list_runs(args.file);
  if (args.list) {
    print_list(args.file, runs);
    flush_stdout("report");
    return;
  }
  const std::string id = pick_run(args.file, runs, args.run);
  const RunRecord run = read_run(args.file, id);
  if (args.json) write_json(*args.json, run_json(run, args.file));
  if (args.csv)
    CsvPrinter(std::cout).print_run(run);
  else
    MarkdownPrinter(std::cout).print_run(run);
  flush_stdout("report");
  if (args.plot) {
    std::vector<std::pair<std::string, std::string>> runs{{args.file, run.id}};
    for (const std::string& other : args.overlays) runs.emplace_back(other, pick_run(other, list_runs(other), {}));
    run_plot(runs, *args.plot);
    std::cerr << "pagequery report: plot written to " << printable(*args.plot) << "\n";
  }
}

// The reading runs in a child process (apps/crash_guard.hpp): HDF5 1.10 can crash
// on a damaged file, and that must be an error, never a signal or a success.
void run_report(const ReportArgs& args) {
  if (!args.overlays.empty() && !args.plot)
    throw InputError("report: more than one results file needs --plot (the others' latest runs are overlaid)");
  if (args.plot) check_plot_target(*args.plot);
  run_guarded(args.file, [&] { report_runs(args); });
}

}  // namespace

void add_report(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Print one run of a sweep results file: the seed's tables (speedup, batch ms, QPS).");
  cmd->add_option("file", args->file, "results file written by `pagequery sweep`")->required()->type_name("RESULTS.h5");
  cmd->add_option("more", args->overlays, "with --plot: more results files, their latest runs overlaid")
      ->type_name("RESULTS.h5 ...");
  cmd->add_option_function<std::string>(
         "--run", [args](const std::string& v) { args->run = v; }, "run id (a /runs group; default: the latest)")
      ->type_name("ID");
  cmd->add_flag("--csv", args->csv, "one CSV row per cell instead of the markdown tables");
  cmd->add_flag("--list", args->list, "list the runs (id, status, cells, accumulate, device) and exit");
  cmd->add_option_function<std::string>(
         "--plot", [args](const std::string& v) { args->plot = v; },
         "also draw QPS vs Q per strategy into a PNG (python3 with h5py and matplotlib;\n"
         "PAGEQUERY_PYTHON picks the interpreter)")
      ->type_name("OUT.png");
  cmd->add_option_function<std::string>(
         "--json", [args](const std::string& v) { args->json = v; },
         "also write the run as JSON (docs/json-schema.md: Google Benchmark's fields, the verdicts)")
      ->type_name("FILE");
  cmd->footer(
      "The tables: speedup, batch ms and batch QPS per strategy (and key format) and Q, then each\n"
      "cell's batch ms as a multiple of the run's read floor (n/a for runs written before it).\n"
      "Exit codes: 0 ok, 2 a missing file, a non-HDF5 or non-regular file, an HDF5 file without /runs,\n"
      "a damaged file (sizes it cannot hold, or one that crashes the HDF5 library: the file is read in a\n"
      "child process), an unknown run id, a failed plot, or a failed write to stdout (one line on stderr).\n");
  cmd->callback([args] { run_report(*args); });
}

}  // namespace pagequery::apps
