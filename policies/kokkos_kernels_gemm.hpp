#pragma once
// Kokkos Kernels as an independent page-query path: the batched accumulate is a
// matrix product over the Boolean ring of 128-bit words (add = XOR, multiply =
// AND), answers (K x 256) = masks (K x N) * pages (N x 256), which
// KokkosBlas::gemm's generic (non-TPL, non-ETI) path computes for any scalar
// type with Kokkos::ArithTraits and +, *, -.
//
// The masks are materialised one tile of pages at a time (K x N x 16 B is 25 GB
// at mainnet volume): a simple kernel expands each key's DPF subtrees over the
// tile, then gemm(masks_tile (K x T), pages_tile (T x 256)) accumulates into a
// (K x 256) ring-valued matrix with beta = one (XOR). Nothing here shares code
// with the fused kernel except the DPF primitives, which is what makes it an
// oracle for it. Built with PAGEQUERY_ENABLE_KOKKOS_KERNELS (the default); see
// docs/kokkos-kernels.md for the measurements. It reads the pages as vectors, so
// it runs on lop3 engines only (a bit-sliced matrix is refused).
#include "pagequery/policies/policy.hpp"

#include <KokkosBlas3_gemm.hpp>
#include <Kokkos_ArithTraits.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace pagequery {

// One element of the Boolean ring GF(2)^128: + is XOR, * is AND, zero is all
// zero bits, one is all one bits, -x = x. A separate type from Bits128 because
// the generic GEMM writes `ScalarC c = 0;`, which an aggregate cannot take; an
// integer n maps to n * one (its parity), the ring's image of the integers.
// Bits128 converts implicitly (the masks are built from it); Bits128 itself is
// unchanged.
struct alignas(16) XorAnd128 {
  Bits128 bits;

  KOKKOS_INLINE_FUNCTION constexpr XorAnd128() : bits{{0, 0, 0, 0}} {}
  KOKKOS_INLINE_FUNCTION constexpr XorAnd128(int n) : bits{{0, 0, 0, 0}} {
    if (n & 1) bits = Bits128{{~0u, ~0u, ~0u, ~0u}};
  }
  KOKKOS_INLINE_FUNCTION constexpr XorAnd128(const Bits128& b) : bits(b) {}

  KOKKOS_INLINE_FUNCTION static constexpr XorAnd128 zero() { return XorAnd128(0); }
  KOKKOS_INLINE_FUNCTION static constexpr XorAnd128 one() { return XorAnd128(1); }

  KOKKOS_INLINE_FUNCTION XorAnd128& operator+=(const XorAnd128& o) {
    bits = bits ^ o.bits;
    return *this;
  }
  KOKKOS_INLINE_FUNCTION XorAnd128& operator-=(const XorAnd128& o) { return *this += o; }
  KOKKOS_INLINE_FUNCTION XorAnd128& operator*=(const XorAnd128& o) {
    bits = bits & o.bits;
    return *this;
  }

  // Hidden friends: found by ADL only when an operand is an XorAnd128, so that
  // expressions of Bits128 alone (Bits128 + Bits128, Bits128 == 0) stay ill-formed
  // wherever this header is included. The pages enter the gemm's products as the
  // right operand of *.
  KOKKOS_INLINE_FUNCTION friend XorAnd128 operator+(const XorAnd128& a, const XorAnd128& b) { return a.bits ^ b.bits; }
  KOKKOS_INLINE_FUNCTION friend XorAnd128 operator-(const XorAnd128& a, const XorAnd128& b) { return a.bits ^ b.bits; }
  KOKKOS_INLINE_FUNCTION friend XorAnd128 operator*(const XorAnd128& a, const XorAnd128& b) { return a.bits & b.bits; }
  KOKKOS_INLINE_FUNCTION friend XorAnd128 operator*(const XorAnd128& a, const Bits128& b) { return a.bits & b; }
  KOKKOS_INLINE_FUNCTION friend XorAnd128 operator-(const XorAnd128& a) { return a; }
  KOKKOS_INLINE_FUNCTION friend XorAnd128 operator+(const XorAnd128& a) { return a; }
  KOKKOS_INLINE_FUNCTION friend bool operator==(const XorAnd128& a, const XorAnd128& b) { return a.bits == b.bits; }
  KOKKOS_INLINE_FUNCTION friend bool operator!=(const XorAnd128& a, const XorAnd128& b) { return !(a.bits == b.bits); }
};
static_assert(sizeof(XorAnd128) == 16 && std::is_trivially_copyable_v<XorAnd128>);

