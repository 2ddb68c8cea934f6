// The read floor's streaming read: every word of the matrix exactly once.
#include "core_test_support.hpp"
#include "pagequery/core/read_floor.hpp"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::uint64_t host_xor(const std::vector<std::uint8_t>& bytes) {
  std::uint64_t x = 0;
  for (std::size_t i = 0; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    x ^= w;
  }
  return x;
}

template <class ExecSpace>
class ReadFloor : public ::testing::Test {};
TYPED_TEST_SUITE(ReadFloor, pqtest::ExecSpaces, pqtest::ExecSpaceNames);

TYPED_TEST(ReadFloor, XorsEveryWordOnce) {
  const TypeParam exec;
  for (std::uint64_t n : {1, 7, 300}) {
    const std::vector<std::uint8_t> bytes = pqtest::random_bytes(n * pqtest::kPageBytes, 40 + n);
    const auto m = pqtest::matrix_from_bytes(exec, bytes, 0, n);
    EXPECT_EQ(pagequery::read_all_words(exec, m), host_xor(bytes)) << n;
    // One flipped bit anywhere changes the result.
    std::vector<std::uint8_t> flipped = bytes;
    flipped[bytes.size() - 1 - n] ^= 0x10;
    EXPECT_NE(pagequery::read_all_words(exec, pqtest::matrix_from_bytes(exec, flipped, 0, n)), host_xor(bytes)) << n;
  }
}

}  // namespace

namespace {

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// The largest listed cache of CPU 0, in Linux's units; 64 MiB when there is none.
TEST(LastLevelCache, LargestCacheOfCpu0) {
  const std::filesystem::path root = std::filesystem::temp_directory_path() / "pq_llc_test";
  std::filesystem::remove_all(root);
  EXPECT_EQ(pagequery::host_last_level_cache_bytes(root.string()), std::uint64_t{64} << 20);
  const std::filesystem::path cache = root / "sys/devices/system/cpu/cpu0/cache";
  write_file(cache / "index0/size", "32K\n");
  write_file(cache / "index1/size", "32K\n");
  write_file(cache / "index2/size", "512K\n");
  EXPECT_EQ(pagequery::host_last_level_cache_bytes(root.string()), std::uint64_t{512} << 10);
  write_file(cache / "index3/size", "16M\n");
  EXPECT_EQ(pagequery::host_last_level_cache_bytes(root.string()), std::uint64_t{16} << 20);
  std::filesystem::remove_all(root);
}

}  // namespace
