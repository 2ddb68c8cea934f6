// The command line's numbers and lists, and numbers as printed (service/text.hpp).
#include "service/text.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace pagequery::service {
namespace {

TEST(ParseU64, AcceptsWholeDecimals) {
  EXPECT_EQ(parse_u64("0", "--x"), 0u);
  EXPECT_EQ(parse_u64("42", "--x"), 42u);
  EXPECT_EQ(parse_u64("18446744073709551615", "--x"), std::numeric_limits<std::uint64_t>::max());
}

TEST(ParseU64, RefusesEverythingElseNamingTheSource) {
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1.5", "0x10", "18446744073709551616", "x"}) {
    try {
      parse_u64(bad, "--index");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const FormatError& e) {
      EXPECT_EQ(std::string(e.what()),
                std::string("--index must be an unsigned decimal integer below 2^64, got '") + bad + "'");
    }
  }
}

TEST(OneLine, ReplacesControlCharacters) {
  EXPECT_EQ(one_line("a\nb\r\tc"), "a\\nb\\r\\tc");
  EXPECT_EQ(one_line(std::string("x\x1b\x7f\0y", 5)), "x\\x1b\\x7f\\x00y");
  EXPECT_EQ(one_line("plain"), "plain");
  EXPECT_EQ(one_line("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");  // UTF-8 stays
  EXPECT_EQ(one_line("a\xff\xc3"
                     "b\xed\xa0\x80"),
            "a\\xff\\xc3"
            "b\\xed\\xa0\\x80");  // the rest is escaped
}

TEST(ParseFinite, TakesWholeFiniteNumbers) {
  EXPECT_EQ(parse_finite("64.2"), 64.2);
  EXPECT_EQ(parse_finite("0"), 0.0);
  EXPECT_EQ(parse_finite("-3"), -3.0);
  EXPECT_EQ(parse_finite("2e3"), 2000.0);
  for (const char* bad : {"", "x", "1.5x", "inf", "-inf", "nan", "1e999", "1,5"})
    EXPECT_FALSE(parse_finite(bad).has_value()) << "'" << bad << "'";
}

TEST(Lists, SplitTrimsAndRefusesEmptyItems) {
  EXPECT_EQ(split_list(" a, b ,c", "--x"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_THROW(split_list("a,,b", "--x"), std::invalid_argument);
  EXPECT_THROW(split_list("", "--x"), std::invalid_argument);
}

TEST(Lists, IntegersInRangeOnce) {
  EXPECT_EQ(parse_int_list("1,2,32", "--q", 1, 32), (std::vector<int>{1, 2, 32}));
  try {
    parse_int_list("1,33", "--q", 1, 32);
    ADD_FAILURE() << "accepted 33";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "--q: each value must be an integer in 1..32, got '33'");
  }
  EXPECT_THROW(parse_int_list("2,2", "--q", 1, 32), std::invalid_argument);
  EXPECT_THROW(parse_int_list("1.5", "--q", 1, 32), std::invalid_argument);
}

TEST(Numbers, PrintedAsTheReportsShowThem) {
  EXPECT_EQ(number(0.1), "0.1");
  EXPECT_EQ(number(std::nan("")), "nan");
  EXPECT_EQ(fixed(30.14159, 2), "30.14");
  EXPECT_EQ(human_bytes(16u << 20), "16.00 MiB");
  EXPECT_EQ(human_bytes(1000), "1000 B");
}

}  // namespace
}  // namespace pagequery::service
