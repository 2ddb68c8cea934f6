#pragma once
// The page-query kernel: for K DPF keys, answer_k = XOR over pages i of
// (page_i AND mask_k(i)), every 16-byte vector of the page masked alike.
//
// Organisation (one kernel family for every batch size):
// - Pages are cut into chunks of P = 2^s pages: the leaves of one DPF subtree.
//   A team expands, per key, the chunk's subtree once (P - 1 PRG expansions,
//   about 2 ChaCha blocks a leaf) into team scratch; the path from the root to
//   the chunk is kept per key and only its changed tail is re-expanded.
// - Keys are split into groups of at most kKeyGroup; one team serves one group
//   over one contiguous range of chunks, so per-thread state is bounded by the
//   group, not by K. Teams of the same range and different groups are adjacent
//   in the league: they run together and share the range's pages through the
//   cache, so the matrix comes from memory about once per launch.
// - A thread owns fixed vectors of a page; its accumulators stay in registers
//   for the whole range and are XORed into the answers atomically at the end.
#include "dpf.hpp"
#include "page_matrix.hpp"

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <bit>
#include <type_traits>

namespace pagequery {

template <class MemorySpace>
using KeyView = Kokkos::View<const DpfKey*, MemorySpace>;
// answers(k, v): vector v of key k's 4 KiB answer.
template <class MemorySpace>
using AnswerView = Kokkos::View<Bits128**, Kokkos::LayoutRight, MemorySpace>;

inline constexpr int kKeyGroup = 16;

struct PageQueryTuning {
  int chunk_log2 = 6;  // pages per subtree, as a power of two
  int teams = 0;       // target league size; 0 derives it from the backend's concurrency
};

// Vectors of a page that one thread owns: one per thread on GPUs (registers),
// the whole page on host backends, whose teams are one thread.
template <class ExecSpace>
constexpr int vectors_per_thread() {
#ifdef KOKKOS_ENABLE_CUDA
  if constexpr (std::is_same_v<ExecSpace, Kokkos::Cuda>) return 1;
#endif
  return kVectorsPerPage;
}

template <class ExecSpace>
struct PageQueryFunctor {
  using memory_space = typename ExecSpace::memory_space;
  using member_type = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  using scratch_space = typename ExecSpace::scratch_memory_space;
  template <class T>
  using Scratch2D = Kokkos::View<T**, Kokkos::LayoutRight, scratch_space,
                                 Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  static constexpr int kSlots = vectors_per_thread<ExecSpace>();
  static constexpr int kTeamSize = kVectorsPerPage / kSlots;

  Kokkos::View<const Bits128**, Kokkos::LayoutRight, memory_space> pages;
  KeyView<memory_space> keys;
  AnswerView<memory_space> answers;
  std::uint64_t first_page;  // global index of pages(0, .)
  int domain_bits;
  int chunk_log2;            // s: chunk = 2^s pages = one subtree
  int groups;                // key groups
  int group_size;            // keys per group (the last may hold fewer)
  std::uint64_t first_chunk;
  std::uint64_t chunks;      // chunks overlapping the local pages
  std::uint64_t chunks_per_team;

  int top() const { return domain_bits - chunk_log2; }

  static std::size_t scratch_bytes(int group_size, int chunk_log2, int top) {
    return Scratch2D<Bits128>::shmem_size(group_size, std::size_t{1} << chunk_log2) +
           Scratch2D<std::uint8_t>::shmem_size(group_size, std::size_t{1} << chunk_log2) +
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
    Scratch2D<Bits128> leaf_seed(scratch, group_size, P);  // becomes the masks
    Scratch2D<std::uint8_t> leaf_t(scratch, group_size, P);
    Scratch2D<Bits128> path_seed(scratch, group_size, t + 1);
    Scratch2D<std::uint8_t> path_t(scratch, group_size, t + 1);

    Bits128 acc[kSlots][kKeyGroup];
    for (int slot = 0; slot < kSlots; ++slot)
      for (int kk = 0; kk < kKeyGroup; ++kk) acc[slot][kk] = Bits128{{0, 0, 0, 0}};

    const std::uint64_t page_end = first_page + pages.extent(0);
    for (std::uint64_t c = c_begin; c < c_end; ++c) {
      // 1. Path root -> chunk: re-expand only the levels below the highest bit
      //    where this chunk differs from the previous one.
      const int from = c == c_begin ? 1 : t - static_cast<int>(Kokkos::bit_width(c ^ (c - 1))) + 1;
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, g), [&](int kk) {
        const DpfKey& key = keys(k0 + kk);
        if (c == c_begin) {
          path_seed(kk, 0) = key.root_seed;
          path_t(kk, 0) = key.root_t;
        }
        for (int level = from; level <= t; ++level) {
          const int bit = static_cast<int>((c >> (t - level)) & 1u);
          const DpfNode child =
              dpf_child(key, level - 1, DpfNode{path_seed(kk, level - 1), path_t(kk, level - 1)}, bit);
          path_seed(kk, level) = child.seed;
          path_t(kk, level) = child.t;
        }
      });
      team.team_barrier();

