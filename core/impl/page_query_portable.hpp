#pragma once
// The portable page-query kernel (every Kokkos backend), for both key formats.
//
// - Pages are cut into chunks of 2^s DPF leaves: the leaves of one subtree. A
//   Morphogen leaf is one page's 16-byte mask; a packed leaf (core/dpf_packed.hpp)
//   holds the selection bits of 128 pages, one ChaCha block a node.
//   A team expands, per key, the chunk's subtree once (2^s - 1 PRG expansions)
//   into team scratch; the path from the root to the chunk is kept per key and
//   only its changed tail is re-expanded (impl/dpf_walk.hpp).
// - Keys are split into groups of at most kMaxKeyGroup; one team serves one group
//   over one contiguous range of chunks (impl/team_grid.hpp), so per-thread state
//   is bounded by the group, not by K.
// - A thread owns fixed vectors of a page; its accumulators stay in registers
//   for the whole range and are XORed into the answers atomically at the end.
#include "pagequery/core/impl/dpf_walk.hpp"
#include "pagequery/core/impl/team_grid.hpp"
#include "pagequery/core/page_query_args.hpp"

#include <Kokkos_Core.hpp>
#include <Kokkos_Graph.hpp>

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <string>

// Accumulators live in registers only if every loop that indexes them unrolls.
#if defined(__CUDA_ARCH__)
#define PAGEQUERY_UNROLL _Pragma("unroll")
#else
#define PAGEQUERY_UNROLL
#endif

namespace pagequery::impl {

// Key-group sizes the kernel is compiled for: a launch of K keys uses the
// smallest that holds min(K, kMaxKeyGroup) keys, so small batches use few
// registers and more teams fit on a GPU multiprocessor.
inline constexpr int kKeyGroups[] = {4, 8, 12, 16};
inline constexpr int kMaxKeyGroup = 8;  // 8: 127 queries/s at Q = 32 on an H100, 12: 116, 16: 92

// Teams per GPU multiprocessor the register budget is set for, by key group
// (accumulators: 4 registers x key group x vectors per thread).
constexpr int min_teams_per_sm(int key_group) { return key_group <= 8 ? 4 : key_group <= 12 ? 3 : 2; }
// Default chunk: large, within the scratch budget (~48 KB a team on CUDA). A
// packed chunk of 4 leaves is already 512 pages: expansion is cheap there, and
// small chunks spread small matrices over more teams.
template <class Key>
constexpr int default_chunk_log2(int key_group) {
  if constexpr (kLeafPagesLog2 < Key >> 0) return 2;
  return key_group <= 4 ? 9 : key_group <= 8 ? 8 : 7;
}

// Vectors of a page that one thread owns. Each 16-byte mask a thread loads
// feeds 4 x vectors AND-XORs; on GPUs two vectors keep those loads under the
// integer units' rate (one vector made the kernel load-bound: 103 vs 127
// queries/s at Q = 32 on an H100). Host backends run one-thread teams that own
// the whole page.
template <class ExecSpace, int KeyGroup>
constexpr int vectors_per_thread() {
#ifdef KOKKOS_ENABLE_CUDA
  // Groups of 4 are memory-bound: there, more threads hide latency better.
  if constexpr (std::is_same_v<ExecSpace, Kokkos::Cuda>) return KeyGroup <= 4 ? 1 : 2;
#endif
  return kVectorsPerPage;
}

// Everything a launch needs except the key-group size.
struct PageQueryShape {
  std::uint64_t first_page;  // global index of pages(0, .)
  int domain_bits;           // of the keys' tree: leaf bits
  int chunk_log2;            // s: chunk = 2^s leaves = one subtree
  int groups;                // key groups
  int group_size;            // keys per group (the last may hold fewer)
  std::uint64_t first_chunk;
  std::uint64_t chunks;  // chunks overlapping the local pages
  std::uint64_t chunks_per_team;
};

template <class ExecSpace, int KeyGroup, class Key = DpfKey>
struct PageQueryFunctor : PageQueryShape {
  using memory_space = typename ExecSpace::memory_space;
  using member_type = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  using scratch_space = typename ExecSpace::scratch_memory_space;
  template <class T>
  using Scratch2D = Kokkos::View<T**, Kokkos::LayoutRight, scratch_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  static constexpr int kSlots = vectors_per_thread<ExecSpace, KeyGroup>();
  static constexpr int kTeamSize = kVectorsPerPage / kSlots;
  static constexpr int kLeafLog2 = kLeafPagesLog2<Key>;

  using policy_type = Kokkos::TeamPolicy<ExecSpace, Kokkos::LaunchBounds<kTeamSize, min_teams_per_sm(KeyGroup)>>;

  Kokkos::View<const Bits128**, Kokkos::LayoutRight, memory_space> pages;
  KeyView<memory_space, Key> keys;
  AnswerView<memory_space> answers;

