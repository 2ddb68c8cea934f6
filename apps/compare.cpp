// pagequery compare: one run against another, cell by cell (bench/compare.hpp), as
// nvbench_compare does; --fail-above gates a CI job on a significant slowdown.
// Reads HDF5 only; never initialises Kokkos.
#include "apps/commands.hpp"
#include "apps/crash_guard.hpp"
#include "apps/io_limits.hpp"
#include "bench/compare.hpp"
#include "bench/json_printer.hpp"
#include "bench/markdown_printer.hpp"
#include "bench/results/reader.hpp"
#include "service/text.hpp"
#include "pagequery/core/printable.hpp"

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

namespace pagequery::apps {

using namespace bench;
using namespace service;

namespace {

struct CompareArgs {
  std::string a, b;  // FILE[:RUN]
  std::optional<double> fail_above;
  std::optional<std::string> json;
};

// "results.h5:20261207T183518Z" -> the file and the run; a path that exists as
// given is a file (its latest run), even with a ':' in its name.
struct RunSpec {
  std::string file;
  std::optional<std::string> run;
};

RunSpec parse_spec(const std::string& text) {
  std::error_code ec;
  const auto colon = text.rfind(':');
  if (std::filesystem::exists(text, ec) || colon == std::string::npos) return {text, std::nullopt};
  return {text.substr(0, colon), text.substr(colon + 1)};
}

RunRecord read_spec(const RunSpec& spec) {
  return read_run(spec.file, pick_run(spec.file, list_runs(spec.file), spec.run));
}

void compare(const CompareArgs& args) {
  const RunSpec a = parse_spec(args.a), b = parse_spec(args.b);
  const RunRecord run_a = read_spec(a), run_b = read_spec(b);
  const Comparison comparison = compare_runs(run_a, run_b);
  const std::string name_a = a.file + ":" + run_a.id, name_b = b.file + ":" + run_b.id;
  if (args.json) write_json(*args.json, comparison_json(comparison, name_a, name_b, args.fail_above));
  std::cout << comparison_table(comparison, name_a, name_b);
  flush_stdout("compare");
  if (!args.fail_above) return;
  const auto slower = regressions(comparison, *args.fail_above);
  if (slower.empty()) return;
  throw CheckFailed(std::to_string(slower.size()) + " of " + std::to_string(comparison.changes.size()) +
                    " cells are significantly slower by more than " + number(*args.fail_above) + " % (the first: " +
                    printable(cell_text(*slower.front()->a)) + ", B / A = " + fixed(slower.front()->ratio, 3) + ")");
}

}  // namespace

void add_compare(CLI::App& app) {
  auto args = std::make_shared<CompareArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compare", "Compare two runs cell by cell: ratio of median batch times, its interval, significance.");
  cmd->add_option("a", args->a, "the baseline: a results file, or FILE:RUN (default run: the latest)")
      ->required()
      ->type_name("A.h5[:RUN]");
  cmd->add_option("b", args->b, "the run compared with it")->required()->type_name("B.h5[:RUN]");
  cmd->add_option_function<double>(
         "--fail-above", [args](double v) { args->fail_above = v; },
         "exit 1 when a cell of B is slower than A's by more than PCT % and the change is significant")
      ->type_name("PCT")
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option_function<std::string>(
         "--json", [args](const std::string& v) { args->json = v; },
         "also write the comparison as JSON (docs/json-schema.md)")
      ->type_name("FILE");
  cmd->footer(
      "Cells match by strategy, key format, Q and concurrency. Exit codes: 0 ok, 1 a regression beyond\n"
      "--fail-above, 2 a missing or damaged file, an unknown run id, or a failed write to stdout.\n");
  cmd->callback([args] { run_guarded(args->a + " / " + args->b, [&] { compare(*args); }); });
}

}  // namespace pagequery::apps
