#pragma once
// --accumulate lop3|mma, shared by `answer` and `sweep`: how the engine's kernel sums
// page AND mask (policies/engine.hpp, Accumulate).
#include "policies/engine.hpp"

#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace pagequery::apps {

// Registers --accumulate on `app`, writing into `target` (which must outlive the
// parse). A bad value is a CLI11 validation error with parse_accumulate's message,
// so it is refused like any usage error: one line, exit 2, before MPI starts.
void add_accumulate_flag(CLI::App* app, Accumulate& target);

// Why an mma engine cannot run `config`, or nullopt when it can: a graph replay
// (a Kokkos graph holds Kokkos kernels only; make_policy lets more than one stream
// win over graph) and kokkos_kernels_gemm (its gemm reads pages as vectors).
std::optional<std::string> lop3_only(const PolicyConfig& config);

}  // namespace pagequery::apps
