// Plans, strategy names and env switches: plain configuration, no Kokkos.
#include "pagequery/policies/policy_config.hpp"

#include <gtest/gtest.h>

#include <map>

namespace pagequery {
namespace {

std::vector<int> sizes(const std::string& strategy, int q) {
  std::vector<int> out;
  for (const Launch& l : plan_batch(strategy_config(strategy), q)) out.push_back(l.queries);
  return out;
}

// The seed's rules, written out for the batch sizes its table has and a few odd ones.
TEST(Plan, MatchesTheSeedsRules) {
  struct Row {
    const char* strategy;
    int q;
    std::vector<int> launches;
  };
  const std::vector<Row> table = {
      {"baseline_full_batch", 1, {1}},
      {"baseline_full_batch", 2, {2}},
      {"baseline_full_batch", 4, {4}},
      {"baseline_full_batch", 7, {4, 2, 1}},
      {"baseline_full_batch", 8, {8}},
      {"baseline_full_batch", 16, {16}},
      {"baseline_full_batch", 31, {16, 8, 4, 2, 1}},
      {"baseline_full_batch", 32, {16, 16}},
      {"cuda_graph_replay", 32, {16, 16}},
      {"tiled_tile4", 8, {4, 4}},
      {"tiled_tile4", 11, {4, 4, 2, 1}},
      {"tiled_tile4", 32, {4, 4, 4, 4, 4, 4, 4, 4}},
      {"adaptive_micro_batch", 3, {2, 1}},
      {"adaptive_micro_batch", 4, {4}},
      {"adaptive_micro_batch", 5, {2, 2, 1}},
      {"adaptive_micro_batch", 8, {2, 2, 2, 2}},
      {"throughput", 1, {1}},
      {"throughput", 4, {2, 2}},
      {"throughput", 7, {2, 2, 2, 1}},
      {"multi_stream_4", 3, {1, 1, 1}},
      {"fused", 1, {1}},
      {"fused", 32, {32}},
      {"fused", 33, {33}},
  };
  for (const Row& r : table) EXPECT_EQ(sizes(r.strategy, r.q), r.launches) << r.strategy << " Q=" << r.q;
}

TEST(Plan, EveryStrategyCoversEveryQueryOnceInOrder) {
  for (const std::string& s : all_strategies()) {
    const PolicyConfig c = strategy_config(s);
    const bool one_pass = c.mode == BatchMode::Fused || c.mode == BatchMode::Gemm;
    for (int q = 1; q <= kMaxBatchQueries; ++q) {
      int next = 0;
      for (const Launch& l : plan_batch(c, q)) {
        EXPECT_EQ(l.first_query, next) << s << " Q=" << q;
        EXPECT_GE(l.queries, 1);
        EXPECT_LE(l.queries, one_pass ? q : c.tile);
        EXPECT_EQ(l.queries & (l.queries - 1), one_pass ? l.queries & (l.queries - 1) : 0)
            << s << ": full-batch launches are powers of two";
        next += l.queries;
      }
      EXPECT_EQ(next, q) << s;
    }
  }
}

TEST(Plan, MultiStreamGoesRoundRobin) {
  const auto plan = plan_batch(strategy_config("multi_stream_3"), 7);
  ASSERT_EQ(plan.size(), 7u);
  for (int q = 0; q < 7; ++q) EXPECT_EQ(plan[q], (Launch{q, 1, q % 3}));
}

TEST(Plan, StreamsOverrideThePolicy) {
  PolicyConfig c = strategy_config("fused");
  c.streams = 2;
  EXPECT_EQ(plan_batch(c, 4).size(), 4u);
}

TEST(Strategy, NamesRoundTrip) {
  for (const std::string& s : all_strategies()) EXPECT_EQ(strategy_name(strategy_config(s)), s);
  EXPECT_EQ(strategy_config("multi_stream_8").streams, 8);
  EXPECT_THROW(strategy_config("multi_stream_9"), ConfigError);
  EXPECT_THROW(strategy_config("multi_stream_"), ConfigError);
  EXPECT_THROW(strategy_config("turbo"), ConfigError);
  EXPECT_EQ(seed_strategies().size(), 5u);
}

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Env, DefaultsAreMorphogens) {
  const PolicyConfig c = apply_env(PolicyConfig{}, env_of({}));
  EXPECT_EQ(c.mode, BatchMode::Adaptive);
  EXPECT_EQ(c.streams, 1);
  EXPECT_FALSE(c.graph);
  EXPECT_EQ(c.tile, 16);
  EXPECT_EQ(c.threshold, 4);
}

TEST(Env, AppliesEverySwitch) {
  const PolicyConfig c = apply_env(PolicyConfig{}, env_of({{"MORPHOGEN_GPU_STREAMS", "4"},
                                                           {"MORPHOGEN_GPU_BATCH_POLICY", " Fused "},
                                                           {"MORPHOGEN_GPU_BATCH_ADAPTIVE_THRESHOLD", "32"},
                                                           {"MORPHOGEN_GPU_CUDA_GRAPH", "yes"},
                                                           {"MORPHOGEN_GPU_BATCH_TILE_SIZE", "1"}}));
  EXPECT_EQ(c, (PolicyConfig{BatchMode::Fused, 4, true, 1, 32}));
  EXPECT_EQ(env_switches(env_of({{"MORPHOGEN_GPU_STREAMS", "4"}})),
            std::vector<std::string>{"MORPHOGEN_GPU_STREAMS=4"});
}

TEST(Env, RefusesBadValuesNamingTheVariableAndRange) {
  const std::vector<std::tuple<std::string, std::string, std::string>> bad = {
      {"MORPHOGEN_GPU_STREAMS", "0", "1..8"},
      {"MORPHOGEN_GPU_STREAMS", "9", "1..8"},
      {"MORPHOGEN_GPU_STREAMS", "two", "1..8"},
      {"MORPHOGEN_GPU_STREAMS", "", "1..8"},
      {"MORPHOGEN_GPU_STREAMS", "4x", "1..8"},
      {"MORPHOGEN_GPU_BATCH_POLICY", "fast", "latency, adaptive, throughput, fused"},
      {"MORPHOGEN_GPU_BATCH_ADAPTIVE_THRESHOLD", "33", "1..32"},
      {"MORPHOGEN_GPU_BATCH_ADAPTIVE_THRESHOLD", "-1", "1..32"},
      {"MORPHOGEN_GPU_CUDA_GRAPH", "maybe", "1/0, true/false"},
      {"MORPHOGEN_GPU_BATCH_TILE_SIZE", "17", "1..16"},
      {"MORPHOGEN_GPU_BATCH_TILE_SIZE", "99999999999", "1..16"},
  };
  for (const auto& [name, value, range] : bad) {
    try {
      apply_env(PolicyConfig{}, env_of({{name, value}}));
      ADD_FAILURE() << name << "=" << value << " was accepted";
    } catch (const ConfigError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(name), std::string::npos) << msg;
      EXPECT_NE(msg.find(range), std::string::npos) << msg;
    }
  }
}

TEST(Parse, BoolsAndModes) {
  for (const char* t : {"1", "true", "YES", "on"}) EXPECT_TRUE(parse_bool(t, "--graph"));
  for (const char* f : {"0", "False", "no", "off"}) EXPECT_FALSE(parse_bool(f, "--graph"));
  EXPECT_THROW(parse_bool("2", "--graph"), ConfigError);
  EXPECT_EQ(parse_mode("THROUGHPUT", "--policy"), BatchMode::Throughput);
  EXPECT_THROW(parse_mode("", "--policy"), ConfigError);
}

}  // namespace
}  // namespace pagequery
