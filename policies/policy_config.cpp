#include "pagequery/policies/policy_config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

namespace pagequery {

namespace {

std::string lower_trimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

[[noreturn]] void refuse(std::string_view source, std::string_view allowed, std::string_view text) {
  throw ConfigError(std::string(source) + " must be " + std::string(allowed) + ", got '" + std::string(text) + "'");
}

// Full-batch launches: powers of two up to the tile, largest first.
void tile_launches(std::vector<Launch>& out, int first, int queries, int tile) {
  while (queries > 0) {
    int size = 1;
    while (size * 2 <= std::min(queries, tile)) size *= 2;
    out.push_back({first, size, 0});
    first += size;
    queries -= size;
  }
}

}  // namespace

std::string to_string(BatchMode mode) {
  switch (mode) {
    case BatchMode::Latency:
      return "latency";
    case BatchMode::Adaptive:
      return "adaptive";
    case BatchMode::Throughput:
      return "throughput";
    case BatchMode::Fused:
      return "fused";
    case BatchMode::Gemm:
      return "kokkos_kernels_gemm";
  }
  return "unknown";
}

BatchMode parse_mode(std::string_view text, std::string_view source) {
  const std::string v = lower_trimmed(text);
  for (BatchMode m : {BatchMode::Latency, BatchMode::Adaptive, BatchMode::Throughput, BatchMode::Fused})
    if (v == to_string(m)) return m;
  refuse(source, "one of latency, adaptive, throughput, fused", text);
}

bool parse_bool(std::string_view text, std::string_view source) {
  const std::string v = lower_trimmed(text);
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  refuse(source, "one of 1/0, true/false, yes/no, on/off", text);
}

int parse_int_in(std::string_view text, int lo, int hi, std::string_view source) {
  const std::string v = lower_trimmed(text);
  int value = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
  const std::string allowed = "an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || value < lo || value > hi)
    refuse(source, allowed, text);
  return value;
}

std::optional<std::string> process_env(const char* name) {
  const char* value = std::getenv(name);
  if (!value) return std::nullopt;
  return std::string(value);
}

PolicyConfig apply_env(PolicyConfig base, const EnvLookup& env) {
  if (auto v = env(kEnvStreams)) base.streams = parse_int_in(*v, 1, kMaxStreams, kEnvStreams);
  if (auto v = env(kEnvPolicy)) base.mode = parse_mode(*v, kEnvPolicy);
  if (auto v = env(kEnvThreshold)) base.threshold = parse_int_in(*v, 1, kMaxBatchQueries, kEnvThreshold);
  if (auto v = env(kEnvGraph)) base.graph = parse_bool(*v, kEnvGraph);
  if (auto v = env(kEnvTile)) base.tile = parse_int_in(*v, 1, kMaxTile, kEnvTile);
  return base;
}

std::vector<std::string> env_switches(const EnvLookup& env) {
  std::vector<std::string> out;
  for (const char* name : {kEnvStreams, kEnvPolicy, kEnvThreshold, kEnvGraph, kEnvTile})
    if (auto v = env(name)) out.push_back(std::string(name) + "=" + *v);
  return out;
}

PolicyConfig strategy_config(std::string_view name) {
  PolicyConfig c;
  if (name == "baseline_full_batch") {
    c.mode = BatchMode::Latency;
  } else if (name == "adaptive_micro_batch") {
    c.mode = BatchMode::Adaptive;
  } else if (name == "throughput") {
    c.mode = BatchMode::Throughput;
  } else if (name == "cuda_graph_replay") {
    c.mode = BatchMode::Latency;
    c.graph = true;
  } else if (name == "tiled_tile4") {
    c.mode = BatchMode::Latency;
    c.tile = 4;
  } else if (name == "fused") {
    c.mode = BatchMode::Fused;
  } else if (name == "kokkos_kernels_gemm") {
#ifndef PAGEQUERY_HAVE_KOKKOS_KERNELS
    throw ConfigError("kokkos_kernels_gemm: this build has no Kokkos Kernels (PAGEQUERY_ENABLE_KOKKOS_KERNELS=OFF)");
#endif
    c.mode = BatchMode::Gemm;
  } else if (name.starts_with("multi_stream_")) {
    c.mode = BatchMode::Latency;
    c.streams = parse_int_in(name.substr(13), 1, kMaxStreams, "the stream count of " + std::string(name));
  } else {
    throw ConfigError("unknown strategy '" + std::string(name) +
                      "' (known: baseline_full_batch, adaptive_micro_batch, throughput, "
                      "multi_stream_1..8, cuda_graph_replay, tiled_tile4, fused, kokkos_kernels_gemm)");
  }
  return c;
}

std::vector<std::string> seed_strategies() {
  return {"baseline_full_batch", "adaptive_micro_batch", "multi_stream_4", "cuda_graph_replay", "tiled_tile4"};
}

std::vector<std::string> default_strategies() {
  auto names = seed_strategies();
  names.push_back("fused");
  return names;
}

std::vector<std::string> all_strategies() {
  auto all = seed_strategies();
  all.insert(all.end(), {"throughput", "fused"});
#ifdef PAGEQUERY_HAVE_KOKKOS_KERNELS
  all.push_back("kokkos_kernels_gemm");
#endif
  return all;
}

std::string strategy_name(const PolicyConfig& config) {
  for (const std::string& name : all_strategies())
    if (strategy_config(name) == config) return name;
  return "policy=" + to_string(config.mode) + ",streams=" + std::to_string(config.streams) +
         ",graph=" + (config.graph ? "1" : "0") + ",tile=" + std::to_string(config.tile) +
         ",threshold=" + std::to_string(config.threshold);
}

std::vector<Launch> plan_batch(const PolicyConfig& config, int queries) {
  std::vector<Launch> plan;
  if (queries <= 0) return plan;
  if (config.streams > 1) {  // Morphogen: more streams override the policy
    for (int q = 0; q < queries; ++q) plan.push_back({q, 1, q % config.streams});
    return plan;
  }
  const bool full =
      config.mode == BatchMode::Latency || (config.mode == BatchMode::Adaptive && queries <= config.threshold);
  if (config.mode == BatchMode::Fused || config.mode == BatchMode::Gemm) {
    plan.push_back({0, queries, 0});
  } else if (full) {
    tile_launches(plan, 0, queries, config.tile);
  } else {  // micro-batches of 2, each a full batch of its own
    for (int q = 0; q < queries; q += kMicroBatch)
      tile_launches(plan, q, std::min(kMicroBatch, queries - q), config.tile);
  }
  return plan;
}

std::optional<std::string> lop3_only(const PolicyConfig& config) {
  if (config.streams > 1) return std::nullopt;
  if (config.mode == BatchMode::Gemm)
    return "kokkos_kernels_gemm runs only with --accumulate lop3: its gemm reads pages as vectors";
  return std::nullopt;
}

}  // namespace pagequery
