// host_memory_available() on fake /proc and cgroup trees: the cgroup limit of the
// process and of its ancestors bounds what MemAvailable says, on v2 and v1.
#include "pagequery/core/memory_budget.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace pagequery {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;
constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

class FakeRoot {
 public:
  explicit FakeRoot(const std::string& name) : root_(fs::path(testing::TempDir()) / ("pq_mem_" + name)) {
    fs::remove_all(root_);
    fs::create_directories(root_ / "proc/self");
    meminfo(20 * kGiB);
  }
  ~FakeRoot() { fs::remove_all(root_); }
  void write(const std::string& path, const std::string& text) const {
    const fs::path p = root_ / fs::path(path).relative_path();
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  void meminfo(std::uint64_t available) const {
    write("/proc/meminfo", "MemTotal:       25000000 kB\nMemFree:         1000 kB\nMemAvailable:   " +
                               std::to_string(available / 1024) + " kB\n");
  }
  std::string path() const { return root_.string(); }

 private:
  fs::path root_;
};

const char* const kV2Mount = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n";
const char* const kV1Mount = "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n";

TEST(MemoryBudget, MemAvailableWithoutCgroups) {
  FakeRoot r("none");
  EXPECT_EQ(host_memory_available(r.path()), 20 * kGiB);
}

TEST(MemoryBudget, CgroupV2LimitBoundsMemAvailable) {
  FakeRoot r("v2");
  r.write("/proc/self/mountinfo", kV2Mount);
  r.write("/proc/self/cgroup", "0::/slurm/job42\n");
  r.write("/sys/fs/cgroup/slurm/job42/memory.max", std::to_string(2 * kGiB) + "\n");
  r.write("/sys/fs/cgroup/slurm/job42/memory.current", std::to_string(kGiB / 2) + "\n");
  r.write("/sys/fs/cgroup/slurm/job42/memory.stat", "anon 100\ninactive_file " + std::to_string(kGiB / 4) + "\n");
  // 2 GiB - (0.5 GiB used - 0.25 GiB of reclaimable file cache)
  EXPECT_EQ(host_memory_available(r.path()), 2 * kGiB - kGiB / 4);
  // The 3 GiB matrix of the issue does not fit, a 1 GiB one does.
  EXPECT_FALSE(fits_in(3 * kGiB, host_memory_available(r.path())));
  EXPECT_TRUE(fits_in(kGiB, host_memory_available(r.path())));
}

TEST(MemoryBudget, ActiveFileCacheIsReclaimable) {
  // The third run of a command in a 900 MiB cgroup was refused: its matrix file's own
  // page cache had become active_file and counted as used.
  FakeRoot r("v2_active");
  r.write("/proc/self/mountinfo", kV2Mount);
  r.write("/proc/self/cgroup", "0::/job\n");
  r.write("/sys/fs/cgroup/job/memory.max", std::to_string(900 * kMiB) + "\n");
  r.write("/sys/fs/cgroup/job/memory.current", std::to_string(800 * kMiB) + "\n");
  r.write("/sys/fs/cgroup/job/memory.stat", "anon " + std::to_string(100 * kMiB) + "\nactive_file " +
                                                std::to_string(600 * kMiB) + "\ninactive_file " +
                                                std::to_string(100 * kMiB) + "\n");
  EXPECT_EQ(host_memory_available(r.path()), 800 * kMiB);
  FakeRoot v1("v1_active");
  v1.write("/proc/self/mountinfo", kV1Mount);
  v1.write("/proc/self/cgroup", "4:memory:/job\n");
  v1.write("/sys/fs/cgroup/memory/job/memory.limit_in_bytes", std::to_string(900 * kMiB) + "\n");
  v1.write("/sys/fs/cgroup/memory/job/memory.usage_in_bytes", std::to_string(800 * kMiB) + "\n");
  v1.write("/sys/fs/cgroup/memory/job/memory.stat", "total_active_file " + std::to_string(600 * kMiB) +
                                                        "\ntotal_inactive_file " + std::to_string(100 * kMiB) + "\n");
  EXPECT_EQ(host_memory_available(v1.path()), 800 * kMiB);
}

TEST(MemoryBudget, CgroupV2AncestorLimitCounts) {
  FakeRoot r("v2_parent");
  r.write("/proc/self/mountinfo", kV2Mount);
  r.write("/proc/self/cgroup", "0::/user/job/step\n");
  r.write("/sys/fs/cgroup/user/job/step/memory.max", "max\n");                     // no limit here ...
  r.write("/sys/fs/cgroup/user/job/memory.max", std::to_string(3 * kGiB) + "\n");  // ... but on the job
  r.write("/sys/fs/cgroup/user/job/memory.current", std::to_string(kGiB) + "\n");
  EXPECT_EQ(host_memory_available(r.path()), 2 * kGiB);
}

TEST(MemoryBudget, CgroupV2MountOfASubtree) {
  // A container sees its own cgroup as the mount's root.
  FakeRoot r("v2_ns");
  r.write("/proc/self/mountinfo", "30 23 0:26 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
  r.write("/proc/self/cgroup", "0::/docker/abc\n");
  r.write("/sys/fs/cgroup/memory.max", std::to_string(kGiB) + "\n");
  r.write("/sys/fs/cgroup/memory.current", "0\n");
  EXPECT_EQ(host_memory_available(r.path()), kGiB);
}

TEST(MemoryBudget, CgroupV1Limit) {
  FakeRoot r("v1");
  r.write("/proc/self/mountinfo", kV1Mount);
  r.write("/proc/self/cgroup", "4:memory:/process_api/x\n3:cpuset:/\n");
  r.write("/sys/fs/cgroup/memory/process_api/x/memory.limit_in_bytes", std::to_string(2 * kGiB) + "\n");
  r.write("/sys/fs/cgroup/memory/process_api/x/memory.usage_in_bytes", std::to_string(kGiB) + "\n");
  r.write("/sys/fs/cgroup/memory/process_api/x/memory.stat", "cache 5\ntotal_inactive_file 0\n");
  // v1's "no limit" on the parents is a huge number, not a limit.
  r.write("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
  EXPECT_EQ(host_memory_available(r.path()), kGiB);
}

TEST(MemoryBudget, UsageAboveTheLimitLeavesNothing) {
  FakeRoot r("over");
  r.write("/proc/self/mountinfo", kV2Mount);
  r.write("/proc/self/cgroup", "0::/a\n");
  r.write("/sys/fs/cgroup/a/memory.max", "1000\n");
  r.write("/sys/fs/cgroup/a/memory.current", "5000\n");
  EXPECT_EQ(host_memory_available(r.path()), 0u);
  EXPECT_FALSE(fits_in(1, 0));
}

TEST(MemoryBudget, Headroom) {
  EXPECT_EQ(memory_headroom(kGiB), std::uint64_t{256} << 20);  // at least 256 MiB
  EXPECT_EQ(memory_headroom(100 * kGiB), 5 * kGiB);            // 5 % above 5 GiB
  EXPECT_TRUE(fits_in(kGiB - (256u << 20), kGiB));
  EXPECT_FALSE(fits_in(kGiB - (256u << 20) + 1, kGiB));
}

TEST(MemoryBudget, ThisProcessHasSomeMemory) { EXPECT_GT(host_memory_available(), 0u); }

}  // namespace
}  // namespace pagequery