  KOKKOS_FUNCTION int top() const { return domain_bits - chunk_log2; }

  // Leaves are stored leaf-major, (P, KeyGroup), so the masks of one page sit at
  // constant offsets; rows of absent keys stay zero and cost no branches (a packed
  // leaf row of zeros selects no page).
  static std::size_t scratch_bytes(int group_size, int chunk_log2, int top) {
    return Scratch2D<Bits128>::shmem_size(std::size_t{1} << chunk_log2, KeyGroup) +
           Scratch2D<std::uint8_t>::shmem_size(std::size_t{1} << chunk_log2, KeyGroup) +
           Scratch2D<Bits128>::shmem_size(group_size, top + 1) +
           Scratch2D<std::uint8_t>::shmem_size(group_size, top + 1);
  }

  KOKKOS_FUNCTION void operator()(const member_type& team) const {
    const int group = team.league_rank() % groups;
    const std::uint64_t range = team.league_rank() / groups;
    const int k0 = group * group_size;
    const int g = Kokkos::min(group_size, static_cast<int>(keys.extent(0)) - k0);
    const std::uint64_t c_begin = first_chunk + range * chunks_per_team;
    const std::uint64_t c_end = Kokkos::min(c_begin + chunks_per_team, first_chunk + chunks);
    if (g <= 0 || c_begin >= c_end) return;

    const int s = chunk_log2;
    const int t = top();
    const int P = 1 << s;
    const auto& scratch = team.team_scratch(0);
    Scratch2D<Bits128> leaf_seed(scratch, P, KeyGroup);  // becomes the masks
    Scratch2D<std::uint8_t> leaf_t(scratch, P, KeyGroup);
    Scratch2D<Bits128> path_seed(scratch, group_size, t + 1);
    Scratch2D<std::uint8_t> path_t(scratch, group_size, t + 1);

    if (g < KeyGroup)
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, P * (KeyGroup - g)), [&](int i) {
        leaf_seed(i / (KeyGroup - g), g + i % (KeyGroup - g)) = Bits128{{0, 0, 0, 0}};
      });

    Bits128 acc[kSlots][KeyGroup];
    PAGEQUERY_UNROLL
    for (int slot = 0; slot < kSlots; ++slot) PAGEQUERY_UNROLL
    for (int kk = 0; kk < KeyGroup; ++kk) acc[slot][kk] = Bits128{{0, 0, 0, 0}};

