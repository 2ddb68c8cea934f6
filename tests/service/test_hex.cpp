#include "service/wire/hex.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace pagequery::service {
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

}  // namespace
}  // namespace pagequery::service
