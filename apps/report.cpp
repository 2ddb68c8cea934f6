// pagequery report: the seed's tables (or CSV rows, or a QPS plot) for one run
// of a sweep results file. Reads HDF5 only; never initialises Kokkos.
#include "apps/commands.hpp"
#include "apps/crash_guard.hpp"
#include "apps/io_limits.hpp"
#include "bench/csv_printer.hpp"
#include "bench/markdown_printer.hpp"
#include "bench/results/reader.hpp"
#include "bench/text.hpp"
#include "core/printable.hpp"

#include <fcntl.h>
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

using namespace bench;

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

// The checks a plot path gets before anything is read or printed.
void check_plot_target(const std::string& out) {
  if (out.empty()) throw InputError("report --plot: the path is empty");
  std::error_code ec;
  const fs::path path(out);
  if (fs::is_directory(path, ec)) throw InputError("report --plot: " + quote(out) + " is a directory");
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  if (!fs::is_directory(dir, ec))
    throw InputError("report --plot: the directory " + quote(dir.string()) + " does not exist");
}

// The last non-empty line of a child's output (a Python traceback ends with the error).
std::string last_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  const auto start = text.find_last_of('\n');
  return std::string(start == std::string_view::npos ? text : text.substr(start + 1));
}

// Runs plot_qps.py with its stdout and stderr collected: a failure becomes one line
// (the script's last), and on success whatever it printed is dropped.
void run_plot(const std::string& file, const std::string& run, const std::string& out) {
  const std::string script = plot_script();
  const char* python_env = std::getenv("PAGEQUERY_PYTHON");
  const std::string python = python_env && *python_env ? python_env : "python3";
  std::vector<std::string> argv_s = {python, script, file, run, out};
  std::vector<char*> argv;
  for (std::string& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw InputError(std::string("report --plot: pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, python.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  std::string output;
  char buf[4096];
  for (ssize_t n; rc == 0 && (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    output.append(buf, static_cast<std::size_t>(n));
    if (output.size() > 65536) output.erase(0, output.size() - 4096);  // the tail is what matters
  }
  ::close(fds[0]);
  if (rc != 0)
    throw InputError("report --plot: cannot run " + printable(python) + ": " + std::strerror(rc) +
                     " (set PAGEQUERY_PYTHON to a python3 with h5py and matplotlib)");
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw InputError(std::string("report --plot: waitpid: ") + std::strerror(errno));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  if (WIFEXITED(status) && WEXITSTATUS(status) == kPlotMissingModules)
    throw InputError("report --plot: " + printable(python) +
                     " cannot import h5py and matplotlib (install python3-h5py python3-matplotlib, "
                     "or set PAGEQUERY_PYTHON)");
  throw InputError("report --plot: " + script + " failed (" +
                   (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                      : "signal " + std::to_string(WTERMSIG(status))) +
                   "): " + printable(last_line(output)));
}

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
  if (runs.empty()) throw InputError(printable(args.file) + ": no runs in /runs");
  std::string id = runs.back();  // the latest
  if (args.run) {
    if (std::find(runs.begin(), runs.end(), *args.run) == runs.end()) {
      std::string known;
      const std::size_t from = runs.size() > 5 ? runs.size() - 5 : 0;
      for (std::size_t i = from; i < runs.size(); ++i) known += (known.empty() ? "" : ", ") + runs[i];
      throw InputError(printable(args.file) + ": no run '" + one_line(*args.run) + "' (" +
                       (from ? "latest runs: " : "runs: ") + printable(known) + ")");
    }
    id = *args.run;
  }
  const RunRecord run = read_run(args.file, id, false);
  if (args.csv) CsvPrinter(std::cout).print_run(run);
  else MarkdownPrinter(std::cout).print_run(run);
  flush_stdout("report");
  if (args.plot) {
    run_plot(args.file, run.id, *args.plot);
    std::cerr << "pagequery report: plot written to " << printable(*args.plot) << "\n";
  }
}

// The reading runs in a child process (apps/crash_guard.hpp): HDF5 1.10 can crash
// on a damaged file, and that must be an error, never a signal or a success.
void run_report(const ReportArgs& args) {
  if (args.plot) check_plot_target(*args.plot);
  run_guarded(args.file, [&] { report_runs(args); });
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
      "Exit codes: 0 ok, 2 a missing file, a non-HDF5 or non-regular file, an HDF5 file without /runs,\n"
      "a damaged file (sizes it cannot hold, or one that crashes the HDF5 library: the file is read in a\n"
      "child process), an unknown run id, a failed plot, or a failed write to stdout (one line on stderr).\n");
  cmd->callback([args] { run_report(*args); });
}

}  // namespace pagequery::apps