    const std::uint64_t page_end = first_page + pages.extent(0);
    for (std::uint64_t c = c_begin; c < c_end; ++c) {
      // 1. Path root -> chunk, 2. the chunk's subtree in place (impl/dpf_walk.hpp).
      //    In this body on purpose: as a member function taking the scratch views
      //    it spilled at the 64-register cap of 4-key groups (Q = 1 ran 14 % slower).
      const int from = first_changed_level(c, t, c == c_begin);
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, g), [&](int kk) {
        const Key& key = keys(k0 + kk);
        if (c == c_begin) {
          path_seed(kk, 0) = key.root_seed;
          path_t(kk, 0) = key.root_t;
        }
        descend(key, c, from, t, [&](int level) { return split_node(path_seed(kk, level), path_t(kk, level)); });
      });
      team.team_barrier();
      for (int j = 0; j < s; ++j) {
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, g << j), [&](int item) {
          const int kk = item >> j;
          expand_subtree_item(
              keys(k0 + kk), t, j, s, item & ((1 << j) - 1),
              [&] { return split_node(path_seed(kk, t), path_t(kk, t)); },
              [&](int pos) { return split_node(leaf_seed(pos, kk), leaf_t(pos, kk)); },
              [&](int pos) -> Bits128& { return leaf_seed(pos, kk); });
        });
        team.team_barrier();
      }

      // 3. Masked XOR over the chunk's local pages.
      const std::uint64_t chunk_first = c << (s + kLeafLog2);
      const std::uint64_t lo = Kokkos::max(chunk_first, first_page);
      const std::uint64_t hi = Kokkos::min(chunk_first + (std::uint64_t(P) << kLeafLog2), page_end);
      accumulate(acc, team.team_rank(), lo, hi, chunk_first, leaf_seed);
      team.team_barrier();  // masks are rewritten by the next chunk
    }

    xor_into_answers(acc, team.team_rank(), k0, g);
  }

  KOKKOS_FORCEINLINE_FUNCTION void xor_into_answers(const Bits128 (&acc)[kSlots][KeyGroup], int rank, int k0,
                                                    int g) const {
    PAGEQUERY_UNROLL
    for (int slot = 0; slot < kSlots; ++slot) {
      const int v = rank + slot * kTeamSize;
      PAGEQUERY_UNROLL
      for (int kk = 0; kk < KeyGroup; ++kk) {
        if (kk >= g) break;
        for (int w = 0; w < 4; ++w) Kokkos::atomic_xor(&answers(k0 + kk, v).w[w], acc[slot][kk].w[w]);
      }
    }
  }

  // acc[slot][kk] ^= page[slot] & mask(kk) over pages [lo, hi), where the
  // thread's vectors are rank + slot * team size. Loads run a block of pages
  // ahead of their use (two vectors in flight per thread) to keep memory busy.
  // A packed key's mask is all ones or zero: its selection bit decides whether
  // the page is XORed at all (the same branch for every thread of the team).
  KOKKOS_FORCEINLINE_FUNCTION void accumulate(Bits128 (&acc)[kSlots][KeyGroup], int rank, std::uint64_t lo,
                                              std::uint64_t hi, std::uint64_t chunk_first,
                                              const Scratch2D<Bits128>& masks) const {
    constexpr int kBlock = kSlots == 1 ? 2 : 1;
    const auto load = [&](Bits128(&block)[kBlock][kSlots], std::uint64_t p) {
      PAGEQUERY_UNROLL
      for (int b = 0; b < kBlock; ++b) PAGEQUERY_UNROLL
      for (int slot = 0; slot < kSlots; ++slot) block[b][slot] = pages(p + b - first_page, rank + slot * kTeamSize);
    };
    const auto apply = [&](const Bits128(&page)[kSlots], std::uint64_t p) {
      PAGEQUERY_UNROLL
      for (int kk = 0; kk < KeyGroup; ++kk) {
        if constexpr (kLeafLog2 == 0) {
          const Bits128 mask = masks(p - chunk_first, kk);
          PAGEQUERY_UNROLL
          for (int slot = 0; slot < kSlots; ++slot) acc[slot][kk] = acc[slot][kk] ^ (page[slot] & mask);
        } else {
          const std::uint64_t i = p - chunk_first;
          if (leaf_bit(masks(i >> kLeafLog2, kk), static_cast<int>(i & ((1u << kLeafLog2) - 1)))) {
            PAGEQUERY_UNROLL
            for (int slot = 0; slot < kSlots; ++slot) acc[slot][kk] = acc[slot][kk] ^ page[slot];
          }
        }
      }
    };
    if constexpr (kSlots == kVectorsPerPage) {  // a one-thread team reads each page in place
      for (std::uint64_t p = lo; p < hi; ++p)
        apply(*reinterpret_cast<const Bits128(*)[kSlots]>(&pages(p - first_page, 0)), p);
      return;
    }
    std::uint64_t p = lo;
    const std::uint64_t blocks_end = lo + (hi - lo) / kBlock * kBlock;
    if (p < blocks_end) {
      Bits128 next[kBlock][kSlots];
      load(next, p);
      for (; p < blocks_end; p += kBlock) {
        Bits128 block[kBlock][kSlots];
        PAGEQUERY_UNROLL
        for (int b = 0; b < kBlock; ++b) PAGEQUERY_UNROLL
        for (int slot = 0; slot < kSlots; ++slot) block[b][slot] = next[b][slot];
        if (p + kBlock < blocks_end) load(next, p + kBlock);
        PAGEQUERY_UNROLL
        for (int b = 0; b < kBlock; ++b) apply(block[b], p + b);
      }
    }
    for (; p < hi; ++p) {
      Bits128 page[1][kSlots];
      PAGEQUERY_UNROLL
      for (int slot = 0; slot < kSlots; ++slot) page[0][slot] = pages(p - first_page, rank + slot * kTeamSize);
      apply(page[0], p);
    }
  }
};

// The portable kernel's launch of one PageQuery: sizing in the constructor,
// then eager launches on an instance or nodes of a Kokkos graph.
template <class ExecSpace>
class PortablePageQuery {
 public:
  using memory_space = typename ExecSpace::memory_space;

