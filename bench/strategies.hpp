#pragma once
// The sweep's strategy axis: names and groups resolved into batching policies
// (those an mma engine cannot run: lop3_only in policies/policy_config.hpp).
#include "pagequery/policies/engine.hpp"
#include "pagequery/policies/policy_config.hpp"

#include <string>
#include <vector>

namespace pagequery::bench {

struct Strategy {
  std::string name;
  PolicyConfig config;
};

// --strategies: names, the groups `seed`, `default` and `all`, and `env` (what the
// MORPHOGEN_GPU_* switches select), each strategy once, in order. Under mma the
// groups leave out the lop3-only strategies (named in `left_out`), and one named
// on its own is refused (InputError), all before the matrix is loaded. Under auto
// they all stay: they make the run lop3 (accumulate_for).
std::vector<Strategy> resolve_strategies(const std::string& text, Accumulate accumulate,
                                         std::vector<std::string>& left_out);

}  // namespace pagequery::bench
