#pragma once
// A run's metadata, as the attributes of its results group: what ran (build,
// host, device, Kokkos), on which matrix and shards, with which axes and
// settings, and in which environment. Set once, before the first cell (the GPU's
// clocks again at each commit).
#include "bench/plan.hpp"
#include "bench/results/record.hpp"
#include "service/mpi_context.hpp"

#include "pagequery/policies/engine.hpp"

#include <string>
#include <vector>

namespace pagequery::bench {

// Sets the run's attributes in their documented order (data/README.md); `started`
// is the UTC start time, `info` this rank's engine's.
void describe_run(RunRecord& run, const Plan& plan, const MatrixInfo& info, const std::string& started,
                  const service::MpiContext& mpi, const std::vector<PageRange>& layout);

// The GPU's clocks of the moment `facts` were read (Runtime::DeviceFacts::now),
// named with `suffix`: a run records them at its start ("") and at each commit
// ("_end"), so a cell slower than its neighbours can be told from a throttled GPU.
void record_device_clocks(RunRecord& run, const Runtime::DeviceFacts& facts, const std::string& suffix);

}  // namespace pagequery::bench
