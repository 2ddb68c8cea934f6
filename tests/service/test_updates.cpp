// The synthetic update sets (service/updates.hpp) that `updates --synthetic` writes
// and the sweep's --update-pages stages.
#include "service/errors.hpp"
#include "service/updates.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <vector>

namespace pagequery::service {
namespace {

struct Set {
  std::vector<std::uint64_t> pages;
  std::vector<std::vector<std::uint8_t>> bytes;
};

Set next_set(SyntheticUpdates& source, std::uint64_t count) {
  Set out;
  source.next_set(count, [&](std::uint64_t page, std::span<const std::uint8_t> bytes) {
    out.pages.push_back(page);
    out.bytes.emplace_back(bytes.begin(), bytes.end());
  });
  return out;
}

TEST(SyntheticUpdates, ASetHoldsDistinctPagesOfTheMatrixAndASeedRepeatsIt) {
  SyntheticUpdates a(1000, kPageBytes, 1.0, 7), b(1000, kPageBytes, 1.0, 7);
  const Set first = next_set(a, 1000), again = next_set(b, 1000);
  EXPECT_EQ(first.pages, again.pages);
  EXPECT_EQ(first.bytes, again.bytes);
  const std::set<std::uint64_t> distinct(first.pages.begin(), first.pages.end());
  EXPECT_EQ(distinct.size(), 1000u);  // every page once: a set of the whole matrix
  EXPECT_LT(*distinct.rbegin(), 1000u);
  EXPECT_NE(next_set(a, 16).pages, std::vector<std::uint64_t>(first.pages.begin(), first.pages.begin() + 16));
}

TEST(SyntheticUpdates, HotPagesRecurAcrossSetsAndAreNotNeighbours) {
  SyntheticUpdates source(100000, kPageBytes, 1.2, 3);
  std::map<std::uint64_t, int> seen;
  for (int s = 0; s < 50; ++s)
    for (std::uint64_t page : next_set(source, 20).pages) ++seen[page];
  int most = 0;
  std::uint64_t hot = 0;
  for (const auto& [page, n] : seen)
    if (n > most) most = n, hot = page;
  EXPECT_GT(most, 10);  // rank 0 draws ~20 % at s = 1.2; uniform would repeat a page ~never
  EXPECT_FALSE(seen.count(hot + 1) && seen.at(hot + 1) > most / 2);
}

TEST(SyntheticUpdates, BytesPastAShortLastPageStayZero) {
  SyntheticUpdates source(3, 1000, 0.0, 1);
  const Set set = next_set(source, 3);
  for (std::size_t i = 0; i < set.pages.size(); ++i) {
    const auto& bytes = set.bytes[i];
    ASSERT_EQ(bytes.size(), std::size_t(kPageBytes));
    const auto zero = [](std::uint8_t b) { return b == 0; };
    EXPECT_EQ(std::all_of(bytes.begin() + 1000, bytes.end(), zero), set.pages[i] == 2) << set.pages[i];
    EXPECT_FALSE(std::all_of(bytes.begin(), bytes.begin() + 1000, zero));
  }
}

TEST(SyntheticUpdates, AFileIsItsBlocksOfRecords) {
  std::ostringstream out;
  const SyntheticUpdateFile spec{10, kPageBytes, 2, 4, 1.0, 5};
  EXPECT_EQ(write_synthetic_updates(spec, out), 8u);
  EXPECT_EQ(out.str().size(), 8 * kUpdateRecordBytes);
  SyntheticUpdates source(10, kPageBytes, 1.0, 5);
  const Set block = next_set(source, 4);
  EXPECT_EQ(static_cast<unsigned char>(out.str()[0]), block.pages[0]);  // the first record's index, little-endian
  EXPECT_EQ(out.str().compare(8, kPageBytes, std::string(block.bytes[0].begin(), block.bytes[0].end())), 0);
  std::ostringstream none;
  EXPECT_THROW(write_synthetic_updates({10, kPageBytes, 1, 11, 1.0, 5}, none), InputError);
}

}  // namespace
}  // namespace pagequery::service
