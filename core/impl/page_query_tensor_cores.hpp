#pragma once
// The Kokkos side of the tensor-core page query (bit-sliced matrices, CUDA,
// compute capability 8.0+): what the raw-CUDA kernels of impl/page_query_mma.cpp
// need from the instance, the matrix and the keys. Elsewhere it only refuses.
#include "pagequery/core/page_query_args.hpp"
#include "pagequery/core/tensor_kernel.hpp"
#ifdef KOKKOS_ENABLE_CUDA
#include "pagequery/core/impl/page_query_mma.hpp"
#endif

#include <Kokkos_Core.hpp>
#include <Kokkos_Profiling_ScopedRegion.hpp>

#include <stdexcept>
#include <type_traits>

namespace pagequery {

// Whether instances of ExecSpace can run the tensor-core kernel (bit-sliced
// matrices): CUDA devices of compute capability 8.0 or newer.
template <class ExecSpace>
bool mma_available(const ExecSpace& exec = ExecSpace()) {
#ifdef KOKKOS_ENABLE_CUDA
  if constexpr (std::is_same_v<ExecSpace, Kokkos::Cuda>) return exec.cuda_device_prop().major >= 8;
#endif
  (void)exec;
  return false;
}

// Whether instances of ExecSpace can run the Hopper kernel of packed keys
// (TensorKernel::Wgmma): CUDA devices of compute capability 9.0.
template <class ExecSpace>
bool wgmma_available(const ExecSpace& exec = ExecSpace()) {
#ifdef KOKKOS_ENABLE_CUDA
  if constexpr (std::is_same_v<ExecSpace, Kokkos::Cuda>)
    return wgmma_runs_on(exec.cuda_device_prop().major, exec.cuda_device_prop().minor);
#endif
  (void)exec;
  return false;
}

// The device's rate of the binary MMA `kernel` issues (m*n*k AND-popc per
// second, a few milliseconds of MMAs on `exec`); 0 where it does not run.
template <class ExecSpace>
double tensor_rate(const ExecSpace& exec, TensorKernel kernel) {
#ifdef KOKKOS_ENABLE_CUDA
  if constexpr (std::is_same_v<ExecSpace, Kokkos::Cuda>) {
    if (kernel == TensorKernel::Wgmma ? !wgmma_available(exec) : !mma_available(exec)) return 0;
    return impl::measure_tensor_rate(exec.cuda_stream(), kernel, exec.cuda_device_prop().multiProcessorCount);
  }
#endif
  (void)exec;
  (void)kernel;
  return 0;
}

namespace impl {

template <class ExecSpace>
class TensorCorePageQuery {
 public:
  using memory_space = typename ExecSpace::memory_space;

  TensorCorePageQuery([[maybe_unused]] const ExecSpace& exec, [[maybe_unused]] const PageMatrix<memory_space>& matrix,
                      [[maybe_unused]] const KeyBatch<memory_space>& keys,
                      [[maybe_unused]] const AnswerView<memory_space>& answers,
                      [[maybe_unused]] const PageQueryTuning& tuning) {
    if (!mma_available(exec))
      throw std::invalid_argument("page query: a bit-sliced matrix needs a CUDA GPU of compute capability 8.0+");
#ifdef KOKKOS_ENABLE_CUDA
    if constexpr (std::is_same_v<ExecSpace, Kokkos::Cuda>)
      query_ =
          MmaPageQuery{reinterpret_cast<const std::uint32_t*>(matrix.view().data()),
                       matrix.first_block(),
                       matrix.blocks(),
                       matrix.domain_bits(),
                       keys.format(),
                       keys.data(),
                       static_cast<int>(keys.size()),
                       answers.data(),
                       exec.cuda_device_prop().multiProcessorCount,
                       tuning.teams,
                       tuning.mma_tiles,
                       tuning.mma_slab,
                       resolve_tensor_kernel(
                           tuning.tensor_kernel != TensorKernel::Auto ? tuning.tensor_kernel : matrix.tensor_kernel(),
                           exec.cuda_device_prop().major, exec.cuda_device_prop().minor, keys.size()),
                       tuning.wgmma_cluster > 0 ? tuning.wgmma_cluster : matrix.wgmma_cluster()};
#endif
  }

  void launch([[maybe_unused]] const ExecSpace& exec) const {
#ifdef KOKKOS_ENABLE_CUDA
    if constexpr (std::is_same_v<ExecSpace, Kokkos::Cuda>) {
      Kokkos::Profiling::ScopedRegion region("pagequery::tensor_cores");
      launch_mma_page_query(exec.cuda_stream(), query_);
    }
#endif
  }

 private:
#ifdef KOKKOS_ENABLE_CUDA
  MmaPageQuery query_{};
#endif
};

}  // namespace impl
}  // namespace pagequery