  PortablePageQuery(const ExecSpace& exec, const PageMatrix<memory_space>& matrix, KeyBatch<memory_space> keys,
                    AnswerView<memory_space> answers, const PageQueryTuning& tuning)
      : pages_(matrix.view()), keys_(keys), answers_(answers) {
    const int K = static_cast<int>(keys.size());
    key_group_ = tuning.key_group > 0 ? tuning.key_group : default_key_group(K);
    if (std::find(std::begin(kKeyGroups), std::end(kKeyGroups), key_group_) == std::end(kKeyGroups))
      throw std::invalid_argument("page query: key group " + std::to_string(key_group_) + " is not compiled");
    const bool packed = keys.format() == DpfFormat::Packed;
    const int leaf_log2 = packed ? kPackedLeafLog2 : 0;
    PageQueryShape& f = shape_;
    f.first_page = matrix.first_page();
    f.domain_bits = std::max(1, matrix.domain_bits() - leaf_log2);  // packed: packed_domain_bits
    const int chunk_default =
        packed ? default_chunk_log2<PackedDpfKey>(key_group_) : default_chunk_log2<DpfKey>(key_group_);
    f.chunk_log2 = std::clamp(tuning.chunk_log2 > 0 ? tuning.chunk_log2 : chunk_default, 1, f.domain_bits);
    const KeyGroups split = split_keys(K, key_group_);
    f.groups = split.groups;
    f.group_size = split.size;
    // Smaller chunks where the backend's team scratch cannot hold the requested one.
    const std::size_t scratch_max = Kokkos::TeamPolicy<ExecSpace>::scratch_size_max(0);
    while (f.chunk_log2 > 1 && scratch_bytes(f.chunk_log2) > scratch_max) --f.chunk_log2;
    const std::uint64_t n = matrix.pages();
    const int chunk_pages_log2 = f.chunk_log2 + leaf_log2;
    f.first_chunk = matrix.first_page() >> chunk_pages_log2;
    f.chunks = n == 0 ? 0 : ((matrix.first_page() + n - 1) >> chunk_pages_log2) - f.first_chunk + 1;
    const int team_size =
        kVectorsPerPage / (key_group_ <= 4 ? vectors_per_thread<ExecSpace, 4>() : vectors_per_thread<ExecSpace, 8>());
    // One-thread teams (host backends): a team per chunk, so that all key groups
    // pass over a chunk's pages while they are in the core's cache.
    const std::uint64_t target = tuning.teams > 0 ? static_cast<std::uint64_t>(tuning.teams)
                                 : team_size == 1
                                     ? f.chunks * f.groups
                                     : static_cast<std::uint64_t>(std::max(1, 4 * exec.concurrency() / team_size));
    const TeamGrid grid = team_grid(f.groups, f.chunks, target);
    f.chunks_per_team = grid.chunks_per_team;
    league_ = K == 0 ? 0 : static_cast<int>(grid.league);
  }

  void launch(const ExecSpace& exec) const {
    if (league_ == 0) return;
    with_functor([&](const auto& f) { Kokkos::parallel_for("pagequery::page_query", team_policy(exec, f), f); });
  }

  // Appends the scan to a graph node; returns the last node.
  template <class Node>
  Kokkos::Experimental::GraphNodeRef<ExecSpace> then(const Node& node) const {
    Kokkos::Experimental::GraphNodeRef<ExecSpace> last = node;
    if (league_ == 0) return last;
    with_functor(
        [&](const auto& f) { last = node.then_parallel_for("pagequery::page_query", team_policy(ExecSpace(), f), f); });
    return last;
  }

 private:
  static int default_key_group(int keys) {
    for (int size : kKeyGroups)
      if (size >= std::min(keys, kMaxKeyGroup)) return size;
    return kMaxKeyGroup;
  }

  template <class Body>
  void with_functor(Body&& body) const {
    if (keys_.format() == DpfFormat::Packed)
      with_group<PackedDpfKey>(body);
    else
      with_group<DpfKey>(body);
  }

  template <class Key, class Body>
  void with_group(Body&& body) const {
    switch (key_group_) {
      case 4:
        body(functor<4, Key>());
        break;
      case 8:
        body(functor<8, Key>());
        break;
      case 12:
        body(functor<12, Key>());
        break;
      default:
        body(functor<16, Key>());
        break;
    }
  }

  template <int KeyGroup, class Key>
  PageQueryFunctor<ExecSpace, KeyGroup, Key> functor() const {
    PageQueryFunctor<ExecSpace, KeyGroup, Key> f;
    static_cast<PageQueryShape&>(f) = shape_;
    f.pages = pages_;
    f.keys = keys_.template view<Key>();
    f.answers = answers_;
    return f;
  }

  std::size_t scratch_bytes(int chunk_log2) const {
    std::size_t bytes = 0;
    with_functor([&](const auto& f) {
      bytes = f.scratch_bytes(shape_.group_size, chunk_log2, shape_.domain_bits - chunk_log2);
    });
    return bytes;
  }

  template <class Functor>
  typename Functor::policy_type team_policy(const ExecSpace& exec, const Functor&) const {
    return typename Functor::policy_type(exec, league_, Functor::kTeamSize)
        .set_scratch_size(0, Kokkos::PerTeam(scratch_bytes(shape_.chunk_log2)));
  }

  Kokkos::View<const Bits128**, Kokkos::LayoutRight, memory_space> pages_;
  KeyBatch<memory_space> keys_;
  AnswerView<memory_space> answers_;
  PageQueryShape shape_{};
  int key_group_ = kMaxKeyGroup;
  int league_ = 0;
};

}  // namespace pagequery::impl
