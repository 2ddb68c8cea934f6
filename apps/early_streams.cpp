// libgomp checks the OMP_* / GOMP_* variables in its constructor, before main(),
// and for an invalid one prints a warning (two lines) and ignores the value. To
// make that the CLI's one-line refusal, stderr points at a memory file from the
// moment the executable starts (its .preinit_array runs before any shared
// library's constructor) until the executable's own constructors run (after every
// library's). Then the variables libgomp rejected are noted for the runtime check
// (policies/runtime_env.hpp), and whatever else was written passes on unchanged.
#include "policies/runtime_env.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <fcntl.h>

#include <string>
#include <string_view>

namespace {

int g_stderr = -1;   // the real stderr while the libraries load
int g_capture = -1;  // the memory file that stands in for it

void capture_stderr(int, char**, char**) {
  const int capture = ::memfd_create("pagequery-early-stderr", MFD_CLOEXEC);
  if (capture < 0) return;
  const int saved = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);  // fails when stderr is closed
  if (saved < 0 || ::dup2(capture, STDERR_FILENO) < 0) {
    if (saved >= 0) ::close(saved);
    ::close(capture);
    return;
  }
  g_stderr = saved;
  g_capture = capture;
}

[[gnu::used, gnu::section(".preinit_array")]] void (*const k_capture_stderr)(int, char**, char**) = capture_stderr;

std::string read_all(int fd) {
  std::string text;
  char buf[4096];
  ::lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  return text;
}

[[gnu::constructor]] void release_stderr() {
  if (g_capture < 0) return;
  ::dup2(g_stderr, STDERR_FILENO);
  ::close(g_stderr);
  const std::string text = read_all(g_capture);
  ::close(g_capture);
  constexpr std::string_view kRejected = "libgomp: Invalid value for environment variable ";
  std::string passed;
  std::string_view rest(text);
  while (!rest.empty()) {
    const std::size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    if (line.starts_with(kRejected)) {
      std::string_view name = line.substr(kRejected.size());
      name = name.substr(0, name.find_first_of(" :"));
      pagequery::note_openmp_env_rejected(std::string(name));
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
