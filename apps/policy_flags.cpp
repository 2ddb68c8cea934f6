#include "apps/policy_flags.hpp"

#include "service/text.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

namespace pagequery::apps {

using namespace service;

namespace {

constexpr const char* kGroup = "Batching policy (flags override MORPHOGEN_GPU_* env vars)";
constexpr std::array<std::string_view, 4> kModeNames{"latency", "adaptive", "throughput", "fused"};

void add_string_flag(CLI::App* app, const char* name, std::optional<std::string>& target, const char* type_name,
                     const std::string& help) {
  app->add_option_function<std::string>(
         name, [&target](const std::string& value) { target = value; }, help)
      ->type_name(type_name)
      ->group(kGroup);
}

}  // namespace

void add_policy_flags(CLI::App* app, PolicyFlags& flags) {
  add_string_flag(app, "--policy", flags.policy, "NAME",
                  "latency | adaptive | throughput | fused sets the mode (env " + std::string(kEnvPolicy) +
                      ", default adaptive); a strategy name (baseline_full_batch, "
                      "adaptive_micro_batch, multi_stream_1..8, cuda_graph_replay, tiled_tile4, "
                      "kokkos_kernels_gemm) sets every setting and ignores all MORPHOGEN_GPU_* env vars");
  add_string_flag(app, "--streams", flags.streams, "N",
                  "streams 1..8; more than 1 dispatches each query alone, round robin (env " +
                      std::string(kEnvStreams) + ", default 1)");
  add_string_flag(app, "--graph", flags.graph, "BOOL",
                  "capture the launch sequence once and replay it: 1/0, true/false, yes/no, "
                  "on/off (env " +
                      std::string(kEnvGraph) + ", default off)");
  add_string_flag(app, "--tile", flags.tile, "N",
                  "largest launch of a full batch, 1..16 queries (env " + std::string(kEnvTile) + ", default 16)");
  add_string_flag(app, "--threshold", flags.threshold, "N",
                  "adaptive: full batch up to N queries, micro-batches of 2 above, 1..32 (env " +
                      std::string(kEnvThreshold) + ", default 4)");
}

PolicyConfig resolve(const PolicyFlags& flags, const EnvLookup& env) {
  std::optional<BatchMode> mode;
  std::optional<PolicyConfig> strategy;
  if (flags.policy) {
    const std::string& text = *flags.policy;
    const bool is_mode = std::find(kModeNames.begin(), kModeNames.end(), text) != kModeNames.end();
    if (!is_mode) {
      try {
        strategy = strategy_config(text);
      } catch (const std::invalid_argument&) {
        // not a strategy: maybe a mode spelled otherwise ("Latency")
      }
    }
    if (!strategy) {
      try {
        mode = parse_mode(text, "--policy");
      } catch (const std::invalid_argument&) {
        throw ConfigError(
            "--policy must be a mode (latency, adaptive, throughput, fused) or a "
            "strategy (baseline_full_batch, adaptive_micro_batch, multi_stream_1..8, "
            "cuda_graph_replay, tiled_tile4, kokkos_kernels_gemm), got '" +
            one_line(text) + "'");
      }
    }
  }

  PolicyConfig config;
  if (strategy) {
    config = *strategy;  // a named strategy is complete: no env var applies
  } else {
    // Env vars apply where no flag overrides them; overridden ones are not even read.
    const EnvLookup unless_overridden = [&](const char* name) -> std::optional<std::string> {
      const auto is = [name](const char* var) { return std::strcmp(name, var) == 0; };
      if ((is(kEnvPolicy) && flags.policy) || (is(kEnvStreams) && flags.streams) || (is(kEnvGraph) && flags.graph) ||
          (is(kEnvTile) && flags.tile) || (is(kEnvThreshold) && flags.threshold))
        return std::nullopt;
      return env(name);
    };
    config = apply_env(PolicyConfig{}, unless_overridden);
  }

  if (mode) config.mode = *mode;
  if (flags.streams) config.streams = parse_int_in(*flags.streams, 1, kMaxStreams, "--streams");
  if (flags.graph) config.graph = parse_bool(*flags.graph, "--graph");
  if (flags.tile) config.tile = parse_int_in(*flags.tile, 1, kMaxTile, "--tile");
  if (flags.threshold) config.threshold = parse_int_in(*flags.threshold, 1, kMaxBatchQueries, "--threshold");
  return config;
}

}  // namespace pagequery::apps
