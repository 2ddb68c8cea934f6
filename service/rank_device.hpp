#pragma once
// This MPI rank's GPU: service/device_binding.hpp's rule, fed from the environment
// (CUDA_VISIBLE_DEVICES, the launcher's local rank, PAGEQUERY_GPU_LAYOUT) and
// checked against every other rank's choice. Called before Runtime starts Kokkos.
#include "service/mpi_context.hpp"

#include <optional>
#include <string>

namespace pagequery::service {

struct RankDevice {
  std::optional<int> index;  // Runtime's device_index; nullopt: one rank, Kokkos's own choice
  std::string summary;       // binding_summary(): every rank's GPU; "" without GPUs
};

// Collective (every rank calls it). Refuses through the ranks' agreement (one line,
// exit 2): a layout the rank does not see, or two ranks of a node on one GPU
// unless `share_gpus`. A host backend binds nothing: index nullopt, no refusal.
RankDevice bind_rank_device(const MpiContext& mpi, bool share_gpus);

}  // namespace pagequery::service
