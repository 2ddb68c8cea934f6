// pagequery keygen: one pair of DPF keys for a target page, Morphogen's or packed.
#include "apps/commands.hpp"
#include "service/key_list.hpp"
#include "service/wire/hex.hpp"
#include "pagequery/core/printable.hpp"

#include "pagequery/core/dpf.hpp"
#include "pagequery/core/dpf_packed.hpp"
#include "pagequery/policies/policy_config.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <vector>
#include <memory>
#include <optional>
#include <string>

namespace pagequery::apps {

using namespace service;

namespace {

struct KeygenArgs {
  std::optional<std::string> domain_bits;
  std::optional<std::string> index;
  std::optional<std::string> seed;
  std::string format = "morphogen";
  std::vector<std::uint64_t> indices;  // --indices: a request of them, 3 a query
  std::optional<std::string> request;  // --request PREFIX: PREFIX.a.json, PREFIX.b.json
};

// The key bytes of both parties for `index` in a domain of d bits (packed: d
// leaf bits, pages 0..2^(d+7)-1).
template <class Pair>
void print_pair(const Pair& pair) {
  nlohmann::ordered_json out;
  out["party0"] = to_hex(to_bytes(pair.party0));
  out["party1"] = to_hex(to_bytes(pair.party1));
  std::cout << out.dump() << '\n' << std::flush;
  if (!std::cout) throw StoreError("keygen: cannot write to stdout");
}

// Refuses an index outside the keys' domain (d domain bits; packed: d leaf bits).
void check_index(std::uint64_t index, int d, bool packed) {
  const int page_bits = packed ? d + kPackedLeafLog2 : d;  // <= 32
  if ((index >> page_bits) != 0)
    throw InputError("--index " + std::to_string(index) + " is outside a domain of " + std::to_string(page_bits) +
                     " bits (0.." + std::to_string((std::uint64_t{1} << page_bits) - 1) + ")" +
                     (packed ? ": " + std::to_string(d) + " leaf bits of 128 pages" : ""));
}

// Both servers' requests for the pages `indices` (3 a query): party 0's keys to
// PREFIX.a.json (server A), party 1's to PREFIX.b.json (server B).
template <class Generate>
void write_requests(const KeygenArgs& args, int max_queries, Generate generate) {
  if (args.indices.empty() || args.indices.size() % kKeysPerQuery != 0 ||
      args.indices.size() > std::size_t(max_queries) * kKeysPerQuery)
    throw InputError("--indices: a request holds 3 pages a query, 1 to " + std::to_string(max_queries) +
                     " queries; got " + std::to_string(args.indices.size()) + " indices");
  nlohmann::ordered_json party[2] = {{{"queries", nlohmann::ordered_json::array()}},
                                     {{"queries", nlohmann::ordered_json::array()}}};
  for (std::size_t k = 0; k < args.indices.size(); ++k) {
    const auto pair = generate(args.indices[k]);
    for (int p = 0; p < 2; ++p) {
      auto& queries = party[p]["queries"];
      if (k % kKeysPerQuery == 0) queries.push_back({{"keys", nlohmann::ordered_json::array()}});
      queries.back()["keys"].push_back(to_hex(to_bytes(p == 0 ? pair.party0 : pair.party1)));
    }
  }
  for (int p = 0; p < 2; ++p) {
    const std::string path = *args.request + (p == 0 ? ".a.json" : ".b.json");
    std::ofstream out(path, std::ios::trunc);
    out << party[p].dump(2) << '\n';
    out.flush();
    if (!out) throw InputError("keygen --request: " + printable(path) + ": cannot write: " + std::strerror(errno));
    std::cerr << "pagequery keygen: server " << (p == 0 ? "A" : "B") << "'s request written to " << printable(path)
              << "\n";
  }
}

void run_keygen(const KeygenArgs& args) {
  if (args.format != "morphogen" && args.format != "packed")
    throw InputError("--format must be morphogen or packed, got '" + args.format + "'");
  const bool packed = args.format == "packed";
  if (!args.domain_bits) throw InputError("keygen: --domain-bits is required");
  if (!args.index && !args.request) throw InputError("keygen: --index is required (or --indices with --request)");
  const int d = parse_int_in(*args.domain_bits, 1, packed ? kMaxPackedDomainBits : kMaxDomainBits,
                             packed ? "--domain-bits (leaf bits of a packed key)" : "--domain-bits");
  std::optional<std::uint64_t> seed;
  if (args.seed) seed = parse_u64(*args.seed, "--seed");
  KeyRng rng(seed);
  if (args.request) {
    for (std::uint64_t index : args.indices) check_index(index, d, packed);
    const auto format = packed ? DpfFormat::Packed : DpfFormat::Morphogen;
    if (packed)
      write_requests(args, max_batch_queries(format), [&](std::uint64_t i) { return generate_packed_keys(d, i, rng); });
    else
      write_requests(args, max_batch_queries(format), [&](std::uint64_t i) { return generate_dpf_keys(d, i, rng); });
    return;
  }
  const std::uint64_t index = parse_u64(*args.index, "--index");
  check_index(index, d, packed);
  if (packed)
    print_pair(generate_packed_keys(d, index, rng));
  else
    print_pair(generate_dpf_keys(d, index, rng));
}

}  // namespace

void add_keygen(CLI::App& app) {
  auto args = std::make_shared<KeygenArgs>();
  CLI::App* cmd =
      app.add_subcommand("keygen", "Generate a pair of DPF keys (Morphogen's or packed) for one page index");
  cmd->add_option("--format", args->format,
                  "key format: morphogen (Morphogen's bytes, the default) or packed (docs/packed-dpf.md:\n"
                  "a leaf holds the selection bits of 128 pages)")
      ->type_name("morphogen|packed");
  cmd->add_option_function<std::string>(
         "--domain-bits", [args](const std::string& v) { args->domain_bits = v; },
         "the key's d (required). morphogen: domain bits, 1..32; a matrix of N pages uses\n"
         "max(1, ceil(log2 N)). packed: leaf bits, 1..25; a matrix of N pages uses\n"
         "max(1, ceil(log2(ceil(N / 128)))) (`pagequery info` prints both)")
      ->type_name("D");
  cmd->add_option_function<std::string>(
         "--index", [args](const std::string& v) { args->index = v; },
         "target page index, 0..2^d-1 (packed: 0..2^(d+7)-1) (required)")
      ->type_name("X");
  auto* indices =
      cmd->add_option("--indices", args->indices, "target pages of a whole request, 3 a query (with --request)")
          ->delimiter(',')
          ->type_name("X,Y,Z,...");
  auto* request = cmd->add_option_function<std::string>(
                         "--request", [args](const std::string& v) { args->request = v; },
                         "write both servers' requests for --indices: PREFIX.a.json (party 0's keys, server A)\n"
                         "and PREFIX.b.json (party 1's, server B), for `pagequery answer --request`")
                      ->type_name("PREFIX");
  indices->needs(request)->excludes(cmd->get_option("--index"));
  request->needs(indices);
  cmd->add_option_function<std::string>(
         "--seed", [args](const std::string& v) { args->seed = v; },
         "seed of the key RNG (ChaCha20), an unsigned 64-bit integer: the same seed gives the "
         "same keys; default: random roots drawn from the OS")
      ->type_name("S");
  cmd->footer(
      "Prints one JSON line {\"party0\":\"0x..\",\"party1\":\"0x..\"}: the key bytes in lower-case\n"
      "hex: Morphogen's ChaChaKey::to_bytes (19 + 18 d + 16 bytes), or packed ones (\"PQP1\" and\n"
      "the same fields, 39 + 18 d bytes). Party 0 goes to server A, party 1 to server B;\n"
      "`pagequery combine` XORs their answers into the page.\n"
      "Exit codes: 0 ok, 2 refused input, 1 a failure of the device, memory or pagequery itself (one line on "
      "stderr).\n");
  cmd->callback([args] { run_keygen(*args); });
}

}  // namespace pagequery::apps
