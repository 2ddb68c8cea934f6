#pragma once
// What a page query takes: the keys of one launch (either format), the answers
// it writes and the kernels' tuning knobs.
#include "dpf.hpp"
#include "dpf_packed.hpp"
#include "page_matrix.hpp"
#include "tensor_kernel.hpp"

#include <Kokkos_Core.hpp>

#include <cstddef>
#include <type_traits>
#include <utility>

namespace pagequery {

template <class MemorySpace, class Key = DpfKey>
using KeyView = Kokkos::View<const Key*, MemorySpace>;
// answers(k, v): vector v of key k's 4 KiB answer.
template <class MemorySpace>
using AnswerView = Kokkos::View<Bits128**, Kokkos::LayoutRight, MemorySpace>;

// Pages per leaf of a key format, as a power of two.
template <class Key>
inline constexpr int kLeafPagesLog2 = 0;
template <>
inline constexpr int kLeafPagesLog2<PackedDpfKey> = kPackedLeafLog2;

// The keys of one launch, of either format (never both): the policies carry
// them without knowing which.
template <class MemorySpace>
class KeyBatch {
 public:
  KeyBatch() = default;
  template <class View>
  requires std::is_convertible_v<View, KeyView<MemorySpace>> KeyBatch(const View& keys) : morphogen_(keys) {}
  template <class View>
  requires std::is_convertible_v<View, KeyView<MemorySpace, PackedDpfKey>> KeyBatch(const View& keys)
      : packed_(keys), format_(DpfFormat::Packed) {}

  DpfFormat format() const { return format_; }
  std::size_t size() const { return packed() ? packed_.extent(0) : morphogen_.extent(0); }
  const void* data() const { return packed() ? static_cast<const void*>(packed_.data()) : morphogen_.data(); }
  // Keys [begin, end) of this batch.
  KeyBatch rows(std::size_t begin, std::size_t end) const {
    const auto range = std::make_pair(begin, end);
    return packed() ? KeyBatch(Kokkos::subview(packed_, range)) : KeyBatch(Kokkos::subview(morphogen_, range));
  }
  template <class Key>
  const KeyView<MemorySpace, Key>& view() const {
    if constexpr (std::is_same_v<Key, PackedDpfKey>)
      return packed_;
    else
      return morphogen_;
  }

 private:
  bool packed() const { return format_ == DpfFormat::Packed; }
  KeyView<MemorySpace> morphogen_;
  KeyView<MemorySpace, PackedDpfKey> packed_;
  DpfFormat format_ = DpfFormat::Morphogen;
};

struct PageQueryTuning {
  int chunk_log2 = 0;  // leaves per subtree as a power of two; 0: by key group and format
  int teams = 0;       // target league size; 0 derives it from the backend's concurrency
  int key_group = 0;   // one of kKeyGroups; 0: by key count
  int mma_tiles = 0;   // tensor cores, packed keys: 16-key tiles a team holds (1, 2, 3, 4, 6); 0: by key count
  int mma_slab = 0;    // tensor cores, packed keys: blocks a launch expands leaves for; 0: 256 MiB of leaves
  // tensor cores, packed keys: the kernel; Auto: the matrix's choice (PageMatrix::tensor_kernel)
  TensorKernel tensor_kernel = TensorKernel::Auto;
  int wgmma_cluster = 0;  // wgmma: blocks of a cluster sharing each block's leaves (1, 2, 4); 0: by key count
};

}  // namespace pagequery
