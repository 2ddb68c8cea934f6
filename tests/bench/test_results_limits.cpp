// Reads of a results file are bounded by the memory actually available, an
// address-space limit (RLIMIT_AS) included (issue 26), and CSV stays one line of
// valid text per row.
#include "bench/csv_printer.hpp"
#include "bench/results/read_limits.hpp"
#include "service/errors.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <fstream>
#include <string>

namespace pagequery::bench {

using namespace service;
namespace {

std::uint64_t vm_size_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmSize:", 0) == 0) return std::stoull(line.substr(7)) * 1024;
  return 0;
}

// Lowers the soft RLIMIT_AS for the scope of a test.
class AddressSpaceLimit {
 public:
  explicit AddressSpaceLimit(std::uint64_t bytes) {
    ::getrlimit(RLIMIT_AS, &saved_);
    rlimit lowered = saved_;
    lowered.rlim_cur = bytes;
    ok_ = (saved_.rlim_max == RLIM_INFINITY || bytes <= saved_.rlim_max) && ::setrlimit(RLIMIT_AS, &lowered) == 0;
  }
  ~AddressSpaceLimit() { ::setrlimit(RLIMIT_AS, &saved_); }
  bool ok() const { return ok_; }

 private:
  rlimit saved_{};
  bool ok_ = false;
};

TEST(ResultsLimits, MemoryForReadingHonoursAddressSpaceLimit) {
  const std::uint64_t room = std::uint64_t{1} << 30;
  std::uint64_t bound = 0;
  {
    AddressSpaceLimit limit(vm_size_bytes() + room);
    ASSERT_TRUE(limit.ok());
    bound = results::memory_for_reading();
    EXPECT_THROW(results::check_in_memory("f.h5", "dataset cells", 8'400'000, 256), StoreError);
    EXPECT_NO_THROW(results::check_in_memory("f.h5", "dataset cells", 1000, 256));
  }
  EXPECT_LE(bound, room);
  EXPECT_GT(bound, room / 2);
}

TEST(ResultsLimits, InMemoryCheckNeverOverflows) {
  EXPECT_THROW(results::check_in_memory("f.h5", "attribute a", std::uint64_t{1} << 62, 1024), StoreError);
  EXPECT_NO_THROW(results::check_in_memory("f.h5", "attribute a", std::uint64_t{1} << 62, 0));
}

TEST(ResultsLimits, CsvFieldsAreEscapedText) {
  EXPECT_EQ(csv_field("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(csv_field("bad\xff utf8, \"quoted\""), "\"bad\\xff utf8, \"\"quoted\"\"\"");
  EXPECT_EQ(csv_field("caf\xc3\xa9"), "caf\xc3\xa9");
}

}  // namespace
}  // namespace pagequery::bench
