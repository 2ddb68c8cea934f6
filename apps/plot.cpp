#include "apps/plot.hpp"

#include "apps/commands.hpp"
#include "pagequery/core/printable.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <vector>

#ifndef PAGEQUERY_PLOT_SCRIPT
#define PAGEQUERY_PLOT_SCRIPT ""
#endif

extern char** environ;

namespace pagequery::apps {

namespace {

namespace fs = std::filesystem;

// Exit code of plot_qps.py when h5py or matplotlib cannot be imported.
constexpr int kPlotMissingModules = 3;
// The last line plot_qps.py prints, before the path it wrote.
constexpr std::string_view kWroteLine = "plot_qps.py: wrote ";

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
  throw InputError("report --plot: plot_qps.py not found (looked in <bin>/../share/pagequery and " + built.string() +
                   ")");
}

// The last non-empty line of a child's output (a Python traceback ends with the error).
std::string last_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  const auto start = text.find_last_of('\n');
  return std::string(start == std::string_view::npos ? text : text.substr(start + 1));
}

// A child's exit status and what it wrote to stdout and stderr (the tail of it).
struct ChildResult {
  int rc = 0;  // posix_spawnp's error (0: it ran)
  int status = 0;
  std::string output;
};

// Runs argv[0] (found on PATH) with stdout and stderr into one pipe, and waits for it.
ChildResult run_collecting(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw InputError(std::string("report --plot: pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  pid_t pid = 0;
  ChildResult child;
  child.rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  char buf[4096];
  for (ssize_t n; child.rc == 0 && (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    child.output.append(buf, static_cast<std::size_t>(n));
    if (child.output.size() > 65536) child.output.erase(0, child.output.size() - 4096);  // the tail is what matters
  }
  ::close(fds[0]);
  while (child.rc == 0 && waitpid(pid, &child.status, 0) < 0)
    if (errno != EINTR) throw InputError(std::string("report --plot: waitpid: ") + std::strerror(errno));
  return child;
}

}  // namespace

// Runs plot_qps.py with its stdout and stderr collected: a failure becomes one line
// (the script's last), and on success whatever it printed is dropped.
void run_plot(const std::vector<std::pair<std::string, std::string>>& runs, const std::string& out) {
  const std::string script = plot_script();
  const char* python_env = std::getenv("PAGEQUERY_PYTHON");
  const std::string python = python_env && *python_env ? python_env : "python3";
  std::vector<std::string> args{python, script, runs.front().first, runs.front().second, out};
  for (std::size_t i = 1; i < runs.size(); ++i) args.insert(args.end(), {runs[i].first, runs[i].second});
  const ChildResult child = run_collecting(std::move(args));
  if (child.rc != 0)
    throw InputError("report --plot: cannot run " + printable(python) + ": " + std::strerror(child.rc) +
                     " (set PAGEQUERY_PYTHON to a python3 with h5py and matplotlib)");
  const int status = child.status;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    // Exit 0 is not enough: an interpreter that does nothing exits 0 too.
    std::error_code ec;
    if (last_line(child.output) != std::string(kWroteLine) + out || !fs::is_regular_file(out, ec) ||
        fs::file_size(out, ec) == 0)
      throw InputError("report --plot: " + printable(python) + " " + script + " exited 0 but wrote no plot to " +
                       quote(out));
    return;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == kPlotMissingModules)
    throw InputError("report --plot: " + printable(python) +
                     " cannot import h5py and matplotlib (install python3-h5py python3-matplotlib, "
                     "or set PAGEQUERY_PYTHON)");
  throw InputError("report --plot: " + script + " failed (" +
                   (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                      : "signal " + std::to_string(WTERMSIG(status))) +
                   "): " + printable(last_line(child.output)));
}

void check_plot_target(const std::string& out) {
  if (out.empty()) throw InputError("report --plot: the path is empty");
  std::error_code ec;
  const fs::path path(out);
  if (fs::is_directory(path, ec)) throw InputError("report --plot: " + quote(out) + " is a directory");
  if (fs::exists(path, ec) && !fs::is_regular_file(path, ec))  // /dev/full, a FIFO: no PNG lands there
    throw InputError("report --plot: " + quote(out) + " is not a regular file");
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  if (!fs::is_directory(dir, ec))
    throw InputError("report --plot: the directory " + quote(dir.string()) + " does not exist");
}

}  // namespace pagequery::apps
