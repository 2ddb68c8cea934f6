#pragma once
// The Kokkos side of the tensor-core page query (bit-sliced matrices, CUDA,
// compute capability 8.0+): what the raw-CUDA kernels of impl/page_query_mma.cpp
// need from the instance, the matrix and the keys. Elsewhere it only refuses.
#include "core/page_query_args.hpp"
#ifdef KOKKOS_ENABLE_CUDA
#include "core/impl/page_query_mma.hpp"
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

namespace impl {

template <class ExecSpace>
class TensorCorePageQuery {
 public:
  using memory_space = typename ExecSpace::memory_space;

  TensorCorePageQuery([[maybe_unused]] const ExecSpace& exec,
                      [[maybe_unused]] const PageMatrix<memory_space>& matrix,
                      [[maybe_unused]] const KeyBatch<memory_space>& keys,
                      [[maybe_unused]] const AnswerView<memory_space>& answers,
                      [[maybe_unused]] const PageQueryTuning& tuning) {
    if (!mma_available(exec))
      throw std::invalid_argument("page query: a bit-sliced matrix needs a CUDA GPU of compute capability 8.0+");
#ifdef KOKKOS_ENABLE_CUDA
    if constexpr (std::is_same_v<ExecSpace, Kokkos::Cuda>)
      query_ = MmaPageQuery{reinterpret_cast<const std::uint32_t*>(matrix.view().data()),
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
                            tuning.mma_slab};
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
