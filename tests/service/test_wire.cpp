// Morphogen's JSON wire format (service/wire/): requests parsed into keys, responses
// written, and two servers' responses combined.
#include "service/errors.hpp"
#include "service/wire/hex.hpp"
#include "service/wire/request.hpp"
#include "service/wire/response.hpp"

#include "pagequery/core/bits128.hpp"
#include "pagequery/core/dpf.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pagequery::service {
namespace {

// A request of one query: the party-0 keys of pages 1, 2, 3 of a 6-page matrix (d = 3).
std::string one_query_request(std::vector<std::vector<std::uint8_t>>& key_bytes) {
  KeyRng rng(7);
  std::string keys;
  for (std::uint64_t page = 1; page <= 3; ++page) {
    key_bytes.push_back(to_bytes(generate_dpf_keys(3, page, rng).party0));
    keys += (keys.empty() ? "\"" : ",\"") + to_hex(key_bytes.back()) + "\"";
  }
  return "{\"queries\":[{\"keys\":[" + keys + "]}],\"ignored\":1}";
}

std::string refusal(const std::string& request) {
  try {
    parse_request(request, "m.bin", 6);
  } catch (const InputError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(Wire, RequestGivesTheKeysInOrder) {
  std::vector<std::vector<std::uint8_t>> bytes;
  const KeyList keys = parse_request(one_query_request(bytes), "m.bin", 6);
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys.format, DpfFormat::Morphogen);
  for (std::size_t k = 0; k < 3; ++k) EXPECT_EQ(to_bytes(keys.morphogen[k]), bytes[k]);
}

TEST(Wire, RequestRefusalsNameThePlace) {
  EXPECT_EQ(refusal("{\"queries\":[]}"),
            "request: 0 queries; a batch holds 1..32 queries of Morphogen keys or 1..256 of packed keys");
  EXPECT_EQ(refusal("[]"), "request: expected an object {\"queries\": [...]}, got array");
  EXPECT_EQ(refusal("{\"queries\":[{\"keys\":[\"00\",\"00\"]}]}"),
            "request: queries[0].keys holds 2 keys; a query needs exactly 3");
  EXPECT_EQ(refusal("{\"queries\":[{\"keys\":[\"zz\",\"00\",\"00\"]}]}"),
            "request: queries[0].keys[0]: malformed hex: 'z' at position 0 is not a hex digit");
  EXPECT_EQ(refusal("{\"queries\":1,\"queries\":2}"),
            "request: invalid JSON: the key \"queries\" appears twice in one object");
}

TEST(Wire, ResponseHoldsThreePagesPerQuery) {
  std::vector<std::uint8_t> answers(6 * kPageBytes, 0);
  answers[kPageBytes] = 0xab;  // key 1 of query 0
  const std::string response = write_response(answers, 6);
  const nlohmann::json parsed = nlohmann::json::parse(response);
  EXPECT_EQ(response.find('\n'), std::string::npos);
  EXPECT_EQ(response.rfind("{\"epoch_id\":0,\"results\":[{\"pages\":[\"0x00", 0), 0u);
  ASSERT_EQ(parsed["results"].size(), 2u);
  ASSERT_EQ(parsed["results"][0]["pages"].size(), 3u);
  EXPECT_EQ(parsed["results"][0]["pages"][1].get<std::string>().substr(0, 4), "0xab");
}

// Text dense in JSON values (what a response is not) is refused before it is
// parsed, so that combine's memory follows its pages, not an attacker's values;
// strings full of brackets and commas still count as text.
TEST(Wire, ResponsesDenseInValuesAreRefusedUnparsed) {
  std::string dense = R"({"results":[)";
  for (int i = 0; i < 100000; ++i) dense += "[],";
  dense += "[]]}";
  try {
    parse_response(dense, "d.json");
    ADD_FAILURE() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("combine: d.json: 200003 JSON values in"), std::string::npos) << e.what();
  }
  const std::string quoted = R"({"epoch_id":0,"results":[],"note":")" + std::string(5000, ',') + R"(\",[{"})";
  EXPECT_EQ(parse_response(quoted, "q.json")["results"].size(), 0u);
}

TEST(Wire, CombineXorsPageByPage) {
  std::vector<std::uint8_t> a(3 * kPageBytes, 0x0f), b(3 * kPageBytes, 0xff);
  const std::string out = combine_responses(parse_response(write_response(a, 3), "a.json"), "a.json",
                                            parse_response(write_response(b, 3), "b.json"), "b.json");
  const nlohmann::json parsed = nlohmann::json::parse(out);
  EXPECT_FALSE(parsed.contains("epoch_id"));
  EXPECT_EQ(parsed["results"][0]["pages"][2].get<std::string>(), to_hex(std::vector<std::uint8_t>(kPageBytes, 0xf0)));
  const nlohmann::json other = nlohmann::json::parse("{\"epoch_id\":1,\"results\":[]}");
  EXPECT_THROW(combine_responses(parse_response(write_response(a, 3), "a.json"), "a.json", other, "b.json"),
               InputError);
  EXPECT_THROW(parse_response("{\"results\":[]} x", "c.json"), InputError);
}

}  // namespace
}  // namespace pagequery::service
