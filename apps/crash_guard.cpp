#include "apps/crash_guard.hpp"

#include "apps/commands.hpp"
#include "core/printable.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>

namespace pagequery::apps {

namespace {

// The child's end: the message of a failure goes up the pipe, then _exit (the
// parent's atexit handlers and buffers are not the child's to run).
[[noreturn]] void run_child(int message_fd, const std::function<void()>& work) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the parent
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);  // a damaged file is reported, not dumped
  int code = 0;
  std::string message;
  try {
    work();
    std::cout.flush();
    std::fflush(stdout);
  } catch (const std::exception& e) {
    message = e.what();
    code = 2;
  } catch (...) {
    message = "unknown error";
    code = 2;
  }
  for (std::string_view out(message); !out.empty();) {
    const ssize_t n = ::write(message_fd, out.data(), out.size());
    if (n <= 0) break;
    out.remove_prefix(static_cast<std::size_t>(n));
  }
  ::_exit(code);
}

}  // namespace

void run_guarded(const std::string& file, const std::function<void()>& work) {
  std::cout.flush();
  std::fflush(stdout);
  std::fflush(stderr);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw InputError(std::string("cannot create a pipe: ") + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    throw InputError(std::string("cannot fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    ::close(pipe_fds[0]);
    run_child(pipe_fds[1], work);
  }
  ::close(pipe_fds[1]);
  std::string message;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (message.size() < 65536) message.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw InputError(std::string("waitpid: ") + std::strerror(errno));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  if (WIFEXITED(status)) throw std::runtime_error(message.empty() ? "failed" : message);
  const int sig = WTERMSIG(status);
  const char* abbrev = sigabbrev_np(sig);
  const std::string name = abbrev ? "SIG" + std::string(abbrev) : "signal " + std::to_string(sig);
  const bool crash = sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT || sig == SIGFPE || sig == SIGILL;
  throw std::runtime_error(printable(file) + (crash ? ": reading it crashed the HDF5 library (" + name + "): the file is damaged"
                                            : ": its reader was killed by " + name));
}

}  // namespace pagequery::apps
