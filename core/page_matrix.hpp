#pragma once
// The PIR database: pages of 256 16-byte vectors in a device View.
// A matrix may hold a contiguous shard [first_page, first_page + pages) of a
// larger one; DPF indices are global, domain bits are those of the whole matrix.
// Bit-sliced matrices (bit_slice.hpp) keep whole 256-page blocks: the view's row
// r then holds bytes of global pages first_block() * 256 + r's block.
#include "bit_slice.hpp"
#include "bits128.hpp"
#include "matrix_shape.hpp"
#include "synthetic_fill.hpp"
#include "tensor_kernel.hpp"

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <string>

namespace pagequery {

template <class MemorySpace>
class PageMatrix {
 public:
  using view_type = Kokkos::View<Bits128**, Kokkos::LayoutRight, MemorySpace>;

  PageMatrix(view_type rows, std::uint64_t first_page, std::uint64_t pages, int domain_bits, std::string source,
             PageLayout layout = PageLayout::Vectors)
      : rows_(std::move(rows)),
        first_page_(first_page),
        pages_(pages),
        domain_bits_(domain_bits),
        layout_(layout),
        source_(std::move(source)) {}

  // Vectors: (pages x 256) vectors. BitSliced: blocks() x 1 MiB, row by row.
  const view_type& view() const { return rows_; }
  std::uint64_t pages() const { return pages_; }
  std::uint64_t first_page() const { return first_page_; }
  int domain_bits() const { return domain_bits_; }
  PageLayout layout() const { return layout_; }
  // Bit-sliced blocks: [first_block, first_block + blocks) in global block indices.
  std::uint64_t first_block() const { return first_page_ / kSlicePages; }
  std::uint64_t blocks() const { return rows_.extent(0) / kSlicePages; }
  std::uint64_t size_bytes() const { return pages() * kPageBytes; }
  const std::string& source() const { return source_; }
  // The tensor-core kernel a bit-sliced matrix's scans of packed keys ask for
  // (the engine's choice; a launch's tuning may override it).
  TensorKernel tensor_kernel() const { return tensor_kernel_; }
  // wgmma: blocks of a cluster sharing each block's leaves (1, 2, 4); 0: by key count.
  int wgmma_cluster() const { return wgmma_cluster_; }
  void set_tensor_kernel(TensorKernel kernel, int wgmma_cluster = 0) {
    tensor_kernel_ = kernel;
    wgmma_cluster_ = wgmma_cluster;
  }

 private:
  view_type rows_;
  std::uint64_t first_page_;
  std::uint64_t pages_;
  int domain_bits_;
  PageLayout layout_;
  std::string source_;
  TensorKernel tensor_kernel_ = TensorKernel::Auto;
  int wgmma_cluster_ = 0;
};

// Reads a raw matrix file (Morphogen's format: N = ceil(len / 4096), last page
// zero-padded) through a bounded host staging buffer. A range selects a shard;
// by default the whole file. Errors (missing, empty, unreadable, too large for
// the memory space) are MatrixError, raised before the device allocation.
// `layout` BitSliced slices the loaded pages in place, block by block.
template <class ExecSpace>
PageMatrix<typename ExecSpace::memory_space> load_page_matrix(const ExecSpace& exec, const std::string& path,
                                                              const PageRange* range = nullptr,
                                                              PageLayout layout = PageLayout::Vectors,
                                                              std::size_t staging_bytes = std::size_t{64} << 20);

// A synthetic matrix generated on the device: no host copy, any size.
template <class ExecSpace>
PageMatrix<typename ExecSpace::memory_space> synthesize_page_matrix(const ExecSpace& exec, const PageRange& range,
                                                                    SyntheticFill fill, std::uint64_t seed,
                                                                    PageLayout layout = PageLayout::Vectors);

// Refills an existing matrix's pages in place, in its layout (tests use it to
// change contents behind a replayed graph).
template <class ExecSpace>
void fill_synthetic(const ExecSpace& exec, const PageMatrix<typename ExecSpace::memory_space>& matrix,
                    SyntheticFill fill, std::uint64_t seed);

}  // namespace pagequery
