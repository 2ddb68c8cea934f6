#include "bench/wire/hex.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

namespace pagequery::bench {
namespace {

using Bytes = std::vector<std::uint8_t>;

TEST(Hex, EncodesLowerCaseWithPrefix) {
  const Bytes bytes{0x00, 0x0f, 0xa5, 0xff};
  EXPECT_EQ(to_hex(bytes), "0x000fa5ff");
  EXPECT_EQ(to_hex(Bytes{}), "0x");
}

TEST(Hex, DecodesWithOrWithoutPrefixInEitherCase) {
  const Bytes expected{0x00, 0x0f, 0xa5, 0xff};
  EXPECT_EQ(from_hex("0x000fa5ff"), expected);
  EXPECT_EQ(from_hex("0X000FA5FF"), expected);
  EXPECT_EQ(from_hex("000fA5Ff"), expected);
  EXPECT_TRUE(from_hex("").empty());
  EXPECT_TRUE(from_hex("0x").empty());
}

TEST(Hex, RoundTripsEveryByte) {
  Bytes all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(from_hex(to_hex(all)), all);
}

TEST(Hex, RefusesMalformedText) {
  const auto message = [](std::string_view text) {
    try {
      from_hex(text);
    } catch (const FormatError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message("0xabc"), "malformed hex: odd number of hex digits (3)");
  EXPECT_EQ(message("abc"), "malformed hex: odd number of hex digits (3)");
  EXPECT_EQ(message("0x0g"), "malformed hex: 'g' at position 3 is not a hex digit");
  EXPECT_EQ(message("0x0x00"), "malformed hex: 'x' at position 3 is not a hex digit");
  EXPECT_EQ(message("00 11"), "malformed hex: ' ' at position 2 is not a hex digit");
  EXPECT_EQ(message("00\n1"), "malformed hex: byte 0x0a at position 2 is not a hex digit");
  EXPECT_EQ(message("x00"), "malformed hex: 'x' at position 0 is not a hex digit");
  EXPECT_EQ(message("0x-1"), "malformed hex: '-' at position 2 is not a hex digit");
}

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
  EXPECT_EQ(one_line("a\xff\xc3" "b\xed\xa0\x80"), "a\\xff\\xc3" "b\\xed\\xa0\\x80");    // the rest is escaped
}

}  // namespace
}  // namespace pagequery::bench