      // 2. Expand the chunk's subtree in place: node m of depth j sits at
      //    m * (P >> j); its left child stays there, the right one goes half a
      //    stride further. The last level writes masks.
      for (int j = 0; j < s; ++j) {
        const int stride = P >> j;
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, g << j), [&](int item) {
          const int kk = item >> j;
          const int pos = (item & ((1 << j) - 1)) * stride;
          const DpfKey& key = keys(k0 + kk);
          const DpfNode node = j == 0 ? DpfNode{path_seed(kk, t), path_t(kk, t)}
                                      : DpfNode{leaf_seed(kk, pos), leaf_t(kk, pos)};
          DpfNode left, right;
          dpf_children(key, t + j, node, left, right);
          if (j + 1 == s) {
            leaf_seed(kk, pos) = dpf_leaf_mask(key, left);
            leaf_seed(kk, pos + stride / 2) = dpf_leaf_mask(key, right);
          } else {
            leaf_seed(kk, pos) = left.seed;
            leaf_t(kk, pos) = left.t;
            leaf_seed(kk, pos + stride / 2) = right.seed;
            leaf_t(kk, pos + stride / 2) = right.t;
          }
        });
        team.team_barrier();
      }

      // 3. Masked XOR over the chunk's local pages.
      const std::uint64_t chunk_first = c << s;
      const std::uint64_t lo = Kokkos::max(chunk_first, first_page);
      const std::uint64_t hi = Kokkos::min(chunk_first + P, page_end);
      for (int slot = 0; slot < kSlots; ++slot) {
        const int v = team.team_rank() + slot * kTeamSize;
        accumulate(acc[slot], g, v, lo, hi, chunk_first, leaf_seed);
      }
      team.team_barrier();  // masks are rewritten by the next chunk
    }

    for (int slot = 0; slot < kSlots; ++slot) {
      const int v = team.team_rank() + slot * kTeamSize;
      for (int kk = 0; kk < kKeyGroup; ++kk) {
        if (kk >= g) break;
        for (int w = 0; w < 4; ++w) Kokkos::atomic_xor(&answers(k0 + kk, v).w[w], acc[slot][kk].w[w]);
      }
    }
  }

  KOKKOS_FORCEINLINE_FUNCTION void accumulate(Bits128 (&acc)[kKeyGroup], int g, int v,
                                              std::uint64_t lo, std::uint64_t hi,
                                              std::uint64_t chunk_first,
                                              const Scratch2D<Bits128>& masks) const {
    constexpr int kUnroll = 4;  // independent page loads in flight per thread
    std::uint64_t p = lo;
    for (; p + kUnroll <= hi; p += kUnroll) {
      Bits128 page[kUnroll];
      for (int u = 0; u < kUnroll; ++u) page[u] = pages(p + u - first_page, v);
      for (int u = 0; u < kUnroll; ++u)
        for (int kk = 0; kk < kKeyGroup; ++kk)
          if (kk < g) acc[kk] = acc[kk] ^ (page[u] & masks(kk, p + u - chunk_first));
    }
    for (; p < hi; ++p) {
      const Bits128 page = pages(p - first_page, v);
      for (int kk = 0; kk < kKeyGroup; ++kk)
        if (kk < g) acc[kk] = acc[kk] ^ (page & masks(kk, p - chunk_first));
    }
  }
};

template <class ExecSpace>
struct ZeroAnswers {
  AnswerView<typename ExecSpace::memory_space> answers;
  KOKKOS_FUNCTION void operator()(std::int64_t i) const {
    answers(i / kVectorsPerPage, i % kVectorsPerPage) = Bits128{{0, 0, 0, 0}};
  }
};

