#pragma once
// Morphogen's batch response as `answer` writes it and `combine` reads it:
// {"epoch_id":E,"results":[{"pages":["0x<4096 bytes>","0x..","0x.."]}, ...]},
// results[q].pages[j] the answer to key j of query q.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pagequery::service {

// The response to `key_count` keys (3 per query) whose answers, a page each, are
// `answers` in key order, computed against the matrix's `epoch` (epoch_id): one
// compact JSON line, without the newline.
std::string write_response(std::span<const std::uint8_t> answers, std::size_t key_count, std::uint64_t epoch = 0);

// A response as strict JSON (service/wire/json_strict.hpp); invalid JSON is refused
// (InputError "combine: <path>: invalid JSON: ..."), and so is text denser in JSON
// values than responses are (pages of 8194 hex digits) before it is parsed: a
// parsed value costs far more memory than its text.
nlohmann::json parse_response(std::string_view text, const std::string& path);

// The client's last step: the XOR of the responses of server A and server B, page
// by page, as {"results":[{"pages":[...]}, ...]} on one line (no newline). Both
// must be of the same epoch and shape, every page 4096 bytes of hex; anything else
// is refused (InputError naming the response by its path and the place in it).
std::string combine_responses(const nlohmann::json& a, const std::string& path_a, const nlohmann::json& b,
                              const std::string& path_b);
// The same XOR as bytes: [result][page] -> the page's bytes (`combine --raw`).
std::vector<std::vector<std::vector<std::uint8_t>>> combined_pages(const nlohmann::json& a, const std::string& path_a,
                                                                   const nlohmann::json& b, const std::string& path_b);

}  // namespace pagequery::service
