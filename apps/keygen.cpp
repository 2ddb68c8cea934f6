// pagequery keygen: one pair of Morphogen DPF keys for a target page.
#include "apps/commands.hpp"
#include "apps/hex.hpp"

#include "core/dpf.hpp"
#include "policies/policy_config.hpp"

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

namespace pagequery::apps {

namespace {

struct KeygenArgs {
  std::optional<std::string> domain_bits;
  std::optional<std::string> index;
  std::optional<std::string> seed;
};

void run_keygen(const KeygenArgs& args) {
  if (!args.domain_bits) throw InputError("keygen: --domain-bits is required");
  if (!args.index) throw InputError("keygen: --index is required");
  const int d = parse_int_in(*args.domain_bits, 1, kMaxDomainBits, "--domain-bits");
  const std::uint64_t index = parse_u64(*args.index, "--index");
  if (d < 64 && (index >> d) != 0)
    throw InputError("--index " + std::to_string(index) + " is outside a domain of " +
                     std::to_string(d) + " bits (0.." +
                     std::to_string((std::uint64_t{1} << d) - 1) + ")");
  std::optional<std::uint64_t> seed;
  if (args.seed) seed = parse_u64(*args.seed, "--seed");

  KeyRng rng(seed);
  const DpfKeyPair pair = generate_dpf_keys(d, index, rng);
  nlohmann::ordered_json out;
  out["party0"] = to_hex(to_bytes(pair.party0));
  out["party1"] = to_hex(to_bytes(pair.party1));
  std::cout << out.dump() << '\n' << std::flush;
  if (!std::cout) throw std::runtime_error("keygen: cannot write to stdout");
}

}  // namespace

void add_keygen(CLI::App& app) {
  auto args = std::make_shared<KeygenArgs>();
  CLI::App* cmd = app.add_subcommand(
      "keygen",
      "Generate a pair of Morphogen DPF keys for one page index");
  cmd->add_option_function<std::string>(
         "--domain-bits", [args](const std::string& v) { args->domain_bits = v; },
         "DPF domain bits d, 1..32 (required; a matrix of N pages uses max(1, ceil(log2 N)))")
      ->type_name("D");
  cmd->add_option_function<std::string>(
         "--index", [args](const std::string& v) { args->index = v; },
         "target page index, 0..2^d-1 (required)")
      ->type_name("X");
  cmd->add_option_function<std::string>(
         "--seed", [args](const std::string& v) { args->seed = v; },
         "seed of the key RNG (ChaCha20), an unsigned 64-bit integer: the same seed gives the "
         "same keys; default: random roots drawn from the OS")
      ->type_name("S");
  cmd->footer(
      "Prints one JSON line {\"party0\":\"0x..\",\"party1\":\"0x..\"}: the key bytes\n"
      "(ChaChaKey::to_bytes, 19 + 18 d + 16 bytes) in lower-case hex. Party 0 goes to\n"
      "server A, party 1 to server B.\n"
      "Exit codes: 0 ok, 2 refused input (one line on stderr).\n");
  cmd->callback([args] { run_keygen(*args); });
}

}  // namespace pagequery::apps
