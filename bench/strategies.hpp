#pragma once
// The sweep's strategy axis: names and groups resolved into batching policies,
// and which of them an mma engine cannot run.
#include "policies/engine.hpp"
#include "policies/policy_config.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pagequery::bench {

// Morphogen's switches (policies/policy_config.hpp, apply_env); `answer`'s flags
// override them one by one (apps/policy_flags.hpp).
inline constexpr const char* kEnvPolicy = "MORPHOGEN_GPU_BATCH_POLICY";
inline constexpr const char* kEnvStreams = "MORPHOGEN_GPU_STREAMS";
inline constexpr const char* kEnvGraph = "MORPHOGEN_GPU_CUDA_GRAPH";
inline constexpr const char* kEnvTile = "MORPHOGEN_GPU_BATCH_TILE_SIZE";
inline constexpr const char* kEnvThreshold = "MORPHOGEN_GPU_BATCH_ADAPTIVE_THRESHOLD";

struct Strategy {
  std::string name;
  PolicyConfig config;
};

// Why an mma engine cannot run `config`, or nullopt when it can: a graph replay
// (a Kokkos graph holds Kokkos kernels only; make_policy lets more than one stream
// win over graph) and kokkos_kernels_gemm (its gemm reads pages as vectors).
std::optional<std::string> lop3_only(const PolicyConfig& config);

// --strategies: names, the groups `seed`, `default` and `all`, and `env` (what the
// MORPHOGEN_GPU_* switches select), each strategy once, in order. Under mma the
// groups leave out the lop3-only strategies (named in `left_out`), and one named
// on its own is refused (InputError), all before the matrix is loaded.
std::vector<Strategy> resolve_strategies(const std::string& text, Accumulate accumulate,
                                         std::vector<std::string>& left_out);

// "policy=latency streams=1 graph=0 tile=16 threshold=4"
std::string describe(const PolicyConfig& config);

}  // namespace pagequery::bench
