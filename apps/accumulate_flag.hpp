#pragma once
// --accumulate lop3|mma|auto, shared by `answer` and `sweep`: how the engine's kernel sums
// page AND mask (policies/engine.hpp, Accumulate).
#include "pagequery/policies/engine.hpp"

namespace CLI {
class App;
}

namespace pagequery::apps {

// Registers --accumulate on `app`, writing into `target` (which must outlive the
// parse). A bad value is a CLI11 validation error with parse_accumulate's message,
// so it is refused like any usage error: one line, exit 2, before MPI starts.
void add_accumulate_flag(CLI::App* app, Accumulate& target);

// Registers --tensor-kernel auto|mma_sync|wgmma (the kernel of packed keys under
// mma; MatrixSpec::tensor_kernel) on `app`, writing into `target`.
void add_tensor_kernel_flag(CLI::App* app, TensorKernel& target);

}  // namespace pagequery::apps
