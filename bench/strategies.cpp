#include "bench/strategies.hpp"

#include "bench/stats.hpp"
#include "service/errors.hpp"
#include "service/text.hpp"

#include <algorithm>

namespace pagequery::bench {

using namespace service;

namespace {

// The strategies resolved so far.
class StrategyList {
 public:
  StrategyList(Accumulate accumulate, std::vector<std::string>& left_out)
      : accumulate_(accumulate), left_out_(left_out) {}

  // A strategy named on its own (a group's members too): refused when it cannot run.
  void add(const std::string& name, const PolicyConfig& config) {
    for (const Strategy& s : out_)
      if (s.name == name) return;  // "seed,baseline_full_batch": listed once
    if (name.size() >= kStrategyChars) throw InputError("--strategies: the name '" + name + "' is too long");
    if (accumulate_ == Accumulate::Mma)
      if (const auto why = lop3_only(config))
        throw InputError("--strategies: " + name + (name == "env" ? " (" + std::string(kEnvGraph) + ")" : "") + ": " +
                         *why);
    out_.push_back({name, config});
  }

  // A group's members; under mma the lop3-only ones are left out, not refused.
  void add_group(const std::vector<std::string>& group) {
    for (const std::string& name : group) {
      const PolicyConfig config = strategy_config(name);
      if (accumulate_ != Accumulate::Mma || !lop3_only(config))
        add(name, config);
      else if (std::find(left_out_.begin(), left_out_.end(), name) == left_out_.end())
        left_out_.push_back(name);
    }
  }

  std::vector<Strategy> take() { return std::move(out_); }

 private:
  Accumulate accumulate_;
  std::vector<std::string>& left_out_;
  std::vector<Strategy> out_;
};

}  // namespace

std::vector<Strategy> resolve_strategies(const std::string& text, Accumulate accumulate,
                                         std::vector<std::string>& left_out) {
  StrategyList list(accumulate, left_out);
  for (const std::string& item : as_input("", [&] { return split_list(text, "--strategies"); })) {
    if (item == "seed")
      list.add_group(seed_strategies());
    else if (item == "default")
      list.add_group(default_strategies());
    else if (item == "all")
      list.add_group(all_strategies());
    else if (item == "env")
      list.add("env", as_input("", [] { return apply_env(PolicyConfig{}); }));
    else
      list.add(item, as_input("--strategies: ", [&] { return strategy_config(item); }));
  }
  return list.take();
}

}  // namespace pagequery::bench
