#include "bench/results/replace_file.hpp"

#include "bench/results/hdf5.hpp"
#include "core/printable.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace pagequery::bench::results {

namespace fs = std::filesystem;

namespace {

// Makes a rename in `dir` durable (file systems that cannot fsync a directory are fine).
void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(dir.string(), std::string("cannot open for fsync: ") + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL && err != EROFS) fail(dir.string(), std::string("fsync failed: ") + std::strerror(err));
}

}  // namespace

fs::path target_of(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_symlink(p, ec)) {
    const fs::path resolved = fs::weakly_canonical(p, ec);
    if (!ec) return resolved;
  }
  return p;
}

fs::path directory_of(const fs::path& target) {
  return target.parent_path().empty() ? fs::path(".") : target.parent_path();
}

fs::path sibling(const fs::path& target, const std::string& suffix) {
  return target.parent_path() / ("." + target.filename().string() + suffix);
}

DirLock::DirLock(fs::path lock_path) : path_(std::move(lock_path)) {
  for (;;) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ < 0) fail(path_.string(), std::string("cannot create the lock file: ") + std::strerror(errno));
    int rc;
    while ((rc = ::flock(fd_, LOCK_EX)) != 0 && errno == EINTR) {
    }
    if (rc != 0 || is_at_path()) return;  // no lock support: go on unlocked
    ::close(fd_);
  }
}

DirLock::~DirLock() {
  ::unlink(path_.c_str());  // under the lock: waiters then find another file
  ::close(fd_);             // closing releases the lock
}

bool DirLock::is_at_path() const {
  struct stat held, named;
  return ::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
         held.st_ino == named.st_ino;
}

TempFile::~TempFile() {
  if (!keep) {
    std::error_code ec;
    fs::remove(path, ec);
  }
}

void write_new_file(const fs::path& p, const std::vector<char>& bytes, mode_t mode, const std::string& path) {
  const auto failed = [&](int err) { fail(path, "cannot write " + printable(p.string()) + ": " + std::strerror(err)); };
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) failed(errno);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      ::close(fd);
      failed(err);
    }
    done += static_cast<std::size_t>(n);
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  if (::close(fd) != 0 || rc != 0) failed(rc ? err : errno);
}

void replace(const fs::path& from, const fs::path& to, const std::string& path) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    fail(path, std::string("cannot replace the file: ") + std::strerror(errno));
  fsync_dir(directory_of(to));
}

}  // namespace pagequery::bench::results
