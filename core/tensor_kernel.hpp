#pragma once
// Which tensor-core kernel scans packed keys on a bit-sliced matrix. Plain
// types only: the host API and the raw-CUDA kernels share it.
#include <cstddef>
#include <stdexcept>
#include <string>

namespace pagequery {

// MmaSync: warp MMAs (mma.sync m16n8k256), compute capability 8.0+. Wgmma:
// warpgroup MMAs fed by bulk copies (sm_90a code), compute capability 9.0 only.
// Auto: wgmma where it runs for launches of more than kWgmmaAutoKeys keys, else
// mma.sync. Morphogen keys always run mma.sync.
enum class TensorKernel { Auto, MmaSync, Wgmma };

// Up to 96 keys (32 queries) mma.sync scans in one pass and measured as fast as
// wgmma on an H100 (Q = 1: 1.02x the read floor against 1.06x; Q = 32: 1.18x
// against 1.16x); above, it needs a pass per 96 keys and wgmma wins (Q = 128:
// 2.30x against 3.57x; docs/hopper.md).
inline constexpr int kWgmmaAutoKeys = 96;

inline std::string to_string(TensorKernel kernel) {
  switch (kernel) {
    case TensorKernel::MmaSync:
      return "mma_sync";
    case TensorKernel::Wgmma:
      return "wgmma";
    default:
      return "auto";
  }
}

// "auto", "mma_sync" or "wgmma"; anything else is std::invalid_argument naming it.
inline TensorKernel parse_tensor_kernel(const std::string& name) {
  for (TensorKernel k : {TensorKernel::Auto, TensorKernel::MmaSync, TensorKernel::Wgmma})
    if (to_string(k) == name) return k;
  throw std::invalid_argument("tensor kernel: expected auto, mma_sync or wgmma, got '" + name + "'");
}

inline bool wgmma_runs_on(int major, int minor) { return major == 9 && minor == 0; }

// The kernel `asked` runs as for a launch of `keys` packed keys on a device of
// compute capability major.minor (never Auto); Wgmma where it cannot run is
// std::invalid_argument.
inline TensorKernel resolve_tensor_kernel(TensorKernel asked, int major, int minor, std::size_t keys) {
  if (asked == TensorKernel::Auto)
    return wgmma_runs_on(major, minor) && keys > kWgmmaAutoKeys ? TensorKernel::Wgmma : TensorKernel::MmaSync;
  if (asked == TensorKernel::Wgmma && !wgmma_runs_on(major, minor))
    throw std::invalid_argument("tensor kernel: wgmma needs a GPU of compute capability 9.0, this one is " +
                                std::to_string(major) + "." + std::to_string(minor));
  return asked;
}

}  // namespace pagequery
