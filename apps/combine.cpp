// pagequery combine: the client's last step. XORs the responses of server A
// and server B (`pagequery answer`, either key format) page by page: with
// party 0's keys at A and party 1's at B, the XOR is the queried pages.
#include "apps/commands.hpp"
#include "apps/io_limits.hpp"
#include "service/text.hpp"
#include "service/wire/response.hpp"
#include "pagequery/core/printable.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <memory>
#include <string>
#include <vector>

namespace pagequery::apps {

using namespace service;

namespace {

// The largest response (256 queries x 3 pages of 8194 hex digits) is about 6.3 MB.
constexpr std::uint64_t kDefaultMaxResponseBytes = std::uint64_t{16} << 20;

struct CombineArgs {
  std::string a;
  std::string b;
  std::string max_response_bytes = std::to_string(kDefaultMaxResponseBytes);
  std::optional<std::string> raw;  // --raw: the page bytes into this file instead of JSON
};

// The pages, result by result, page by page, as raw bytes.
void write_raw(const std::string& path, const std::vector<std::vector<std::vector<std::uint8_t>>>& results) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const auto& pages : results)
    for (const auto& page : pages) out.write(reinterpret_cast<const char*>(page.data()), std::streamsize(page.size()));
  out.flush();
  if (!out) throw InputError("combine --raw " + printable(path) + ": cannot write: " + std::strerror(errno));
}

void run_combine(const CombineArgs& args) {
  if (args.a == "-" && args.b == "-") throw InputError("combine: at most one response can come from stdin");
  const std::uint64_t limit = parse_u64(args.max_response_bytes, "--max-response-bytes");
  const auto read = [&](const std::string& path) {
    return parse_response(read_limited(path, limit, "combine", "--max-response-bytes"), path);
  };
  const nlohmann::json a = read(args.a), b = read(args.b);
  if (args.raw) return write_raw(*args.raw, combined_pages(a, args.a, b, args.b));
  std::cout << combine_responses(a, args.a, b, args.b) << '\n';
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
  cmd->add_option_function<std::string>(
         "--raw", [args](const std::string& v) { args->raw = v; },
         "write the pages' bytes into FILE instead (4096 per page, in result and page order)")
      ->type_name("FILE");
  cmd->footer(
      "Reads two responses of `pagequery answer` ({\"epoch_id\":..,\"results\":[{\"pages\":[\"0x..\",..]},..]},\n"
      "Morphogen or packed keys alike) and prints {\"results\":[{\"pages\":[\"0x<4096 bytes>\",..]},..]}: page j\n"
      "of result q is A's XOR B's, the page the query's key j asked for. Responses of different shapes\n"
      "(results, pages per result, page sizes) or epochs are refused, and so is a response that is not\n"
      "strict JSON (no NUL byte, no trailing bytes, no key twice in an object).\n"
      "Exit codes: 0 ok, 2 refused input, 1 a failure of the device, memory or pagequery itself (one line on "
      "stderr).\n");
  cmd->callback([args] { run_combine(*args); });
}

}  // namespace pagequery::apps
