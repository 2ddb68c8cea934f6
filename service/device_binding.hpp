#pragma once
// Which GPU an MPI rank runs on: pure functions of what a rank sees (no MPI, no
// Kokkos, no CUDA here; service/rank_device.hpp feeds them and applies the result).
//
// The rule: a rank takes GPU `local rank % GPUs it sees`. That is right for both
// Slurm layouts. With --gpus-per-task=1 each rank sees its own GPU alone (index 0);
// with --gpus-per-node=N every rank of a node sees the same N and its local rank
// picks one. What no single rank can tell is whether two ranks of a node ended on
// the same physical GPU (more ranks than GPUs, or a launcher that gave every task
// the same CUDA_VISIBLE_DEVICES); check_sharing() compares all the ranks' choices
// and refuses that unless sharing is asked for (several ranks on one lent GPU).
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace pagequery::service {

// The layout a job script promises (PAGEQUERY_GPU_LAYOUT): PerTask, every rank
// sees exactly one GPU (srun --gpus-per-task=1); PerNode, the ranks of a node see
// the node's GPUs (--gpus-per-node); Any, nothing promised (mpirun by hand).
enum class GpuLayout { Any, PerTask, PerNode };
// "" → Any, "per-task", "per-node"; anything else is an InputError naming `source`.
GpuLayout parse_gpu_layout(const std::string& text, const std::string& source);

struct BindingInput {
  int local_rank = 0;  // MPI's rank among the ranks of this node
  // The launcher's own number for this task on the node (OMPI_COMM_WORLD_LOCAL_RANK,
  // or SLURM_LOCALID when srun started the ranks). It wins over MPI's: srun's
  // CPU and GPU binding count tasks by it. nullopt: none to trust.
  std::optional<int> launcher_local_rank;
  int gpus = 0;                                // GPUs this process sees; 0: a host backend, nothing to bind
  std::optional<std::string> visible_devices;  // CUDA_VISIBLE_DEVICES, nullopt when unset
  GpuLayout layout = GpuLayout::Any;
};

// A process environment: the variable's value, nullopt when unset (tests pass a map).
using Env = std::function<std::optional<std::string>(const char* name)>;

// BindingInput from `env`: CUDA_VISIBLE_DEVICES, PAGEQUERY_GPU_LAYOUT, and the
// launcher's local rank where the launcher started the ranks themselves: mpirun's
// OMPI_COMM_WORLD_LOCAL_RANK, or SLURM_LOCALID when SLURM_STEP_NUM_TASKS is `ranks`
// (under mpirun inside a job, SLURM_LOCALID is that of mpirun's daemon, the same for
// every rank of a node). A malformed value is an InputError naming the variable.
BindingInput binding_input(const Env& env, int local_rank, int ranks, int gpus);

struct DeviceChoice {
  std::optional<int> index;  // for Runtime: 0 <= index < gpus; nullopt on a host backend
  // The physical GPU: CUDA_VISIBLE_DEVICES's entry at `index` (an ordinal or a
  // UUID), or the index itself when the variable is unset; "" on a host backend.
  std::string gpu;
};

// This rank's GPU; an InputError (one line) when what it sees contradicts the
// layout or CUDA_VISIBLE_DEVICES.
DeviceChoice choose_device(const BindingInput& in);

// One rank's choice as every rank sees it after a gather.
struct RankGpu {
  int rank = 0;
  int node = 0;     // the same number for all ranks of one node
  std::string gpu;  // DeviceChoice::gpu
};

// An InputError naming two ranks of one node on the same GPU, unless `share`.
void check_sharing(std::span<const RankGpu> ranks, bool share);

// "rank 0 on GPU 2, rank 1 on GPU 3" ("on node N GPU 2" when the ranks span nodes);
// "" when no rank has a GPU.
std::string binding_summary(std::span<const RankGpu> ranks);

// The entries of a CUDA_VISIBLE_DEVICES value ("0,1" → {"0", "1"}; "" → {}).
std::vector<std::string> visible_device_list(const std::string& value);

}  // namespace pagequery::service
