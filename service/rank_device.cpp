#include "service/rank_device.hpp"

#include "service/device_binding.hpp"
#include "service/impl/test_hooks.hpp"

#include "pagequery/policies/engine.hpp"
#include "pagequery/policies/policy_config.hpp"

#include <vector>

namespace pagequery::service {

namespace {

// The GPUs this process sees; in a host build none, unless a test build counts
// some (Details::TestHooks) so that the binding and its refusals run in CI (host
// backends still ignore the index).
int gpus_seen() {
  if (const int gpus = Runtime::visible_gpus()) return gpus;
  return Details::test_hooks().visible_gpus;
}

}  // namespace

RankDevice bind_rank_device(const MpiContext& mpi, bool share_gpus) {
  if (mpi.size() == 1) return {};
  DeviceChoice mine;
  mpi.step([&] { mine = choose_device(binding_input(process_env, mpi.local_rank(), mpi.size(), gpus_seen())); });
  const std::vector<std::string> gpus = mpi.gather(mine.gpu), nodes = mpi.gather(std::to_string(mpi.node()));
  std::vector<RankGpu> ranks;
  for (int r = 0; r < mpi.size(); ++r)
    ranks.push_back({r, std::stoi(nodes[static_cast<std::size_t>(r)]), gpus[static_cast<std::size_t>(r)]});
  mpi.step([&] { check_sharing(ranks, share_gpus); });
  return {mine.index, binding_summary(ranks)};
}

}  // namespace pagequery::service
