#include "apps/io_limits.hpp"

#include "apps/commands.hpp"
#include "pagequery/core/printable.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

namespace pagequery::apps {

namespace {

class Fd {
 public:
  explicit Fd(int fd, bool owned) : fd_(fd), owned_(owned) {}
  ~Fd() {
    if (owned_ && fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
  bool owned_;
};

}  // namespace

std::string read_limited(const std::string& path, std::uint64_t limit, const std::string& what,
                         const std::string& flag) {
  const bool is_stdin = path == "-";
  const std::string source = is_stdin ? std::string("stdin") : quote(path);
  const Fd fd(is_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC), !is_stdin);
  if (fd.get() < 0) throw InputError(what + ": cannot open " + source + ": " + std::strerror(errno));
  const auto too_large = [&] {
    return InputError(what + ": " + source + " holds more than " + std::to_string(limit) + " bytes (" + flag +
                      " raises the limit)");
  };
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) > limit)
    throw too_large();
  std::string text;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n == 0) return text;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw InputError(what + ": cannot read " + source + ": " + std::strerror(errno));
    }
    if (text.size() + static_cast<std::uint64_t>(n) > limit) throw too_large();
    text.append(buf, static_cast<std::size_t>(n));
  }
}

// errno is read right after the failed write it explains (nothing else runs between).
void flush_stdout(const std::string& command) {
  std::cout.flush();
  if (!std::cout) {
    const int err = errno;
    throw StoreError(command + ": cannot write to stdout" + (err ? std::string(": ") + std::strerror(err) : ""));
  }
}

}  // namespace pagequery::apps
