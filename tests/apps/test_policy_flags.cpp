#include "apps/policy_flags.hpp"

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace pagequery::apps {
namespace {

// A fake environment that records which variables were read.
struct FakeEnv {
  std::map<std::string, std::string> vars;
  mutable std::set<std::string> read{};
  EnvLookup lookup() const {
    return [this](const char* name) -> std::optional<std::string> {
      read.insert(name);
      const auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
};

PolicyFlags parse(std::vector<std::string> args) {
  PolicyFlags flags;
  CLI::App app{"test"};
  add_policy_flags(&app, flags);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 wants them reversed
  app.parse(reversed);
  return flags;
}

std::string refusal(const PolicyFlags& flags, const FakeEnv& env) {
  try {
    resolve(flags, env.lookup());
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(PolicyFlags, DefaultsWithoutFlagsOrEnv) {
  FakeEnv env;
  EXPECT_EQ(resolve(parse({}), env.lookup()), PolicyConfig{});
}

TEST(PolicyFlags, FlagsAreParsedAsStrings) {
  const PolicyFlags flags =
      parse({"--policy", "latency", "--streams", "4", "--graph", "on", "--tile", "8", "--threshold", "7"});
  EXPECT_EQ(flags.policy, "latency");
  EXPECT_EQ(flags.streams, "4");
  EXPECT_EQ(flags.graph, "on");
  EXPECT_EQ(flags.tile, "8");
  EXPECT_EQ(flags.threshold, "7");
  FakeEnv env;
  const PolicyConfig c = resolve(flags, env.lookup());
  EXPECT_EQ(c, (PolicyConfig{BatchMode::Latency, 4, true, 8, 7}));
}

TEST(PolicyFlags, EnvAppliesOverDefaults) {
  FakeEnv env{{{"MORPHOGEN_GPU_STREAMS", "3"},
               {"MORPHOGEN_GPU_BATCH_POLICY", "throughput"},
               {"MORPHOGEN_GPU_CUDA_GRAPH", "yes"},
               {"MORPHOGEN_GPU_BATCH_TILE_SIZE", "2"},
               {"MORPHOGEN_GPU_BATCH_ADAPTIVE_THRESHOLD", "9"}}};
  EXPECT_EQ(resolve(parse({}), env.lookup()), (PolicyConfig{BatchMode::Throughput, 3, true, 2, 9}));
}

TEST(PolicyFlags, FlagsOverrideEnv) {
  FakeEnv env{{{"MORPHOGEN_GPU_STREAMS", "3"},
               {"MORPHOGEN_GPU_BATCH_POLICY", "throughput"},
               {"MORPHOGEN_GPU_CUDA_GRAPH", "yes"},
               {"MORPHOGEN_GPU_BATCH_TILE_SIZE", "2"},
               {"MORPHOGEN_GPU_BATCH_ADAPTIVE_THRESHOLD", "9"}}};
  const PolicyConfig c =
      resolve(parse({"--policy", "fused", "--streams", "1", "--graph", "off", "--tile", "16", "--threshold", "4"}),
              env.lookup());
  EXPECT_EQ(c, (PolicyConfig{BatchMode::Fused, 1, false, 16, 4}));
  // One flag overrides its own variable only.
  EXPECT_EQ(resolve(parse({"--tile", "5"}), env.lookup()), (PolicyConfig{BatchMode::Throughput, 3, true, 5, 9}));
}

TEST(PolicyFlags, AnOverriddenEnvVarIsNotRead) {
  FakeEnv env{{{"MORPHOGEN_GPU_STREAMS", "9"}}};
  EXPECT_EQ(refusal(parse({}), env), "MORPHOGEN_GPU_STREAMS must be an integer in 1..8, got '9'");
  env.read.clear();
  EXPECT_EQ(resolve(parse({"--streams", "2"}), env.lookup()).streams, 2);
  EXPECT_EQ(env.read.count("MORPHOGEN_GPU_STREAMS"), 0u);
  EXPECT_EQ(refusal(parse({"--tile", "2"}), env), "MORPHOGEN_GPU_STREAMS must be an integer in 1..8, got '9'");

  FakeEnv bad{{{"MORPHOGEN_GPU_BATCH_POLICY", "bogus"},
               {"MORPHOGEN_GPU_CUDA_GRAPH", "maybe"},
               {"MORPHOGEN_GPU_BATCH_TILE_SIZE", "0"},
               {"MORPHOGEN_GPU_BATCH_ADAPTIVE_THRESHOLD", "x"}}};
  const PolicyConfig c =
      resolve(parse({"--policy", "latency", "--graph", "1", "--tile", "4", "--threshold", "2"}), bad.lookup());
  EXPECT_EQ(c, (PolicyConfig{BatchMode::Latency, 1, true, 4, 2}));
}

TEST(PolicyFlags, AStrategyNameFixesEverySetting) {
  FakeEnv env{{{"MORPHOGEN_GPU_STREAMS", "9"}, {"MORPHOGEN_GPU_CUDA_GRAPH", "on"}}};
  EXPECT_EQ(resolve(parse({"--policy", "multi_stream_4"}), env.lookup()), strategy_config("multi_stream_4"));
  EXPECT_TRUE(env.read.empty());
  EXPECT_EQ(resolve(parse({"--policy", "cuda_graph_replay"}), env.lookup()), strategy_config("cuda_graph_replay"));
  for (const std::string& name : all_strategies()) {
    if (name == "throughput" || name == "fused") continue;  // mode names: see below
    EXPECT_EQ(resolve(parse({"--policy", name}), env.lookup()), strategy_config(name)) << name;
  }
  // Single-setting flags still override the strategy's.
  const PolicyConfig c = resolve(parse({"--policy", "tiled_tile4", "--tile", "2", "--graph", "on"}), env.lookup());
  EXPECT_EQ(c, (PolicyConfig{BatchMode::Latency, 1, true, 2, 4}));
  EXPECT_EQ(resolve(parse({"--policy", "multi_stream_7"}), env.lookup()).streams, 7);
}

TEST(PolicyFlags, AModeNameSetsTheModeOnly) {
  FakeEnv env{{{"MORPHOGEN_GPU_STREAMS", "3"}, {"MORPHOGEN_GPU_BATCH_POLICY", "latency"}}};
  for (auto [name, mode] : {std::pair{"latency", BatchMode::Latency}, std::pair{"adaptive", BatchMode::Adaptive},
                            std::pair{"throughput", BatchMode::Throughput}, std::pair{"fused", BatchMode::Fused},
                            std::pair{"Fused", BatchMode::Fused}}) {
    const PolicyConfig c = resolve(parse({"--policy", name}), env.lookup());
    EXPECT_EQ(c.mode, mode) << name;
    EXPECT_EQ(c.streams, 3) << name;
  }
}

TEST(PolicyFlags, RefusalsNameTheFlag) {
  FakeEnv env;
  EXPECT_EQ(refusal(parse({"--streams", "9"}), env), "--streams must be an integer in 1..8, got '9'");
  EXPECT_EQ(refusal(parse({"--streams", "0"}), env), "--streams must be an integer in 1..8, got '0'");
  EXPECT_EQ(refusal(parse({"--tile", "17"}), env), "--tile must be an integer in 1..16, got '17'");
  EXPECT_EQ(refusal(parse({"--threshold", "33"}), env), "--threshold must be an integer in 1..32, got '33'");
  EXPECT_EQ(refusal(parse({"--graph", "maybe"}), env).rfind("--graph must be one of", 0), 0u);
  EXPECT_EQ(refusal(parse({"--policy", "bogus"}), env).rfind("--policy must be a mode", 0), 0u);
  EXPECT_NE(refusal(parse({"--policy", "multi_stream_9"}), env).find("got 'multi_stream_9'"), std::string::npos);
  EXPECT_EQ(refusal(parse({"--streams", ""}), env), "--streams must be an integer in 1..8, got ''");
}

}  // namespace
}  // namespace pagequery::apps
