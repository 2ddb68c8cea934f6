#include "service/device_binding.hpp"

#include "service/errors.hpp"
#include "service/text.hpp"

#include <climits>
#include <map>
#include <utility>

namespace pagequery::service {

GpuLayout parse_gpu_layout(const std::string& text, const std::string& source) {
  if (text.empty()) return GpuLayout::Any;
  if (text == "per-task") return GpuLayout::PerTask;
  if (text == "per-node") return GpuLayout::PerNode;
  throw InputError(source + " must be per-task or per-node, got '" + printable(text) + "'");
}

std::vector<std::string> visible_device_list(const std::string& value) {
  std::vector<std::string> out;
  if (value.empty()) return out;
  for (std::size_t at = 0;;) {
    const std::size_t comma = value.find(',', at);
    out.push_back(value.substr(at, comma - at));
    if (comma == std::string::npos) return out;
    at = comma + 1;
  }
}

namespace {
int env_int(const char* name, const std::string& value) {
  return as_input("", [&] {
    const std::uint64_t n = parse_u64(value, name);
    if (n > INT_MAX) throw InputError(std::string(name) + " is too large: " + printable(value));
    return static_cast<int>(n);
  });
}

std::optional<int> launcher_local_rank(const Env& env, int ranks) {
  if (auto v = env("OMPI_COMM_WORLD_LOCAL_RANK")) return env_int("OMPI_COMM_WORLD_LOCAL_RANK", *v);
  const std::optional<std::string> tasks = env("SLURM_STEP_NUM_TASKS"), id = env("SLURM_LOCALID");
  if (tasks && id && *tasks == std::to_string(ranks)) return env_int("SLURM_LOCALID", *id);
  return std::nullopt;
}

std::string gpus_seen(const BindingInput& in) {
  std::string text = "this rank sees " + std::to_string(in.gpus) + (in.gpus == 1 ? " GPU" : " GPUs");
  if (in.visible_devices) text += " (CUDA_VISIBLE_DEVICES=" + printable(*in.visible_devices) + ")";
  return text;
}
}  // namespace

BindingInput binding_input(const Env& env, int local_rank, int ranks, int gpus) {
  BindingInput in;
  in.local_rank = local_rank;
  in.launcher_local_rank = launcher_local_rank(env, ranks);
  in.gpus = gpus;
  in.visible_devices = env("CUDA_VISIBLE_DEVICES");
  in.layout = parse_gpu_layout(env("PAGEQUERY_GPU_LAYOUT").value_or(""), "PAGEQUERY_GPU_LAYOUT");
  return in;
}

DeviceChoice choose_device(const BindingInput& in) {
  if (in.gpus <= 0) return {};
  if (in.layout == GpuLayout::PerTask && in.gpus != 1)
    throw InputError("the GPU layout is per-task, but " + gpus_seen(in) +
                     ": the launcher did not give each task a GPU of its own (srun --gpus-per-task=1)");
  const int index = in.launcher_local_rank.value_or(in.local_rank) % in.gpus;
  if (!in.visible_devices) return {index, std::to_string(index)};
  // CUDA numbers the devices in the order of this list (it stops at a bad entry,
  // so the list is never shorter than what CUDA sees).
  const std::vector<std::string> list = visible_device_list(*in.visible_devices);
  if (static_cast<int>(list.size()) <= index || list[static_cast<std::size_t>(index)].empty())
    throw InputError("CUDA_VISIBLE_DEVICES=" + printable(*in.visible_devices) + " has no entry " +
                     std::to_string(index) + ", but " + gpus_seen(in));
  return {index, list[static_cast<std::size_t>(index)]};
}

void check_sharing(std::span<const RankGpu> ranks, bool share) {
  if (share) return;
  std::map<std::pair<int, std::string>, int> first;  // (node, GPU) → its first rank
  for (const RankGpu& r : ranks) {
    if (r.gpu.empty()) continue;
    const auto [at, fresh] = first.emplace(std::pair{r.node, r.gpu}, r.rank);
    if (!fresh)
      throw InputError("ranks " + std::to_string(at->second) + " and " + std::to_string(r.rank) + " would share GPU " +
                       printable(r.gpu) +
                       " of their node: give each rank a GPU of its own "
                       "(srun --gpus-per-task=1, or no more ranks per node than GPUs), or pass --share-gpus");
  }
}

std::string binding_summary(std::span<const RankGpu> ranks) {
  bool any = false, nodes = false;
  for (const RankGpu& r : ranks) {
    any = any || !r.gpu.empty();
    nodes = nodes || r.node != ranks.front().node;
  }
  if (!any) return "";
  std::string out;
  for (const RankGpu& r : ranks) {
    if (!out.empty()) out += ", ";
    out += "rank " + std::to_string(r.rank) + " on " + (nodes ? "node " + std::to_string(r.node) + " " : "") + "GPU " +
           printable(r.gpu);
  }
  return out;
}

}  // namespace pagequery::service
