#pragma once
// The batching-policy flags shared by `answer` and the sweep, and their merge
// with Morphogen's MORPHOGEN_GPU_* switches.
//
// Precedence: defaults < MORPHOGEN_GPU_* env vars < flags.
//   --policy MODE      latency | adaptive | throughput | fused: sets the mode only
//                      (overrides MORPHOGEN_GPU_BATCH_POLICY); the other env vars apply.
//   --policy STRATEGY  a strategy name (baseline_full_batch, multi_stream_4, ...):
//                      fixes all five settings, so no MORPHOGEN_GPU_* variable applies;
//                      the flags below still override single settings of it.
//   --streams N        1..8      (overrides MORPHOGEN_GPU_STREAMS)
//   --graph BOOL       1/0, true/false, yes/no, on/off (MORPHOGEN_GPU_CUDA_GRAPH)
//   --tile N           1..16     (MORPHOGEN_GPU_BATCH_TILE_SIZE)
//   --threshold N      1..32     (MORPHOGEN_GPU_BATCH_ADAPTIVE_THRESHOLD)
// An env var is read, and so validated, only where no flag overrides it: with
// MORPHOGEN_GPU_STREAMS=9, `--streams 2` runs and a run without --streams is refused.
// Every value is parsed by policy_config's shared parsers; errors name the flag
// or the variable and are thrown as pagequery::ConfigError.
#include "pagequery/policies/policy_config.hpp"

#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace pagequery::apps {

// The raw flag texts; nullopt: the flag was not given.
struct PolicyFlags {
  std::optional<std::string> policy;
  std::optional<std::string> streams;
  std::optional<std::string> graph;
  std::optional<std::string> tile;
  std::optional<std::string> threshold;
};

// Registers --policy, --streams, --graph, --tile and --threshold on `app` as strings
// (resolve() parses them after the command line is parsed); `flags` must outlive
// the parse, since the options write into it.
void add_policy_flags(CLI::App* app, PolicyFlags& flags);

// The configuration the flags and environment select (see the precedence above).
PolicyConfig resolve(const PolicyFlags& flags, const EnvLookup& env = process_env);

}  // namespace pagequery::apps
