#pragma once
// Maps a configuration (a strategy name, env switches, flags) to a policy object.
#include "pagequery/policies/adaptive_micro_batch.hpp"
#include "pagequery/policies/full_batch.hpp"
#include "pagequery/policies/fused.hpp"
#include "pagequery/policies/graph_replay.hpp"
#include "pagequery/policies/multi_stream.hpp"
#include "pagequery/policies/throughput.hpp"
#ifdef PAGEQUERY_HAVE_KOKKOS_KERNELS
#include "pagequery/policies/kokkos_kernels_gemm.hpp"
#endif

#include <memory>

namespace pagequery {

template <class ExecSpace>
std::unique_ptr<BatchPolicy<ExecSpace>> make_policy(const PolicyConfig& c) {
  if (c.streams > 1) return std::make_unique<MultiStream<ExecSpace>>(c.streams);
  if (c.graph) return std::make_unique<GraphReplay<ExecSpace>>(c);
  switch (c.mode) {
    case BatchMode::Latency:
      return std::make_unique<FullBatch<ExecSpace>>(c.tile);
    case BatchMode::Adaptive:
      return std::make_unique<AdaptiveMicroBatch<ExecSpace>>(c.threshold, c.tile);
    case BatchMode::Throughput:
      return std::make_unique<Throughput<ExecSpace>>(c.tile);
    case BatchMode::Fused:
      return std::make_unique<Fused<ExecSpace>>();
    case BatchMode::Gemm:
#ifdef PAGEQUERY_HAVE_KOKKOS_KERNELS
      return std::make_unique<KokkosKernelsGemm<ExecSpace>>();
#else
      throw ConfigError("kokkos_kernels_gemm: this build has no Kokkos Kernels (PAGEQUERY_ENABLE_KOKKOS_KERNELS=OFF)");
#endif
  }
  throw ConfigError("unknown batch mode");
}

}  // namespace pagequery
