// pagequery report: the seed's tables (or CSV rows, or a QPS plot) for one run
// of a sweep results file. Reads HDF5 only; never initialises Kokkos.
#include "apps/commands.hpp"
#include "apps/hex.hpp"
#include "apps/results_store.hpp"
#include "apps/sweep_stats.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#ifndef PAGEQUERY_PLOT_SCRIPT
#define PAGEQUERY_PLOT_SCRIPT ""
#endif

extern char** environ;

namespace pagequery::apps {

namespace {

namespace fs = std::filesystem;

struct ReportArgs {
  std::string file;
  std::optional<std::string> run;
  bool csv = false;
  bool list = false;
  std::optional<std::string> plot;
};

// Exit code of plot_qps.py when h5py or matplotlib cannot be imported.
constexpr int kPlotMissingModules = 3;

// The installed script (<prefix>/share/pagequery next to <prefix>/bin), else the
// one in the source tree this binary was built from.
std::string plot_script() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = exe.parent_path().parent_path() / "share" / "pagequery" / "plot_qps.py";
    if (fs::is_regular_file(installed, ec)) return installed.string();
  }
  const fs::path built(PAGEQUERY_PLOT_SCRIPT);
  if (!built.empty() && fs::is_regular_file(built, ec)) return built.string();
  throw InputError("report --plot: plot_qps.py not found (looked in <bin>/../share/pagequery and " +
                   built.string() + ")");
}

void run_plot(const std::string& file, const std::string& run, const std::string& out) {
  const std::string script = plot_script();
  const char* python_env = std::getenv("PAGEQUERY_PYTHON");
  const std::string python = python_env && *python_env ? python_env : "python3";
  std::vector<std::string> argv_s = {python, script, file, run, out};
  std::vector<char*> argv;
  for (std::string& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);

  std::cout << std::flush;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);  // keep stdout for tables
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, python.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    throw InputError("report --plot: cannot run " + python + ": " + std::strerror(rc) +
                     " (set PAGEQUERY_PYTHON to a python3 with h5py and matplotlib)");
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw InputError(std::string("report --plot: waitpid: ") + std::strerror(errno));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  if (WIFEXITED(status) && WEXITSTATUS(status) == kPlotMissingModules)
    throw InputError("report --plot: " + python +
                     " cannot import h5py and matplotlib (install python3-h5py python3-matplotlib, "
                     "or set PAGEQUERY_PYTHON)");
  throw InputError("report --plot: " + script + " failed (" +
                   (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                      : "signal " + std::to_string(WTERMSIG(status))) +
                   ")");
}

void run_report(const ReportArgs& args) {
  const std::vector<std::string> runs = list_runs(args.file);
  if (args.list) {
    for (const std::string& id : runs) {
      const RunRecord r = read_run(args.file, id, false);
      std::cout << id << "  " << r.text("status", "unknown") << "  " << r.cells.size() << " cells  "
                << accumulate_of(r) << "  " << one_line(r.text("device", "?")) << "\n";
    }
    std::cout << std::flush;
    return;
  }
  if (runs.empty()) throw InputError(args.file + ": no runs in /runs");
  std::string id = runs.back();  // the latest
  if (args.run) {
    if (std::find(runs.begin(), runs.end(), *args.run) == runs.end()) {
      std::string known;
      const std::size_t from = runs.size() > 5 ? runs.size() - 5 : 0;
      for (std::size_t i = from; i < runs.size(); ++i) known += (known.empty() ? "" : ", ") + runs[i];
      throw InputError(args.file + ": no run '" + one_line(*args.run) + "' (" +
                       (from ? "latest runs: " : "runs: ") + known + ")");
    }
    id = *args.run;
  }
  const RunRecord run = read_run(args.file, id, false);
  if (args.csv) std::cout << csv_rows(run.cells, run.id, accumulate_of(run), read_floor_of(run));
  else std::cout << run_summary_markdown(run);
  std::cout << std::flush;
  if (!std::cout) throw std::runtime_error("report: cannot write to stdout");
  if (args.plot) {
    run_plot(args.file, run.id, *args.plot);
    std::cerr << "pagequery report: plot written to " << *args.plot << "\n";
  }
}

}  // namespace

void add_report(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Print one run of a sweep results file: the seed's tables (speedup, batch ms, QPS).");
  cmd->add_option("file", args->file, "results file written by `pagequery sweep`")
      ->required()
      ->type_name("RESULTS.h5");
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
  cmd->footer(
      "The tables: speedup, batch ms and batch QPS per strategy (and key format) and Q, then each\n"
      "cell's batch ms as a multiple of the run's read floor (n/a for runs written before it).\n"
      "Exit codes: 0 ok, 2 a missing file, a non-HDF5 file, an HDF5 file without /runs, an unknown\n"
      "run id, or a failed plot (one line on stderr).\n");
  cmd->callback([args] { run_report(*args); });
}

}  // namespace pagequery::apps
