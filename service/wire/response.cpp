#include "service/wire/response.hpp"

#include "service/errors.hpp"
#include "service/wire/hex.hpp"
#include "service/wire/json_strict.hpp"
#include "pagequery/core/bits128.hpp"
#include "pagequery/policies/policy_config.hpp"

#include <vector>

namespace pagequery::service {

namespace {

using json = nlohmann::json;
using Page = std::vector<std::uint8_t>;

// One page of a response: a hex string of 4096 bytes; `where` names it.
Page page_of(const json& page, const std::string& where) {
  if (!page.is_string()) throw InputError(where + " must be a hex string");
  Page bytes;
  try {
    bytes = from_hex(page.get_ref<const std::string&>());
  } catch (const FormatError& e) {
    throw InputError(where + ": " + one_line(e.what()));
  }
  if (bytes.size() != static_cast<std::size_t>(kPageBytes))
    throw InputError(where + " holds " + std::to_string(bytes.size()) + " bytes, a page " + std::to_string(kPageBytes));
  return bytes;
}

// results[q].pages[j] of a response.
std::vector<std::vector<Page>> pages_of(const json& response, const std::string& path) {
  const std::string name = "combine: " + one_line(path);
  if (!response.is_object()) throw InputError(name + ": expected an object {\"results\": [...]}");
  const auto results = response.find("results");
  if (results == response.end() || !results->is_array())
    throw InputError(name + ": \"results\" must be an array of {\"pages\": [...]}");
  std::vector<std::vector<Page>> out;
  for (std::size_t q = 0; q < results->size(); ++q) {
    const json& result = (*results)[q];
    const std::string where = name + ": results[" + std::to_string(q) + "]";
    const auto pages = result.is_object() ? result.find("pages") : result.end();
    if (!result.is_object() || pages == result.end() || !pages->is_array())
      throw InputError(where + " must be an object {\"pages\": [...]}");
    out.emplace_back();
    for (std::size_t j = 0; j < pages->size(); ++j)
      out.back().push_back(page_of((*pages)[j], where + ".pages[" + std::to_string(j) + "]"));
  }
  return out;
}

json epoch_of(const json& response) { return response.contains("epoch_id") ? response["epoch_id"] : json(); }

// The pages of one result, A's XOR B's.
std::vector<Page> xor_pages(const std::vector<Page>& a, const std::vector<Page>& b, std::size_t q) {
  if (a.size() != b.size())
    throw InputError("combine: the responses differ in shape: results[" + std::to_string(q) + "] holds " +
                     std::to_string(a.size()) + " and " + std::to_string(b.size()) + " pages");
  std::vector<Page> pages = a;
  for (std::size_t j = 0; j < a.size(); ++j)
    for (std::size_t i = 0; i < pages[j].size(); ++i) pages[j][i] ^= b[j][i];
  return pages;
}

}  // namespace

std::string write_response(std::span<const std::uint8_t> answers, std::size_t key_count, std::uint64_t epoch) {
  nlohmann::ordered_json response;
  response["epoch_id"] = epoch;
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (std::size_t q = 0; q < key_count / kKeysPerQuery; ++q) {
    nlohmann::ordered_json page_list = nlohmann::ordered_json::array();
    for (int k = 0; k < kKeysPerQuery; ++k)
      page_list.push_back(to_hex(answers.subspan((q * kKeysPerQuery + k) * kPageBytes, kPageBytes)));
    results.push_back({{"pages", std::move(page_list)}});
  }
  response["results"] = std::move(results);
  return response.dump();
}

namespace {

// Containers and list items of JSON text: '{', '[' and ',' outside strings.
std::size_t structural_count(std::string_view text) {
  std::size_t count = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      in_string = escaped || c != '"';
      escaped = !escaped && c == '\\';
    } else if (c == '"') {
      in_string = true;
    } else {
      count += c == '{' || c == '[' || c == ',';
    }
  }
  return count;
}

}  // namespace

json parse_response(std::string_view text, const std::string& path) {
  // A response has about 4 of them per 3 pages (8194 digits each); allow 8 per KiB.
  if (const std::size_t values = structural_count(text); values > 16 + text.size() / 128)
    throw InputError("combine: " + one_line(path) + ": " + std::to_string(values) + " JSON values in " +
                     std::to_string(text.size()) + " bytes: not a response (pages of 8194 hex digits)");
  try {
    return parse_strict_json(text);
  } catch (const FormatError& e) {
    throw InputError("combine: " + one_line(path) + ": invalid JSON: " + e.what());
  }
}

std::vector<std::vector<std::vector<std::uint8_t>>> combined_pages(const json& ja, const std::string& path_a,
                                                                   const json& jb, const std::string& path_b) {
  const auto a = pages_of(ja, path_a), b = pages_of(jb, path_b);
  if (epoch_of(ja) != epoch_of(jb))
    throw InputError("combine: the responses come from different epochs (" + epoch_of(ja).dump() + " and " +
                     epoch_of(jb).dump() + ")");
  if (a.size() != b.size())
    throw InputError("combine: the responses differ in shape: " + std::to_string(a.size()) + " and " +
                     std::to_string(b.size()) + " results");
  std::vector<std::vector<Page>> out;
  for (std::size_t q = 0; q < a.size(); ++q) out.push_back(xor_pages(a[q], b[q], q));
  return out;
}

std::string combine_responses(const json& ja, const std::string& path_a, const json& jb, const std::string& path_b) {
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (const auto& pages : combined_pages(ja, path_a, jb, path_b)) {
    nlohmann::ordered_json hex = nlohmann::ordered_json::array();
    for (const Page& page : pages) hex.push_back(to_hex(page));
    results.push_back({{"pages", std::move(hex)}});
  }
  nlohmann::ordered_json out;
  out["results"] = std::move(results);
  return out.dump();
}

}  // namespace pagequery::service
