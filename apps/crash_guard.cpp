#include "apps/crash_guard.hpp"

#include "service/errors.hpp"
#include "pagequery/core/printable.hpp"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace pagequery::apps {

using service::CheckFailed;
using service::StoreError;

namespace {

// A memory file: the child writes into it, the parent reads it after waitpid (no
// pipe to drain while the child runs, so no deadlock whatever the child writes).
class MemoryFile {
 public:
  explicit MemoryFile(const char* name) : fd_(::memfd_create(name, MFD_CLOEXEC)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "memfd_create");
  }
  ~MemoryFile() { ::close(fd_); }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  int fd() const { return fd_; }
  std::string text() const {
    std::string out;
    char buf[4096];
    for (off_t at = 0;;) {
      const ssize_t n = ::pread(fd_, buf, sizeof buf, at);
      if (n <= 0) return out;
      out.append(buf, static_cast<std::size_t>(n));
      at += n;
    }
  }

 private:
  int fd_;
};

void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

// The child's end: its stderr goes to `log`, the message of a failure to `message`,
// then _exit (the parent's atexit handlers and buffers are not the child's to run).
[[noreturn]] void run_child(const MemoryFile& message, const MemoryFile& log, const std::function<void()>& work) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the parent
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);  // a damaged file is reported, not dumped
  ::dup2(log.fd(), STDERR_FILENO);
  try {
    work();
    std::cout.flush();
    std::fflush(stdout);
  } catch (const CheckFailed& e) {  // a result, not a damaged file: exit 1 in the parent too
    write_all(message.fd(), e.what());
    ::_exit(1);
  } catch (const std::exception& e) {
    write_all(message.fd(), e.what());
    ::_exit(2);
  } catch (...) {
    write_all(message.fd(), "unknown error");
    ::_exit(2);
  }
  ::_exit(0);
}

}  // namespace

void run_guarded(const std::string& file, const std::function<void()>& work) {
  std::cout.flush();
  std::fflush(stdout);
  std::fflush(stderr);
  const MemoryFile message("pagequery-guard-message"), log("pagequery-guard-stderr");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "cannot fork");
  if (pid == 0) run_child(message, log, work);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    write_all(STDERR_FILENO, log.text());  // notes of a success ("plot written to ...")
    return;
  }
  if (const std::string text = message.text(); WIFEXITED(status) && !text.empty()) {
    if (WEXITSTATUS(status) == 1) throw CheckFailed(text);
    if (WEXITSTATUS(status) == 2) throw StoreError(text);
  }
  // A signal, or a sanitizer's exit code: the library failed on the file (what it
  // printed stays in the log: one line here).
  if (WIFEXITED(status))
    throw StoreError(printable(file) + ": reading it failed inside the HDF5 library (exit " +
                     std::to_string(WEXITSTATUS(status)) + "): the file is damaged");
  const int sig = WTERMSIG(status);
  const char* abbrev = sigabbrev_np(sig);
  const std::string name = abbrev ? "SIG" + std::string(abbrev) : "signal " + std::to_string(sig);
  const bool crash = sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT || sig == SIGFPE || sig == SIGILL;
  throw StoreError(printable(file) + (crash
                                          ? ": reading it crashed the HDF5 library (" + name + "): the file is damaged"
                                          : ": its reader was killed by " + name));
}

}  // namespace pagequery::apps
