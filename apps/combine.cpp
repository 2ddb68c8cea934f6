// pagequery combine: the client's last step. XORs the responses of server A
// and server B (`pagequery answer`, either key format) page by page: with
// party 0's keys at A and party 1's at B, the XOR is the queried pages.
#include "apps/commands.hpp"
#include "bench/wire/hex.hpp"
#include "apps/io_limits.hpp"
#include "bench/wire/json_strict.hpp"

#include "core/bits128.hpp"

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace pagequery::apps {

using namespace bench;

namespace {

using json = nlohmann::json;

// The largest response (256 queries x 3 pages of 8194 hex digits) is about 6.3 MB.
constexpr std::uint64_t kDefaultMaxResponseBytes = std::uint64_t{16} << 20;

struct CombineArgs {
  std::string a;
  std::string b;
  std::string max_response_bytes = std::to_string(kDefaultMaxResponseBytes);
};

// The response at `path` ('-': stdin) as strict JSON, read with a size limit.
json read_response(const std::string& path, std::uint64_t limit) {
  const std::string text = read_limited(path, limit, "combine", "--max-response-bytes");
  try {
    return parse_strict_json(text);
  } catch (const FormatError& e) {
    throw InputError("combine: " + one_line(path) + ": invalid JSON: " + e.what());
  }
}

// results[q].pages[j] of a response, checked to be a 4096-byte page.
std::vector<std::vector<std::vector<std::uint8_t>>> pages_of(const json& response, const std::string& path) {
  const std::string name = "combine: " + one_line(path);
  if (!response.is_object()) throw InputError(name + ": expected an object {\"results\": [...]}");
  const auto results = response.find("results");
  if (results == response.end() || !results->is_array())
    throw InputError(name + ": \"results\" must be an array of {\"pages\": [...]}");
  std::vector<std::vector<std::vector<std::uint8_t>>> out;
  for (std::size_t q = 0; q < results->size(); ++q) {
    const json& result = (*results)[q];
    const std::string where = name + ": results[" + std::to_string(q) + "]";
    const auto pages = result.is_object() ? result.find("pages") : result.end();
    if (!result.is_object() || pages == result.end() || !pages->is_array())
      throw InputError(where + " must be an object {\"pages\": [...]}");
    out.emplace_back();
    for (std::size_t j = 0; j < pages->size(); ++j) {
      const json& page = (*pages)[j];
      const std::string page_where = where + ".pages[" + std::to_string(j) + "]";
      if (!page.is_string()) throw InputError(page_where + " must be a hex string");
      try {
        out.back().push_back(from_hex(page.get_ref<const std::string&>()));
      } catch (const FormatError& e) {
        throw InputError(page_where + ": " + one_line(e.what()));
      }
      if (out.back().back().size() != static_cast<std::size_t>(kPageBytes))
        throw InputError(page_where + " holds " + std::to_string(out.back().back().size()) + " bytes, a page " +
                         std::to_string(kPageBytes));
    }
  }
  return out;
}

void run_combine(const CombineArgs& args) {
  if (args.a == "-" && args.b == "-") throw InputError("combine: at most one response can come from stdin");
  const std::uint64_t limit = parse_u64(args.max_response_bytes, "--max-response-bytes");
  const json ja = read_response(args.a, limit), jb = read_response(args.b, limit);
  const auto a = pages_of(ja, args.a), b = pages_of(jb, args.b);
  const auto epoch = [](const json& r) { return r.contains("epoch_id") ? r["epoch_id"] : json(); };
  if (epoch(ja) != epoch(jb))
    throw InputError("combine: the responses come from different epochs (" + epoch(ja).dump() + " and " +
                     epoch(jb).dump() + ")");
  if (a.size() != b.size())
    throw InputError("combine: the responses differ in shape: " + std::to_string(a.size()) + " and " +
                     std::to_string(b.size()) + " results");
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (std::size_t q = 0; q < a.size(); ++q) {
    if (a[q].size() != b[q].size())
      throw InputError("combine: the responses differ in shape: results[" + std::to_string(q) + "] holds " +
                       std::to_string(a[q].size()) + " and " + std::to_string(b[q].size()) + " pages");
    nlohmann::ordered_json pages = nlohmann::ordered_json::array();
    for (std::size_t j = 0; j < a[q].size(); ++j) {
      std::vector<std::uint8_t> page = a[q][j];
      for (std::size_t i = 0; i < page.size(); ++i) page[i] ^= b[q][j][i];
      pages.push_back(to_hex(page));
    }
    results.push_back({{"pages", std::move(pages)}});
  }
  nlohmann::ordered_json out;
  out["results"] = std::move(results);
  std::cout << out.dump() << '\n';
  flush_stdout("combine");
}

}  // namespace

void add_combine(CLI::App& app) {
  auto args = std::make_shared<CombineArgs>();
  CLI::App* cmd = app.add_subcommand(
      "combine", "Client side: XOR two servers' responses to the same query keys' parties into the pages");
  cmd->add_option("RESPONSE_A", args->a, "server A's response (party 0 keys); '-': stdin")->required();
  cmd->add_option("RESPONSE_B", args->b, "server B's response (party 1 keys); '-': stdin")->required();
  cmd->add_option("--max-response-bytes", args->max_response_bytes,
                  "refuse a response larger than this, checked while reading (the largest, 256 queries,\n"
                  "is about 6.3 MB)")
      ->capture_default_str()
      ->type_name("N");
  cmd->footer(
      "Reads two responses of `pagequery answer` ({\"epoch_id\":..,\"results\":[{\"pages\":[\"0x..\",..]},..]},\n"
      "Morphogen or packed keys alike) and prints {\"results\":[{\"pages\":[\"0x<4096 bytes>\",..]},..]}: page j\n"
      "of result q is A's XOR B's, the page the query's key j asked for. Responses of different shapes\n"
      "(results, pages per result, page sizes) or epochs are refused, and so is a response that is not\n"
      "strict JSON (no NUL byte, no trailing bytes, no key twice in an object).\n"
      "Exit codes: 0 ok, 2 refused input (one line on stderr).\n");
  cmd->callback([args] { run_combine(*args); });
}

}  // namespace pagequery::apps
