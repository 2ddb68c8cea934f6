#include "bench/rank_device.hpp"

#include "bench/device_binding.hpp"
#include "bench/errors.hpp"
#include "bench/run_metadata.hpp"
#include "bench/text.hpp"
#include "policies/engine.hpp"

#include <vector>

namespace pagequery::bench {

namespace {

// The GPUs this process sees. Test hook PAGEQUERY_TEST_GPUS=N: a host build counts
// as a CUDA build on a node of N GPUs (CUDA_VISIBLE_DEVICES's entries, else N), so
// that the binding and its refusals run in CI; host backends still ignore the index.
int gpus_seen() {
  if (const int gpus = Runtime::visible_gpus()) return gpus;
  const std::optional<std::string> fake = env_value("PAGEQUERY_TEST_GPUS");
  if (!fake) return 0;
  const std::uint64_t node = as_input("", [&] { return parse_u64(*fake, "PAGEQUERY_TEST_GPUS"); });
  if (node > 64) throw InputError("PAGEQUERY_TEST_GPUS must be at most 64, got " + printable(*fake));
  const std::optional<std::string> visible = env_value("CUDA_VISIBLE_DEVICES");
  return static_cast<int>(visible ? visible_device_list(*visible).size() : node);
}

}  // namespace

RankDevice bind_rank_device(const MpiContext& mpi, bool share_gpus) {
  if (mpi.size() == 1) return {};
  DeviceChoice mine;
  mpi.step([&] { mine = choose_device(binding_input(env_value, mpi.local_rank(), mpi.size(), gpus_seen())); });
  const std::vector<std::string> gpus = mpi.gather(mine.gpu), nodes = mpi.gather(std::to_string(mpi.node()));
  std::vector<RankGpu> ranks;
  for (int r = 0; r < mpi.size(); ++r)
    ranks.push_back({r, std::stoi(nodes[static_cast<std::size_t>(r)]), gpus[static_cast<std::size_t>(r)]});
  mpi.step([&] { check_sharing(ranks, share_gpus); });
  return {mine.index, binding_summary(ranks)};
}

}  // namespace pagequery::bench