namespace detail {
// The ArithTraits members the generic BLAS paths use (zero, one, conj, abs and
// the type properties); conj is the identity, abs too (the ring has no order).
template <class T, class Value>
struct XorAndArithTraits {
  using val_type = T;
  using mag_type = T;
  static constexpr bool is_specialized = true;
  static constexpr bool is_signed = false;
  static constexpr bool is_integer = false;
  static constexpr bool is_exact = true;
  static constexpr bool is_complex = false;
  static constexpr bool has_infinity = false;
  KOKKOS_INLINE_FUNCTION static T zero() { return T(Value(0)); }
  KOKKOS_INLINE_FUNCTION static T one() { return T(Value(1)); }
  KOKKOS_INLINE_FUNCTION static T conj(const T& x) { return x; }
  KOKKOS_INLINE_FUNCTION static T real(const T& x) { return x; }
  KOKKOS_INLINE_FUNCTION static T imag(const T&) { return zero(); }
  KOKKOS_INLINE_FUNCTION static T abs(const T& x) { return x; }
  KOKKOS_INLINE_FUNCTION static bool isInf(const T&) { return false; }
  KOKKOS_INLINE_FUNCTION static bool isNan(const T&) { return false; }
  static std::string name() { return "pagequery::XorAnd128"; }
};
struct Bits128Value {  // Bits128 has no integer constructor: go through the ring
  Bits128 bits;
  KOKKOS_INLINE_FUNCTION constexpr explicit Bits128Value(int n) : bits(XorAnd128(n).bits) {}
  KOKKOS_INLINE_FUNCTION constexpr operator Bits128() const { return bits; }
};
}  // namespace detail
}  // namespace pagequery

// The gemm's A and C are XorAnd128; its B (the pages) stays Bits128 and needs
// traits of its own (zero pads partial blocks). Both specialisations are used
// only by this header's gemm instantiations.
namespace Kokkos {
template <>
class ArithTraits<pagequery::XorAnd128> : public pagequery::detail::XorAndArithTraits<pagequery::XorAnd128, int> {};
template <>
class ArithTraits<pagequery::Bits128>
    : public pagequery::detail::XorAndArithTraits<pagequery::Bits128, pagequery::detail::Bits128Value> {};
}  // namespace Kokkos

namespace pagequery {

namespace detail {

// Masks of keys x pages [lo, hi) (global indices) into masks(k, p - lo). One
// item expands one key's subtree of 2^sub_log2 leaves: the path from the root
// (domain_bits - sub_log2 expansions), then the subtree in place, level by level
// (node m of depth j at m * (P >> j)), in a per-item array.
template <class ExecSpace>
struct MaskTile {
  using memory_space = typename ExecSpace::memory_space;
  static constexpr int kMaxSubLog2 = 6;

  KeyView<memory_space> keys;
  Kokkos::View<XorAnd128**, Kokkos::LayoutRight, memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>> masks;
  std::uint64_t lo, hi;
  int domain_bits;
  int sub_log2;
  std::uint64_t first_sub;
  std::int64_t subs;

  KOKKOS_FUNCTION void operator()(std::int64_t item) const {
    const int k = static_cast<int>(item / subs);
    const std::uint64_t c = first_sub + static_cast<std::uint64_t>(item % subs);
    const DpfKey& key = keys(k);
    const int top = domain_bits - sub_log2;
    const int P = 1 << sub_log2;
    DpfNode nodes[1 << kMaxSubLog2];
    nodes[0] = DpfNode{key.root_seed, key.root_t};
    for (int level = 0; level < top; ++level)
      nodes[0] = dpf_child(key, level, nodes[0], static_cast<int>((c >> (top - 1 - level)) & 1u));
    for (int j = 0; j < sub_log2; ++j) {
      const int stride = P >> j;
      for (int m = 0; m < (1 << j); ++m) {
        DpfNode left, right;
        dpf_children(key, top + j, nodes[m * stride], left, right);
        nodes[m * stride] = left;
        nodes[m * stride + stride / 2] = right;
      }
    }
    const std::uint64_t base = c << sub_log2;
    for (int i = 0; i < P; ++i) {
      const std::uint64_t p = base + static_cast<std::uint64_t>(i);
      if (p >= lo && p < hi) masks(k, p - lo) = XorAnd128(dpf_leaf_mask(key, nodes[i]));
    }
  }
};

template <class ExecSpace>
struct RingToAnswers {
  Kokkos::View<const XorAnd128**, Kokkos::LayoutRight, typename ExecSpace::memory_space> acc;
  AnswerView<typename ExecSpace::memory_space> answers;
  KOKKOS_FUNCTION void operator()(std::int64_t i) const {
    const auto k = i / kVectorsPerPage, v = i % kVectorsPerPage;
    answers(k, v) = acc(k, v).bits;
  }
};

}  // namespace detail

// Subtree leaves one mask item expands: 64 on host backends (about 1.2 PRG
// expansions a mask at d = 16), fewer on GPUs where the node array is per thread.
template <class ExecSpace>
constexpr int gemm_mask_sub_log2() {
#ifdef KOKKOS_ENABLE_CUDA
  if constexpr (std::is_same_v<ExecSpace, Kokkos::Cuda>) return 4;
#endif
  return detail::MaskTile<ExecSpace>::kMaxSubLog2;
}

// The whole batch, tile by tile: masks of every key over 2^tile_log2 pages, then
// one KokkosBlas::gemm into the ring-valued accumulator.
template <class ExecSpace>
class KokkosKernelsGemm : public BatchPolicy<ExecSpace> {
 public:
  using typename BatchPolicy<ExecSpace>::memory_space;
  using RingMatrix = Kokkos::View<XorAnd128**, Kokkos::LayoutRight, memory_space>;
  static constexpr int kDefaultTileLog2 = 10;  // 1024 pages: 4 MiB of pages, K x 16 KiB of masks

