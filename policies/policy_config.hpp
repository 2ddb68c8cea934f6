#pragma once
// Batching strategies as plain configuration: names, Morphogen's env switches,
// and the launch plan each strategy makes. No Kokkos here: the CLI and the plan
// tests use it directly.
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pagequery {

class ConfigError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Gemm: the whole batch as one KokkosBlas::gemm pass (kokkos_kernels_gemm); not one
// of Morphogen's MORPHOGEN_GPU_BATCH_POLICY values.
enum class BatchMode { Latency, Adaptive, Throughput, Fused, Gemm };

struct PolicyConfig {
  BatchMode mode = BatchMode::Adaptive;  // Morphogen's default policy
  int streams = 1;                       // 1..8; more than 1 dispatches queries alone
  bool graph = false;                    // capture the launch sequence, replay it
  int tile = 16;                         // 1..16: largest launch of a full batch
  int threshold = 4;                     // 1..32: adaptive full-batch limit
  bool operator==(const PolicyConfig&) const = default;
};

inline constexpr int kMaxStreams = 8;
inline constexpr int kMaxTile = 16;
inline constexpr int kMaxBatchQueries = 32;  // Morphogen's MAX_BATCH_SIZE
inline constexpr int kKeysPerQuery = 3;
inline constexpr int kMicroBatch = 2;

// The seed's strategy names plus ours: baseline_full_batch, adaptive_micro_batch,
// throughput, multi_stream_N (N = 1..8), cuda_graph_replay, tiled_tile4, fused,
// kokkos_kernels_gemm.
PolicyConfig strategy_config(std::string_view name);
std::vector<std::string> seed_strategies();
// The sweep's default: the seed's five plus fused.
std::vector<std::string> default_strategies();
// Every named strategy (kokkos_kernels_gemm where the build has Kokkos Kernels).
std::vector<std::string> all_strategies();
// The canonical name of a configuration (a strategy name where one matches).
std::string strategy_name(const PolicyConfig& config);

// Value parsers shared by flags and env vars; `source` names the flag or variable
// in the error ("MORPHOGEN_GPU_STREAMS must be an integer in 1..8, got 'x'").
BatchMode parse_mode(std::string_view text, std::string_view source);
bool parse_bool(std::string_view text, std::string_view source);
int parse_int_in(std::string_view text, int lo, int hi, std::string_view source);
std::string to_string(BatchMode mode);

using EnvLookup = std::function<std::optional<std::string>(const char*)>;
std::optional<std::string> process_env(const char* name);
// Applies every MORPHOGEN_GPU_* variable that is set over `base`.
PolicyConfig apply_env(PolicyConfig base, const EnvLookup& env = process_env);
// The MORPHOGEN_GPU_* variables that are set, as name=value (recorded by the sweep).
std::vector<std::string> env_switches(const EnvLookup& env = process_env);

// One kernel launch of a plan: queries [first_query, first_query + queries) on
// execution-space instance `instance`.
struct Launch {
  int first_query;
  int queries;
  int instance;
  bool operator==(const Launch&) const = default;
};
std::vector<Launch> plan_batch(const PolicyConfig& config, int queries);

// Morphogen's environment switches (apply_env reads them; flags override them).
inline constexpr const char* kEnvPolicy = "MORPHOGEN_GPU_BATCH_POLICY";
inline constexpr const char* kEnvStreams = "MORPHOGEN_GPU_STREAMS";
inline constexpr const char* kEnvGraph = "MORPHOGEN_GPU_CUDA_GRAPH";
inline constexpr const char* kEnvTile = "MORPHOGEN_GPU_BATCH_TILE_SIZE";
inline constexpr const char* kEnvThreshold = "MORPHOGEN_GPU_BATCH_ADAPTIVE_THRESHOLD";

// Why an mma engine (bit-sliced matrix) cannot run `config`, or nullopt when it
// can: kokkos_kernels_gemm reads pages as vectors. (Graph replay runs on both:
// the tensor-core launches are captured natively, policies/graph_replay.hpp.)
std::optional<std::string> lop3_only(const PolicyConfig& config);

}  // namespace pagequery
