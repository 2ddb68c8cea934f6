#pragma once
// The execution environment, checked before Kokkos initialises. Kokkos 4.6 aborts
// with a backtrace on a malformed KOKKOS_* variable, its OpenMP backend hangs or
// corrupts memory past its thread table, and libgomp ignores an invalid OMP_*
// value with a warning printed before main(). Here each of those becomes a
// ConfigError: one line naming the variable, what it holds and what is allowed.
// Plain C++ (no Kokkos): the backend's facts come in as RuntimeLimits.
#include "pagequery/policies/policy_config.hpp"

#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pagequery {

// What the backend of this build can run, found without initialising Kokkos.
struct RuntimeLimits {
  bool openmp = false;                     // Kokkos's OpenMP backend is compiled in
  int thread_table = 0;                    // the most threads it holds (Kokkos 4.6: 512)
  int openmp_threads = 0;                  // what libgomp starts: OMP_NUM_THREADS, else the CPUs
  int openmp_thread_limit = INT_MAX;       // OMP_THREAD_LIMIT
  int cpus = 1;                            // CPUs this process may run on (its affinity mask)
  std::optional<int> gpus;                 // GPUs a device build sees; nullopt on host builds
  bool tools = false;                      // Kokkos loads KOKKOS_TOOLS_LIBS (built with libdl)
  std::uint64_t host_memory = UINT64_MAX;  // bytes the process may allocate (core/memory_budget.hpp)
};

// More threads per CPU than this only time-slice: refused as a mistake.
inline constexpr int kMaxThreadsPerCpu = 16;

// Throws ConfigError for the first variable Kokkos 4.6 or libgomp would abort on,
// hang on, wrap around (thread counts are read in 64 bits), or ignore. Returns the threads the host backend will run
// (OpenMP; 1 for Serial), which bounds the concurrent sessions of an OpenMP engine.
int check_runtime_env(const RuntimeLimits& limits, const EnvLookup& env = process_env);

// libgomp's warnings while it loaded ("Invalid value for environment variable
// OMP_PROC_BIND", "Stack size less than minimum of 16k"): it printed them and
// went on without the value. apps/early_streams.cpp collects them before main();
// check_runtime_env refuses the variable each is about.
void note_openmp_warning(std::string message);
const std::vector<std::string>& openmp_warnings();

}  // namespace pagequery