// One launch of the kernel family: zero the answers, then scan. Policies run it
// eagerly on an instance or add it to a Kokkos Graph.
template <class ExecSpace>
class PageQuery {
 public:
  using memory_space = typename ExecSpace::memory_space;
  using Functor = PageQueryFunctor<ExecSpace>;

  PageQuery(const ExecSpace& exec, const PageMatrix<memory_space>& matrix,
            KeyView<memory_space> keys, AnswerView<memory_space> answers,
            const PageQueryTuning& tuning = {}) {
    const int K = static_cast<int>(keys.extent(0));
    if (answers.extent(0) != keys.extent(0) || answers.extent(1) != kVectorsPerPage)
      throw std::invalid_argument("page query: answers must be (keys x 256) vectors");
    Functor& f = functor_;
    f.pages = matrix.view();
    f.keys = keys;
    f.answers = answers;
    f.first_page = matrix.first_page();
    f.domain_bits = matrix.domain_bits();
    f.chunk_log2 = std::clamp(tuning.chunk_log2, 1, f.domain_bits);
    f.groups = std::max(1, (K + kKeyGroup - 1) / kKeyGroup);
    f.group_size = std::max(1, (K + f.groups - 1) / f.groups);
    const std::uint64_t n = matrix.pages();
    f.first_chunk = matrix.first_page() >> f.chunk_log2;
    f.chunks = n == 0 ? 0 : ((matrix.first_page() + n - 1) >> f.chunk_log2) - f.first_chunk + 1;
    const int target = tuning.teams > 0
                           ? tuning.teams
                           : std::max(1, 4 * exec.concurrency() / Functor::kTeamSize);
    const std::uint64_t ranges = std::clamp<std::uint64_t>(
        static_cast<std::uint64_t>(target / f.groups), 1, std::max<std::uint64_t>(f.chunks, 1));
    f.chunks_per_team = f.chunks == 0 ? 1 : (f.chunks + ranges - 1) / ranges;
    league_ = K == 0 || f.chunks == 0
                  ? 0
                  : static_cast<int>((f.chunks + f.chunks_per_team - 1) / f.chunks_per_team) *
                        f.groups;
    scratch_ = Functor::scratch_bytes(f.group_size, f.chunk_log2, f.top());
    zero_.answers = answers;
    zero_count_ = static_cast<std::int64_t>(K) * kVectorsPerPage;
  }

  Kokkos::TeamPolicy<ExecSpace> team_policy(const ExecSpace& exec) const {
    return Kokkos::TeamPolicy<ExecSpace>(exec, league_, Functor::kTeamSize)
        .set_scratch_size(0, Kokkos::PerTeam(scratch_));
  }
  Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>> zero_policy(
      const ExecSpace& exec) const {
    return {exec, 0, zero_count_};
  }

  void launch(const ExecSpace& exec) const {
    Kokkos::parallel_for("pagequery::zero_answers", zero_policy(exec), zero_);
    if (league_ > 0) Kokkos::parallel_for("pagequery::page_query", team_policy(exec), functor_);
  }

  // Appends this launch to a graph node; returns the last node.
  template <class Node>
  auto then(const Node& node) const {
    const ExecSpace exec;
    auto zeroed = node.then_parallel_for("pagequery::zero_answers", zero_policy(exec), zero_);
    return zeroed.then_parallel_for("pagequery::page_query", team_policy(exec), functor_);
  }

 private:
  Functor functor_{};
  ZeroAnswers<ExecSpace> zero_{};
  std::int64_t zero_count_ = 0;
  int league_ = 0;
  std::size_t scratch_ = 0;
};

// Answers every key in one launch on `exec`; asynchronous like any Kokkos launch.
template <class ExecSpace>
void answer_keys(const ExecSpace& exec,
                 const PageMatrix<typename ExecSpace::memory_space>& matrix,
                 KeyView<typename ExecSpace::memory_space> keys,
                 AnswerView<typename ExecSpace::memory_space> answers,
                 const PageQueryTuning& tuning = {}) {
  PageQuery<ExecSpace>(exec, matrix, keys, answers, tuning).launch(exec);
}

}  // namespace pagequery
