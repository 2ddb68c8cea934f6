// parse_strict_json(): what nlohmann-json accepts and Morphogen's serde_json does not.
#include "service/wire/hex.hpp"
#include "service/wire/json_strict.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pagequery::service {
namespace {

std::string refusal(std::string_view text) {
  try {
    parse_strict_json(text);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

TEST(JsonStrict, AcceptsPlainJson) {
  EXPECT_EQ(parse_strict_json(R"({"queries":[{"keys":["0x00"]}],"x":{"a":1}})")["x"]["a"], 1);
  // The same key in different objects is not a duplicate.
  EXPECT_EQ(refusal(R"({"a":{"k":1},"b":{"k":2},"c":[{"k":1},{"k":2}]})"), "");
  EXPECT_EQ(refusal(" {\"a\":1}\n\t "), "");  // whitespace around the value
}

TEST(JsonStrict, RefusesNulBytes) {
  // nlohmann stops at a NUL byte and would ignore the garbage after it.
  EXPECT_EQ(refusal(std::string("{\"a\":1}\0garbage", 15)), "a NUL byte at offset 7 (JSON text has none)");
  EXPECT_EQ(refusal(std::string("{\"a\":\"x\0y\"}", 11)), "a NUL byte at offset 7 (JSON text has none)");
}

TEST(JsonStrict, RefusesTrailingBytes) {
  EXPECT_NE(refusal(R"({"a":1} x)").find("parse error"), std::string::npos);
  EXPECT_NE(refusal(R"({"a":1}{})").find("parse error"), std::string::npos);
}

TEST(JsonStrict, RefusesDuplicateKeys) {
  EXPECT_EQ(refusal(R"({"queries":[],"queries":[]})"), "the key \"queries\" appears twice in one object");
  EXPECT_EQ(refusal(R"({"queries":[{"keys":[],"keys":["0x"]}]})"), "the key \"keys\" appears twice in one object");
  EXPECT_EQ(refusal("{\"a\\nb\":1,\"a\\nb\":2}"), "the key \"a\\nb\" appears twice in one object");  // escaped
}

TEST(JsonStrict, DeepNestingIsNoCrash) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(refusal(deep), "");
}

}  // namespace
}  // namespace pagequery::service
