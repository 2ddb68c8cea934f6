// The standard streams before main(). Three things happen before the first line
// of main() that would break the CLI's contract (one line on stderr, stdout the
// command's output alone):
// - a closed stdout or stderr is the lowest free descriptor, so the next file
//   opened (a results file, the matrix) takes its number and receives what is
//   written to the stream;
// - libgomp checks the OMP_* / GOMP_* variables in its constructor and prints a
//   warning (two lines) for an invalid one, then ignores the value;
// - a library's constructor (LD_PRELOAD, a tool) may print on stdout.
// So from the moment the executable starts (its .preinit_array runs before any
// shared library's constructor) a closed descriptor is held by /dev/null, and
// stdout and stderr point at a memory file until the executable's own
// constructors run (after every library's). Then libgomp's warnings are noted
// for the runtime check (policies/runtime_env.hpp), and whatever else
// was written passes on to stderr unchanged.
#include "apps/early_streams.hpp"
#include "pagequery/policies/runtime_env.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

namespace {

bool g_stdout_closed = false;
int g_stdout = -1;   // the real stdout while the libraries load
int g_stderr = -1;   // the real stderr
int g_capture = -1;  // the memory file that stands in for both

// /dev/null in the place of a closed standard descriptor: read-only for stdout,
// so that every write to it fails and the command reports it (main.cpp).
void hold_closed_descriptors() {
  for (const int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
    if (::fcntl(fd, F_GETFD) >= 0) continue;
    if (fd == STDOUT_FILENO) g_stdout_closed = true;
    const int null = ::open("/dev/null", fd == STDERR_FILENO ? O_WRONLY : O_RDONLY);
    if (null >= 0 && null != fd) {  // the lower ones are open: open() took `fd` unless it failed
      ::dup2(null, fd);
      ::close(null);
    }
  }
}

// Points `fd` at `to`; returns a copy of what it was, or -1 (then it is unchanged).
int redirect(int fd, int to) {
  const int saved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (saved >= 0 && ::dup2(to, fd) < 0) {
    ::close(saved);
    return -1;
  }
  return saved;
}

void restore(int fd, int& saved) {
  if (saved < 0) return;
  ::dup2(saved, fd);
  ::close(saved);
  saved = -1;
}

void capture_early_output(int, char**, char**) {
  hold_closed_descriptors();
  g_capture = ::memfd_create("pagequery-early-output", MFD_CLOEXEC);
  if (g_capture < 0) return;
  g_stderr = redirect(STDERR_FILENO, g_capture);
  g_stdout = redirect(STDOUT_FILENO, g_capture);
}

[[gnu::used, gnu::section(".preinit_array")]] void (*const k_capture_early_output)(int, char**,
                                                                                   char**) = capture_early_output;

std::string read_all(int fd) {
  std::string text;
  char buf[4096];
  ::lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  return text;
}

[[gnu::constructor]] void release_early_output() {
  if (g_capture < 0) return;
  std::fflush(stdout);  // what a library printf()ed is still in the buffer: into the capture with it
  restore(STDOUT_FILENO, g_stdout);
  restore(STDERR_FILENO, g_stderr);
  const std::string text = read_all(g_capture);
  ::close(g_capture);
  // Every libgomp line is a warning about the environment (gomp_error prints a
  // blank line, then "libgomp: <message>"), whatever its wording.
  constexpr std::string_view kLibgomp = "libgomp: ";
  std::string passed;
  std::string_view rest(text);
  while (!rest.empty()) {
    const std::size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    if (line.starts_with(kLibgomp)) {
      pagequery::note_openmp_warning(std::string(line.substr(kLibgomp.size())));
      if (passed.ends_with("\n\n") || passed == "\n") passed.pop_back();  // libgomp's blank line before it
      continue;
    }
    passed.append(line).push_back('\n');
  }
  if (passed.find_first_not_of('\n') == std::string::npos) return;
  for (std::string_view out(passed); !out.empty();) {
    const ssize_t n = ::write(STDERR_FILENO, out.data(), out.size());
    if (n <= 0) break;
    out.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

namespace pagequery::apps {

std::string stdout_failure() {
  std::cout.flush();
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  const int err = errno;
  if (flushed && !std::ferror(stdout) && std::cout) return "";
  if (g_stdout_closed) return "it is closed";
  return err ? std::strerror(err) : "a write failed";
}

}  // namespace pagequery::apps
