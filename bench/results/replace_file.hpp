#pragma once
// The file-system side of a commit: a new image of the results file is written
// to a hidden sibling, fsynced and renamed over the original, under an advisory
// lock on a sibling ".<name>.lock" file. A reader (or a crash, or a full disk)
// sees either the old file or the new one.
#include <sys/stat.h>
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace pagequery::bench::results {

// The file to replace: a symbolic link is followed to its target, so that the link
// survives; a dangling link or a loop is refused (StoreError), never replaced.
std::filesystem::path target_of(const std::string& path);
// The directory of `target` ("." for a bare name).
std::filesystem::path directory_of(const std::filesystem::path& target);
// ".<name><suffix>" beside `target`.
std::filesystem::path sibling(const std::filesystem::path& target, const std::string& suffix);

// An advisory lock on a sibling lock file, held for one commit and removed with
// it, so nothing stays beside the results. A writer that waited may hold the lock
// of a file its predecessor already removed: it locks whatever is at the path
// then. File systems without flock (ENOLCK, EOPNOTSUPP) are written unlocked.
class DirLock {
 public:
  explicit DirLock(std::filesystem::path lock_path);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  // Whether the lock is held (false where the file system has no flock).
  bool held() const { return held_; }

 private:
  bool is_at_path() const;

  std::filesystem::path path_;
  int fd_ = -1;
  bool held_ = false;
};

// Removes the temporary copies ".<name>.<pid>.tmp" beside `target` of writers that
// died mid-commit (kill -9): only under the held lock (no live commit can own one)
// and only for a PID that no longer runs here (PID namespaces, shared file systems).
void remove_stale_temporaries(const std::filesystem::path& target, const DirLock& lock);

// Refuses (StoreError naming `path`) to replace a file of `st` whose owner or group
// this process cannot give its new copy: that needs root, or the owner appending
// with its group among the process's groups.
void check_owner_kept(const struct stat& st, const std::string& path);

// Removes the temporary copy unless it was committed (or the process aborts).
struct TempFile {
  std::filesystem::path path;
  bool keep = false;
  ~TempFile();
};

// Writes `bytes` to the new file `p` and fsyncs it; `keep`: the file it replaces,
// whose owner, group and mode (the umask aside) the new file takes; nullptr: a new
// file (0666 less the umask). Errors (StoreError) name `path`, the file it replaces.
void write_new_file(const std::filesystem::path& p, const std::vector<char>& bytes, const struct stat* keep,
                    const std::string& path);

// Renames `from` over `to` (errors name `path`) and makes the rename durable.
void replace(const std::filesystem::path& from, const std::filesystem::path& to, const std::string& path);

}  // namespace pagequery::bench::results
