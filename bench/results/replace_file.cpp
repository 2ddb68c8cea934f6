#include "bench/results/replace_file.hpp"

#include "bench/results/hdf5.hpp"
#include "pagequery/core/printable.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <system_error>
#include <vector>

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

// A process that is not root may give a file it owns only to one of its own groups.
bool in_my_groups(gid_t gid) {
  if (gid == ::getegid()) return true;
  const int n = ::getgroups(0, nullptr);
  std::vector<gid_t> groups(static_cast<std::size_t>(std::max(n, 0)));
  if (n <= 0 || ::getgroups(n, groups.data()) != n) return false;
  return std::find(groups.begin(), groups.end(), gid) != groups.end();
}

// The PID of a temporary sibling ".<name>.<pid>.tmp" of `target`; 0 for any other name.
pid_t temporary_pid(const std::string& file, const fs::path& target) {
  const std::string prefix = "." + target.filename().string() + ".", suffix = ".tmp";
  if (file.size() <= prefix.size() + suffix.size() || !file.starts_with(prefix) || !file.ends_with(suffix)) return 0;
  const std::string digits = file.substr(prefix.size(), file.size() - prefix.size() - suffix.size());
  if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return 0;
  return static_cast<pid_t>(std::stol(digits));
}

}  // namespace

fs::path target_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
  const std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(path.c_str(), nullptr), &std::free);
  if (resolved) return resolved.get();
  if (errno == ELOOP) fail(path, "is a symbolic link loop (refusing to replace it)");
  if (errno == ENOENT) fail(path, "is a dangling symbolic link (refusing to replace it)");
  fail(path, std::string("cannot follow the symbolic link: ") + std::strerror(errno));
}

fs::path directory_of(const fs::path& target) {
  return target.parent_path().empty() ? fs::path(".") : target.parent_path();
}

fs::path sibling(const fs::path& target, const std::string& suffix) {
  return target.parent_path() / ("." + target.filename().string() + suffix);
}

// Read-only (flock needs no more): a dead writer's lock file of another user opens
// too. Never through a symbolic link: O_CREAT would create its target.
DirLock::DirLock(fs::path lock_path) : path_(std::move(lock_path)) {
  for (;;) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd_ < 0) fail(path_.string(), std::string("cannot create the lock file: ") + std::strerror(errno));
    int rc;
    while ((rc = ::flock(fd_, LOCK_EX)) != 0 && errno == EINTR) {
    }
    if (rc != 0) return;  // no lock support: go on unlocked
    if ((held_ = is_at_path())) return;
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

void remove_stale_temporaries(const fs::path& target, const DirLock& lock) {
  if (!lock.held()) return;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(directory_of(target), ec)) {
    const pid_t pid = temporary_pid(e.path().filename().string(), target);
    if (pid > 0 && pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) fs::remove(e.path(), ec);
  }
}

void check_owner_kept(const struct stat& st, const std::string& path) {
  if (::geteuid() == 0 || (st.st_uid == ::geteuid() && in_my_groups(st.st_gid))) return;
  fail(path, "belongs to uid " + std::to_string(st.st_uid) + " gid " + std::to_string(st.st_gid) +
                 "; appending as uid " + std::to_string(::geteuid()) +
                 " would change that (append as its owner, with its group, or as root)");
}

TempFile::~TempFile() {
  if (!keep) {
    std::error_code ec;
    fs::remove(path, ec);
  }
}

void write_new_file(const fs::path& p, const std::vector<char>& bytes, const struct stat* keep,
                    const std::string& path) {
  const auto failed = [&](int err) { fail(path, "cannot write " + printable(p.string()) + ": " + std::strerror(err)); };
  // Private (0600) until it takes the old file's owner, group and mode.
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, keep ? 0600 : 0666);
  if (fd < 0) failed(errno);
  // Owner first: a chown clears the set-user-ID and set-group-ID bits.
  if (keep && (::fchown(fd, keep->st_uid, keep->st_gid) != 0 || ::fchmod(fd, keep->st_mode & 07777) != 0)) {
    const int err = errno;
    ::close(fd);
    fail(path, std::string("cannot give the new copy the file's owner, group and mode: ") + std::strerror(err));
  }
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