  explicit KokkosKernelsGemm(int tile_log2 = kDefaultTileLog2) : tile_log2_(std::clamp(tile_log2, 1, 24)) {}

  std::string name() const override { return "kokkos_kernels_gemm"; }
  // One pass over the matrix for the whole batch (as several kernels per tile).
  std::vector<Launch> plan(int queries) const override {
    if (queries <= 0) return {};
    return {{0, queries, 0}};
  }

  // Morphogen keys only: a packed key's masks are whole pages or nothing, which
  // the ring product would spend 128 mask bits a page on.
  void run(const ExecSpace& exec, const PageMatrix<memory_space>& matrix, KeyBatch<memory_space> keys,
           AnswerView<memory_space> answers) override {
    if (keys.format() == DpfFormat::Packed) throw ConfigError("kokkos_kernels_gemm takes Morphogen keys only");
    this->query_count(keys);
    answer(exec, matrix, keys.template view<DpfKey>(), answers);
  }

  // Any number of keys (not only 3 per query): answers(K x 256).
  void answer(const ExecSpace& exec, const PageMatrix<memory_space>& matrix, KeyView<memory_space> keys,
              AnswerView<memory_space> answers) {
    if (answers.extent(0) != keys.extent(0) || answers.extent(1) != kVectorsPerPage)
      throw std::invalid_argument("kokkos_kernels_gemm: answers must be (keys x 256) vectors");
    if (matrix.layout() != PageLayout::Vectors) throw ConfigError(*lop3_only(strategy_config("kokkos_kernels_gemm")));
    const std::int64_t K = static_cast<std::int64_t>(keys.extent(0));
    if (K == 0) return;
    const std::uint64_t first = matrix.first_page();
    const std::uint64_t end = first + matrix.pages();
    const int d = matrix.domain_bits();
    const int tile_log2 = std::min(tile_log2_, d);
    const int sub_log2 = std::min({gemm_mask_sub_log2<ExecSpace>(), tile_log2, d});
    const std::uint64_t tile = std::uint64_t{1} << tile_log2;

    if (acc_.extent(0) != static_cast<std::size_t>(K))
      acc_ = RingMatrix("kokkos_kernels_gemm::acc", K, kVectorsPerPage);
    const std::size_t mask_elems = static_cast<std::size_t>(K) * std::min<std::uint64_t>(tile, end - first);
    if (mask_buffer_.extent(0) < mask_elems)
      mask_buffer_ = Kokkos::View<XorAnd128*, memory_space>(
          Kokkos::view_alloc(Kokkos::WithoutInitializing, "kokkos_kernels_gemm::masks"), mask_elems);

    bool first_tile = true;
    for (std::uint64_t lo = first; lo < end;) {
      const std::uint64_t hi = std::min(end, ((lo >> tile_log2) + 1) << tile_log2);
      const std::int64_t width = static_cast<std::int64_t>(hi - lo);

      detail::MaskTile<ExecSpace> masks;
      masks.keys = keys;
      masks.masks = decltype(masks.masks)(mask_buffer_.data(), K, width);
      masks.lo = lo;
      masks.hi = hi;
      masks.domain_bits = d;
      masks.sub_log2 = sub_log2;
      masks.first_sub = lo >> sub_log2;
      masks.subs = static_cast<std::int64_t>(((hi - 1) >> sub_log2) - masks.first_sub + 1);
      Kokkos::parallel_for("pagequery::kokkos_kernels_gemm::masks",
                           Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(exec, 0, K * masks.subs),
                           masks);

      const Kokkos::View<const XorAnd128**, Kokkos::LayoutRight, memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>
          A(mask_buffer_.data(), K, width);
      const auto B = Kokkos::subview(matrix.view(), std::make_pair(lo - first, hi - first), Kokkos::ALL);
      // beta = zero on the first tile overwrites whatever acc held.
      KokkosBlas::gemm(exec, "N", "N", XorAnd128::one(), A, B, first_tile ? XorAnd128::zero() : XorAnd128::one(), acc_);
      first_tile = false;
      lo = hi;
    }
    if (first_tile) Kokkos::deep_copy(exec, acc_, XorAnd128::zero());
    Kokkos::parallel_for("pagequery::kokkos_kernels_gemm::answers",
                         Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(exec, 0, K * kVectorsPerPage),
                         detail::RingToAnswers<ExecSpace>{acc_, answers});
  }

 private:
  int tile_log2_;
  RingMatrix acc_;
  Kokkos::View<XorAnd128*, memory_space> mask_buffer_;
};

}  // namespace pagequery
