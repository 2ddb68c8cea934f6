#include "pagequery/core/memory_budget.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace pagequery {

namespace {

// cgroup v1 writes "no limit" as a page-rounded 2^63 - 1.
constexpr std::uint64_t kNoLimit = std::uint64_t{1} << 60;

std::optional<std::uint64_t> number(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> read_number(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  return number(text);
}

// The value of `key` in a "key value" file (memory.stat, /proc/meminfo "Key: v kB").
std::optional<std::uint64_t> read_field(const std::string& path, std::string_view key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string name;
    std::uint64_t value = 0;
    if (fields >> name >> value && (name == key || (name.ends_with(':') && name.substr(0, name.size() - 1) == key)))
      return value;
  }
  return std::nullopt;
}

struct Hierarchy {
  bool v2;
  std::string leaf;  // this process's cgroup directory
  std::string top;   // the hierarchy's mount point
};

// Mount points of the memory hierarchies (v2, v1) with their roots.
struct Mount {
  std::string root, point;
};
void find_mounts(const std::string& root, std::optional<Mount>& v2, std::optional<Mount>& v1) {
  std::ifstream in(root + "/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string id, parent, dev, mroot, point, word;
    if (!(f >> id >> parent >> dev >> mroot >> point)) continue;
    while (f >> word && word != "-") {
    }
    std::string type, source, options;
    if (!(f >> type >> source >> options)) continue;
    if (type == "cgroup2" && !v2) v2 = Mount{mroot, point};
    if (type == "cgroup" && !v1 && ("," + options + ",").find(",memory,") != std::string::npos)
      v1 = Mount{mroot, point};
  }
}

std::vector<Hierarchy> hierarchies(const std::string& root) {
  std::optional<Mount> v2_mount, v1_mount;
  find_mounts(root, v2_mount, v1_mount);
  std::vector<Hierarchy> out;
  std::ifstream in(root + "/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    const auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    const bool v2 = line.substr(0, a) == "0" && controllers.empty();
    const bool v1 = ("," + controllers + ",").find(",memory,") != std::string::npos;
    const std::optional<Mount>& mount = v2 ? v2_mount : v1_mount;
    if (!(v2 || v1) || !mount) continue;
    // The path is relative to the hierarchy's root; a mount of a sub-tree (a
    // container's) starts below it.
    if (mount->root != "/" && path.starts_with(mount->root)) path = path.substr(mount->root.size());
    out.push_back({v2, root + mount->point + (path == "/" ? "" : path), root + mount->point});
  }
  return out;
}

// What one cgroup directory still allows, or nullopt without a limit there.
std::optional<std::uint64_t> cgroup_room(const std::string& dir, bool v2) {
  const auto limit = read_number(dir + (v2 ? "/memory.max" : "/memory.limit_in_bytes"));
  if (!limit || *limit >= kNoLimit) return std::nullopt;  // v2 writes "max": not a number
  const std::uint64_t usage = read_number(dir + (v2 ? "/memory.current" : "/memory.usage_in_bytes")).value_or(0);
  // File cache is reclaimed under the limit, the active list too (it is aged into
  // the inactive one): counting active_file as used refused the third run of the
  // same command, whose matrix file's own cache had become active.
  const std::string stat = dir + "/memory.stat";
  const std::uint64_t cache = read_field(stat, v2 ? "active_file" : "total_active_file").value_or(0) +
                              read_field(stat, v2 ? "inactive_file" : "total_inactive_file").value_or(0);
  const std::uint64_t used = usage > cache ? usage - cache : 0;
  return used < *limit ? *limit - used : 0;
}

}  // namespace

std::uint64_t host_memory_available(const std::string& root) {
  // MemAvailable counts reclaimable page cache (a re-read file), MemFree does not.
  std::uint64_t available = read_field(root + "/proc/meminfo", "MemAvailable").value_or(0) * 1024;
  if (available == 0 && root.empty())
    available =
        static_cast<std::uint64_t>(sysconf(_SC_AVPHYS_PAGES)) * static_cast<std::uint64_t>(sysconf(_SC_PAGE_SIZE));
  for (const Hierarchy& h : hierarchies(root)) {
    for (std::string dir = h.leaf;; dir = dir.substr(0, dir.rfind('/'))) {
      if (const auto room = cgroup_room(dir, h.v2)) available = std::min(available, *room);
      if (dir.size() <= h.top.size() || dir.rfind('/') == std::string::npos) break;
    }
  }
  return available;
}

std::uint64_t memory_headroom(std::uint64_t available) {
  return std::max<std::uint64_t>(std::uint64_t{256} << 20, available / 20);
}

}  // namespace pagequery
