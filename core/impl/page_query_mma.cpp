#include "pagequery/core/impl/page_query_mma.hpp"

#include "pagequery/core/impl/cuda_launch.hpp"
#include "pagequery/core/impl/dpf_walk.hpp"
#include "pagequery/core/impl/packed_leaves.hpp"
#include "pagequery/core/impl/page_query_wgmma.hpp"
#include "pagequery/core/impl/team_grid.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace pagequery::impl {

namespace {

constexpr int kThreads = 512;
constexpr int kWarps = kThreads / 32;
constexpr int kTileKeys = 16;             // MMA rows: keys of one A fragment
constexpr int kTileWords = 128 * 32 * 4;  // one key tile's A fragments (= its leaves), in words
constexpr int kUnits = 32 * 4;            // (n-tile of 8 vectors, answer word) pairs of a block

// The packed kernel's B fragments in flight per warp, in pairs of bits: enough
// bytes in flight to stream at full bandwidth without registers (one pair ahead
// in registers streamed at 1.37x the read floor at Q = 1 on an H200, this at 1.07x).
constexpr int kPairsAhead = 7;
constexpr int kRing = kPairsAhead + 1;

__device__ __forceinline__ void copy_async(uint4* to, const uint4* from) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(static_cast<unsigned>(__cvta_generic_to_shared(to))),
               "l"(from)
               : "memory");
}
__device__ __forceinline__ void commit_copies() { asm volatile("cp.async.commit_group;" ::: "memory"); }
// Returns when at most Pending groups of copies are pending.
template <int Pending>
__device__ __forceinline__ void wait_copies() {
  asm volatile("cp.async.wait_group %0;" ::"n"(Pending) : "memory");
}

// c += popc(a AND b), one 16 x 8 x 256 binary MMA: counts of several blocks may
// add up, since only their parity matters.
// Add: c += the counts; otherwise c = the counts (a constant zero accumulator,
// no register to clear).
template <bool Add>
__device__ __forceinline__ void mma_and_popc(const uint4& a, std::uint32_t b0, std::uint32_t b1,
                                             std::uint32_t (&c)[4]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (Add)
    asm("mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
        : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
        : "r"(a.x), "r"(a.y), "r"(a.z), "r"(a.w), "r"(b0), "r"(b1));
  else
    asm("mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %10, %10, %10};"
        : "=r"(c[0]), "=r"(c[1]), "=r"(c[2]), "=r"(c[3])
        : "r"(a.x), "r"(a.y), "r"(a.z), "r"(a.w), "r"(b0), "r"(b1), "r"(0));
#endif
}

// Bit j's parity enters at the top; 32 shifts later it sits at bit j % 32.
__device__ __forceinline__ void fold_parities(std::uint32_t (&packed)[4], const std::uint32_t (&counts)[4]) {
#pragma unroll
  for (int r = 0; r < 4; ++r) packed[r] = __funnelshift_r(packed[r], counts[r], 1);
}

// XORs one unit's answer words of one key tile (the MMA's c registers: keys
// lane / 4 (+ 8), vectors 2 (lane % 4) (+ 1)) into the answers of keys first_key + row.
__device__ __forceinline__ void xor_unit(Bits128* answers, int unit, int first_key, int key_count,
                                         const std::uint32_t (&words)[4]) {
  const int lane = threadIdx.x & 31;
  auto* out = reinterpret_cast<std::uint32_t*>(answers);
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    const int key = first_key + (lane >> 2) + 8 * (r >> 1);
    const int vector = (unit >> 2) * 8 + 2 * (lane & 3) + (r & 1);
    if (key < key_count)
      atomicXor(out + (static_cast<std::size_t>(key) * kVectorsPerPage + vector) * 4 + (unit & 3), words[r]);
  }
}

// --- Morphogen keys: phases in turn ---------------------------------------------
//
// Batches of more than one tile. A team (512 threads, one per multiprocessor)
// owns 32 keys (Tiles = 2) and a range of blocks and runs its phases in turn:
// paths, subtree, transpose, MMAs. Each page load feeds both tiles, which the
// pipelined kernel below cannot do (two double-buffered tiles do not fit in
// shared memory); with one tile a team it ran Q = 32 at 1.35x this kernel's time.
constexpr int kUnitsPerWarp = kUnits / kWarps;
// Measured on an H100 (64.2 GiB, Q = 32): 1 unit a step 115 ms, 2: 114, 4: 116;
// loads 2 or 4 pairs ahead change nothing (the MMA phase is not memory-bound).
constexpr int kUnitsPerStep = 2;  // units sharing each A fragment load
constexpr int kLoadsAhead = 2;    // B fragment loads in flight per unit

struct MmaLaunch : MmaPageQuery {
  int subtree_bits;  // s = min(8, d): levels expanded per block
  int groups;        // key groups
  int group_size;    // keys per group (the last may hold fewer)
  std::uint64_t blocks_per_team;
  // Each team's answer words over its range, (unit, tile, lane) -> 4 words. They
  // live in L2: kept in registers they force the unit loop to unroll (spills).
  uint4* partial;
};

// Team blockIdx.x's keys [k0, k0 + g) and blocks [c_begin, c_end): the league
// is (range, group), the groups of a range adjacent.
struct TeamWork {
  int k0;
  int g;
  std::uint64_t c_begin;
  std::uint64_t c_end;
  __device__ bool empty() const { return g <= 0 || c_begin >= c_end; }
};
__device__ __forceinline__ TeamWork team_work(const MmaLaunch& q) {
  const int group = blockIdx.x % q.groups;
  const std::uint64_t c_begin = q.first_block + blockIdx.x / q.groups * q.blocks_per_team;
  return {group * q.group_size, min(q.group_size, q.key_count - group * q.group_size), c_begin,
          min(c_begin + q.blocks_per_team, q.first_block + q.blocks)};
}

// Shared memory of a team of `Tiles` key tiles. Leaf (page p, key k) of tile
// k / 16 sits at p * 16 + k % 16; after the transpose the same words hold the
// tile's A fragments: (bit j, lane ^ (j / 32)) -> the four words a0..a3.
template <int Tiles>
struct Shared {
  Bits128 masks[Tiles * kTileWords / 4];
  std::uint8_t leaf_t[Tiles * kTileWords / 4];
  Bits128 path_seed[Tiles * kTileKeys][kMaxDomainBits + 1];
  std::uint8_t path_t[Tiles * kTileKeys][kMaxDomainBits + 1];
};

__device__ __forceinline__ int leaf_index(int page, int key) {
  return (key / kTileKeys) * (kTileWords / 4) + page * kTileKeys + key % kTileKeys;
}

// One team per multiprocessor: two teams of one key tile (64 registers each)
// were no faster at Q = 1 (27.4 vs 26.7 ms) and slower at Q = 32. The phases
// stay in one body: split into (inlined) functions they spilled more and ran
// 4-7 % slower on an H200.
template <int Tiles>
__global__ void __launch_bounds__(kThreads, 1) mma_page_query(const MmaLaunch q) {
  extern __shared__ uint4 shared_raw[];
  Shared<Tiles>& sh = *reinterpret_cast<Shared<Tiles>*>(shared_raw);
  const int tid = threadIdx.x;
  const int lane = tid & 31;
  const int warp = tid >> 5;
  const TeamWork work = team_work(q);
  if (work.empty()) return;
  const auto [k0, g, c_begin, c_end] = work;

  const DpfKey* const keys = static_cast<const DpfKey*>(q.keys);
  const int s = q.subtree_bits;
  const int top = q.domain_bits - s;
  const int P = 1 << s;

  // partial(i, tile) holds, as the MMA's c registers, the answer words of unit
  // warp + 16 i (n-tile unit / 4, word unit % 4): keys lane / 4 (+ 8), vectors
  // 2 (lane % 4) (+ 1).
  uint4* const partial = q.partial + static_cast<std::size_t>(blockIdx.x) * kUnits * Tiles * 32;
  const auto partial_of = [&](int i, int tile) -> uint4* {
    return partial + ((warp + kWarps * i) * Tiles + tile) * 32 + lane;
  };

  for (std::uint64_t c = c_begin; c < c_end; ++c) {
    // 1. Path root -> block, 2. the block's subtree in place (impl/dpf_walk.hpp).
    const int from = first_changed_level(c, top, c == c_begin);
    for (int kk = tid; kk < g; kk += kThreads) {
      const DpfKey& key = keys[k0 + kk];
      if (c == c_begin) {
        sh.path_seed[kk][0] = key.root_seed;
        sh.path_t[kk][0] = key.root_t;
      }
      descend(key, c, from, top, [&](int level) { return split_node(sh.path_seed[kk][level], sh.path_t[kk][level]); });
    }
    __syncthreads();
    for (int j = 0; j < s; ++j) {
      for (int item = tid; item < (g << j); item += kThreads) {
        const int kk = item >> j;
        expand_subtree_item(
            keys[k0 + kk], top, j, s, item & ((1 << j) - 1),
            [&] { return split_node(sh.path_seed[kk][top], sh.path_t[kk][top]); },
            [&](int pos) { return split_node(sh.masks[leaf_index(pos, kk)], sh.leaf_t[leaf_index(pos, kk)]); },
            [&](int pos) -> Bits128& { return sh.masks[leaf_index(pos, kk)]; });
      }
      __syncthreads();
    }

    // 3. Masks -> A fragments, tile by tile in place. Thread: key kl + 8 (warp % 2),
    //    pages 32 (warp / 2) + i, word w of the 128-bit masks -> bits 32 w + b.
    {
      const int kl = lane >> 2;
      const int w = lane & 3;
      const int pg = warp >> 1;
      const int k = (warp & 1) * 8 + kl;
      const int frag_lane = (kl * 4 + (pg & 3)) ^ w;  // swizzled: 4-way instead of 16-way conflicts
      const int x = (warp & 1) + 2 * (pg >> 2);
#pragma unroll 1
      for (int tile = 0; tile < Tiles; ++tile) {
        std::uint32_t m[32];
        const bool live = tile * kTileKeys + k < g;
#pragma unroll
        for (int i = 0; i < 32; ++i) {
          const int p = pg * 32 + i;
          m[i] = live && p < P ? sh.masks[leaf_index(p, tile * kTileKeys + k)].w[w] : 0u;
        }
        if (live) transpose32(m);
        __syncthreads();  // the tile's leaves are all read before any is overwritten
        std::uint32_t* frag = reinterpret_cast<std::uint32_t*>(sh.masks) + tile * kTileWords;
#pragma unroll
        for (int b = 0; b < 32; ++b) frag[((32 * w + b) * 32 + frag_lane) * 4 + x] = m[b];
      }
      __syncthreads();
    }

    // 4. MMAs. A warp's units share the word w = warp % 4, so it runs them
    //    kUnitsPerStep at a time: each A fragment read from shared memory feeds
    //    that many MMAs per tile.
    const uint4* block = reinterpret_cast<const uint4*>(q.slices) + (c - q.first_block) * (kSliceWords / 4);
    const uint4* afrag = reinterpret_cast<const uint4*>(sh.masks);
    const int w = warp & 3;
#pragma unroll 1
    for (int i = 0; i < kUnitsPerWarp; i += kUnitsPerStep) {
      const uint4* src[kUnitsPerStep];
      uint4 before[kUnitsPerStep][Tiles];
      std::uint32_t packed[kUnitsPerStep][Tiles][4] = {};
#pragma unroll
      for (int u = 0; u < kUnitsPerStep; ++u) {
        src[u] = block + (((warp + kWarps * (i + u)) >> 2) * 64 + w * 16) * 32 + lane;
#pragma unroll
        for (int tile = 0; tile < Tiles; ++tile)
          before[u][tile] = c == c_begin ? make_uint4(0, 0, 0, 0) : __ldcg(partial_of(i + u, tile));
      }
      // B fragments of the next kLoadsAhead bit pairs are in flight.
      uint4 ring[kLoadsAhead][kUnitsPerStep];
#pragma unroll
      for (int ahead = 0; ahead < kLoadsAhead; ++ahead)
#pragma unroll
        for (int u = 0; u < kUnitsPerStep; ++u) ring[ahead][u] = __ldg(src[u] + ahead * 32);
#pragma unroll
      for (int pair = 0; pair < 16; ++pair) {
        uint4 b[kUnitsPerStep];
#pragma unroll
        for (int u = 0; u < kUnitsPerStep; ++u) {
          b[u] = ring[pair % kLoadsAhead][u];
          if (pair + kLoadsAhead < 16) ring[pair % kLoadsAhead][u] = __ldg(src[u] + (pair + kLoadsAhead) * 32);
        }
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          const int j = 32 * w + 2 * pair + half;
#pragma unroll
          for (int tile = 0; tile < Tiles; ++tile) {
            const uint4 a = afrag[tile * (kTileWords / 4) + j * 32 + (lane ^ w)];
#pragma unroll
            for (int u = 0; u < kUnitsPerStep; ++u) {
              std::uint32_t counts[4];
              mma_and_popc<false>(a, half ? b[u].z : b[u].x, half ? b[u].w : b[u].y, counts);
              fold_parities(packed[u][tile], counts);
            }
          }
        }
      }
#pragma unroll
      for (int u = 0; u < kUnitsPerStep; ++u)
#pragma unroll
        for (int tile = 0; tile < Tiles; ++tile)
          __stcg(partial_of(i + u, tile),
                 make_uint4(before[u][tile].x ^ packed[u][tile][0], before[u][tile].y ^ packed[u][tile][1],
                            before[u][tile].z ^ packed[u][tile][2], before[u][tile].w ^ packed[u][tile][3]));
    }
    __syncthreads();  // fragments are rewritten by the next block
  }

  // A thread reads back only what it wrote: no barrier needed.
  for (int i = 0; i < kUnitsPerWarp; ++i)
    for (int tile = 0; tile < Tiles; ++tile) {
      const uint4 w = __ldcg(partial_of(i, tile));
      const std::uint32_t words[4] = {w.x, w.y, w.z, w.w};
      xor_unit(q.answers, warp + kWarps * i, k0 + tile * kTileKeys, k0 + g, words);
    }
}

// --- Morphogen keys, up to one tile: producer and consumer warps -------------
//
// A team (one per multiprocessor) owns one tile of Keys keys (16, or 8: then the
// MMA's rows 8..15 are zero and the fragments half as large) and a range of
// blocks. Producer warps expand block c + 1's DPF subtree and transpose it into A
// fragments while consumer warps run block c's MMAs over the streaming pages, so
// the integer pipe (ChaCha) overlaps the tensor and load pipes. Two fragment
// buffers alternate; named barriers hand them over.
// A team is 1,024 threads at 64 registers: each side needs 16 warps to hide
// its latencies (8 + 8 warps at 128 registers ran Q = 32 at 148 ms, 12 + 4 at 180).
constexpr int kProducerWarps = 16;
constexpr int kProducers = kProducerWarps * 32;
constexpr int kConsumerWarps = 16;
constexpr int kTeamThreads = kProducers + kConsumerWarps * 32;
constexpr int kStepsPerBlock = kUnits / kConsumerWarps / kUnitsPerStep;
static_assert(kConsumerWarps % 4 == 0, "a consumer warp's units share one answer word");

// Named barriers: the producers among themselves; buffer b full (producers ->
// consumers) and empty (consumers -> producers). Id 0 is __syncthreads'.
constexpr int kProducersDone = 1;
constexpr int kFull = 2;   // + buffer
constexpr int kEmpty = 4;  // + buffer

// Each fragment buffer first holds its block's leaves, leaf (page p, key k) at
// p * Keys + k, then, transposed in place, the tile's A fragments:
// (bit j, lane ^ (j / 32)) -> the words a0..a3 (Keys 8: a0 and a2). The
// consumers' B fragments stream through per-warp rings, each lane reading only
// what it copied (3 items ahead: 4 and 7 were no faster). An 8-key team keeps
// its answer words here too, lane-private; a 16-key team's do not fit (L2).
template <int Keys>
struct PipelinedShared {
  static constexpr int kFragmentWords = Keys * 256 * 4;
  static constexpr int kItemsAhead = 3;
  static constexpr int kRing = kItemsAhead + 1;
  static constexpr bool kWordsHere = Keys == 8;
  std::uint32_t fragments[2][kFragmentWords];
  uint4 ring[kConsumerWarps][kRing][kUnitsPerStep][32];
  uint4 words[kWordsHere ? kUnits : 1][32];
  std::uint8_t leaf_t[Keys * 256];
  Bits128 path_seed[Keys][kMaxDomainBits + 1];
  std::uint8_t path_t[Keys][kMaxDomainBits + 1];
};

__device__ __forceinline__ void barrier_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void barrier_arrive(int id, int threads) {
  asm volatile("bar.arrive %0, %1;" ::"r"(id), "r"(threads) : "memory");
}

// Leaves -> the tile's A fragments, in place. Producer warp v: keys kl + 8 (v % 2),
// pages 32 (v / 2) + i, word w of the 128-bit masks -> bits 32 w + b; absent keys
// and pages give zero rows. Every producer reads its leaves before any writes.
template <int Keys>
__device__ __forceinline__ void transpose_in_place(std::uint32_t* buffer, int g, int pages) {
  static_assert(kProducerWarps == 16, "one producer warp per (32 pages, 8 keys) of the tile");
  const Bits128* leaves = reinterpret_cast<const Bits128*>(buffer);
  const int lane = threadIdx.x & 31;
  const int v = threadIdx.x >> 5;
  const int kl = lane >> 2;
  const int w = lane & 3;
  const int pg = v >> 1;
  const int k = (v & 1) * 8 + kl;
  const bool live = k < g;
  const bool rows = Keys == 16 || (v & 1) == 0;  // an 8-key tile stores no rows 8..15
  std::uint32_t m[32];
#pragma unroll
  for (int i = 0; i < 32; ++i) {
    const int p = pg * 32 + i;
    m[i] = live && p < pages ? leaves[p * Keys + k].w[w] : 0u;
  }
  if (live) transpose32(m);
  barrier_sync(kProducersDone, kProducers);
  const int frag_lane = (kl * 4 + (pg & 3)) ^ w;  // swizzled: 4-way instead of 16-way conflicts
  const int x = Keys == 16 ? (v & 1) + 2 * (pg >> 2) : pg >> 2;
  if (rows)
#pragma unroll
    for (int b = 0; b < 32; ++b) buffer[((32 * w + b) * 32 + frag_lane) * (Keys / 4) + x] = m[b];
}

// Producer warps, block by block: the keys' root-to-block paths; once the
// consumers have released the buffer, the block's subtree into it
// (impl/dpf_walk.hpp) and the transpose.
template <int Keys>
__device__ __forceinline__ void produce(const MmaLaunch& q, PipelinedShared<Keys>& sh, const DpfKey* keys, int g,
                                        std::uint64_t c_begin, std::uint64_t c_end) {
  const int tid = threadIdx.x;
  const int s = q.subtree_bits;
  const int top = q.domain_bits - s;
  for (std::uint64_t c = c_begin; c < c_end; ++c) {
    const int n = static_cast<int>(c - c_begin);
    Bits128* const leaves = reinterpret_cast<Bits128*>(sh.fragments[n % 2]);
    if (tid < g) {
      if (c == c_begin) {
        sh.path_seed[tid][0] = keys[tid].root_seed;
        sh.path_t[tid][0] = keys[tid].root_t;
      }
      descend(keys[tid], c, first_changed_level(c, top, c == c_begin), top,
              [&](int level) { return split_node(sh.path_seed[tid][level], sh.path_t[tid][level]); });
    }
    if (n >= 2) barrier_sync(kEmpty + n % 2, kTeamThreads);
    barrier_sync(kProducersDone, kProducers);
    for (int j = 0; j < s; ++j) {
      for (int item = tid; item < (g << j); item += kProducers) {
        const int kk = item >> j;
        expand_subtree_item(
            keys[kk], top, j, s, item & ((1 << j) - 1),
            [&] { return split_node(sh.path_seed[kk][top], sh.path_t[kk][top]); },
            [&](int pos) { return split_node(leaves[pos * Keys + kk], sh.leaf_t[pos * Keys + kk]); },
            [&](int pos) -> Bits128& { return leaves[pos * Keys + kk]; });
      }
      barrier_sync(kProducersDone, kProducers);
    }
    transpose_in_place<Keys>(sh.fragments[n % 2], g, 1 << s);
    barrier_arrive(kFull + n % 2, kTeamThreads);
  }
}

// The A fragment of bit j for this lane.
template <int Keys>
__device__ __forceinline__ uint4 a_fragment(const std::uint32_t* buffer, int j, int lane) {
  if constexpr (Keys == 16) return reinterpret_cast<const uint4*>(buffer)[j * 32 + lane];
  const uint2 a = reinterpret_cast<const uint2*>(buffer)[j * 32 + lane];
  return make_uint4(a.x, 0, a.y, 0);
}

// Consumer warps: units cw + 16 i of every block, two at a time (same answer
// word w, so one A fragment load feeds both). Items (block, step, pair) stream
// their B fragments through the warp's ring, kItemsAhead items ahead across
// steps and blocks: the next block's pages are in flight before its fragments
// are ready.
template <int Keys>
__device__ __forceinline__ void consume(const MmaLaunch& q, PipelinedShared<Keys>& sh, uint4* partial, int k0, int g,
                                        std::uint64_t c_begin, std::uint64_t c_end) {
  using Shared = PipelinedShared<Keys>;
  const int lane = threadIdx.x & 31;
  const int cw = (threadIdx.x >> 5) - kProducerWarps;
  const int w = cw & 3;
  const auto unit_of = [&](int step, int u) { return cw + kConsumerWarps * (kUnitsPerStep * step + u); };
  const auto words_of = [&](int unit) {
    return (Shared::kWordsHere ? &sh.words[unit][0] : partial + unit * 32) + lane;
  };
  const int items = static_cast<int>(c_end - c_begin) * kStepsPerBlock * 16;
  // Every item commits one group of copies, empty past the end, so that the wait counts alike.
  const auto issue = [&](int item) {
    if (item < items) {
      const std::uint64_t c = c_begin + static_cast<unsigned>(item) / (kStepsPerBlock * 16);
      const int step = item / 16 % kStepsPerBlock;
#pragma unroll
      for (int u = 0; u < kUnitsPerStep; ++u) {
        const int unit = unit_of(step, u);
        copy_async(&sh.ring[cw][item % Shared::kRing][u][lane],
                   reinterpret_cast<const uint4*>(q.slices) + (c - q.first_block) * (kSliceWords / 4) +
                       ((unit >> 2) * 64 + w * 16 + item % 16) * 32 + lane);
      }
    }
    commit_copies();
  };
  for (int item = 0; item < Shared::kItemsAhead; ++item) issue(item);

  int item = 0;
  for (std::uint64_t c = c_begin; c < c_end; ++c) {
    const int n = static_cast<int>(c - c_begin);
    barrier_sync(kFull + n % 2, kTeamThreads);
#pragma unroll 1
    for (int step = 0; step < kStepsPerBlock; ++step) {
      std::uint32_t packed[kUnitsPerStep][4] = {};
#pragma unroll 1
      for (int pair = 0; pair < 16; ++pair, ++item) {
        issue(item + Shared::kItemsAhead);
        wait_copies<Shared::kItemsAhead>();
        uint4 b[kUnitsPerStep];
#pragma unroll
        for (int u = 0; u < kUnitsPerStep; ++u) b[u] = sh.ring[cw][item % Shared::kRing][u][lane];
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          const uint4 a = a_fragment<Keys>(sh.fragments[n % 2], 32 * w + 2 * pair + half, lane ^ w);
#pragma unroll
          for (int u = 0; u < kUnitsPerStep; ++u) {
            std::uint32_t counts[4];
            mma_and_popc<false>(a, half ? b[u].z : b[u].x, half ? b[u].w : b[u].y, counts);
            fold_parities(packed[u], counts);
          }
        }
      }
#pragma unroll
      for (int u = 0; u < kUnitsPerStep; ++u) {
        uint4* const words = words_of(unit_of(step, u));
        const uint4 before = c == c_begin ? make_uint4(0, 0, 0, 0) : Shared::kWordsHere ? *words : __ldcg(words);
        const uint4 after = make_uint4(before.x ^ packed[u][0], before.y ^ packed[u][1], before.z ^ packed[u][2],
                                       before.w ^ packed[u][3]);
        if constexpr (Shared::kWordsHere)
          *words = after;
        else
          __stcg(words, after);
      }
    }
    if (c + 2 < c_end) barrier_arrive(kEmpty + n % 2, kTeamThreads);  // only where a producer waits
  }

  // A thread reads back only what it wrote.
  for (int i = 0; i < kUnits / kConsumerWarps; ++i) {
    const int unit = cw + kConsumerWarps * i;
    const uint4 v = Shared::kWordsHere ? *words_of(unit) : __ldcg(words_of(unit));
    const std::uint32_t words[4] = {v.x, v.y, v.z, v.w};
    xor_unit(q.answers, unit, k0, k0 + g, words);
  }
}

template <int Keys>
__global__ void __launch_bounds__(kTeamThreads, 1) pipelined_mma_page_query(const MmaLaunch q) {
  extern __shared__ uint4 shared_raw[];
  auto& sh = *reinterpret_cast<PipelinedShared<Keys>*>(shared_raw);
  const TeamWork work = team_work(q);
  if (work.empty()) return;
  const auto [k0, g, c_begin, c_end] = work;
  if (threadIdx.x < kProducers)
    produce<Keys>(q, sh, static_cast<const DpfKey*>(q.keys) + k0, g, c_begin, c_end);
  else
    consume<Keys>(q, sh, q.partial + static_cast<std::size_t>(blockIdx.x) * kUnits * 32, k0, g, c_begin, c_end);
}

// --- Packed keys ----------------------------------------------------------------

// Leaves of a slab in A-fragment order: (block, tile, lane) -> 4 words a0..a3,
// a[x] = word lane % 4 of leaf 2 block + x / 2 of key tile * 16 + lane / 4 + 8 (x % 2).
struct FragmentLeaves {
  int rows;  // tiles * kTileKeys
  __device__ std::size_t word(std::uint64_t leaf, int key, int word) const {
    const int row = key % kTileKeys;
    const int lane = (row % 8) * 4 + word;
    const int x = row / 8 + 2 * static_cast<int>(leaf & 1);
    return ((static_cast<std::size_t>(leaf >> 1) * (rows / kTileKeys) + key / kTileKeys) * 32 + lane) * 4 + x;
  }
};

// Columns of a block are cut into kColumnSlices slices of 16 units: a team owns
// one slice, so each warp keeps one unit for all its key tiles over the whole
// range, and every page bit comes from memory once per key group.
constexpr int kColumnSlices = kUnits / kWarps;
// Blocks of a step: their A fragments stay in registers for the step's 16 pairs
// of bits (a fragment from shared memory fed only 2 MMAs: shared-memory bound),
// and their MMAs add up in the counts before a fold.
constexpr int kPackedStep = 2;

struct PackedLaunch {
  const std::uint32_t* slices;
  std::uint64_t first_block;  // of the matrix's view
  std::uint64_t slab_first;   // blocks [slab_first, slab_first + slab_blocks) this launch
  std::uint64_t slab_blocks;
  const uint4* fragments;  // the slab's leaves, fragment order, (block, tile, lane)
  int tiles;               // tiles of the whole batch
  int groups;              // key groups of `Tiles` tiles
  std::uint64_t blocks_per_team;
  int key_count;
  Bits128* answers;
};

// Shared memory, private to each lane (no barriers): its ring of B fragments,
// filled by cp.async, and its answer words of the range, touched once a step.
template <int Tiles>
struct PackedShared {
  uint4 ring[kWarps][kRing][kPackedStep][32];
  uint4 words[kWarps][Tiles][32];
};

// League: (range, key group, column slice), the slices and groups of a range
// adjacent. A warp walks items (step, pair): per step it loads the step's A
// fragments into registers; per pair it takes the B fragments of both bits from
// its ring (kPairsAhead pairs in flight), adds each tile's MMAs over the step's
// blocks in the counts and folds their parities into fresh words; the step's
// words are XORed into the range's in shared memory.
template <int Tiles>
__global__ void __launch_bounds__(kThreads, 1) packed_mma_page_query(const PackedLaunch q) {
  extern __shared__ uint4 shared_raw[];
  PackedShared<Tiles>& sh = *reinterpret_cast<PackedShared<Tiles>*>(shared_raw);
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int slice = blockIdx.x % kColumnSlices;
  const int tile0 = (blockIdx.x / kColumnSlices) % q.groups * Tiles;
  const std::uint64_t c_begin = q.slab_first + blockIdx.x / (kColumnSlices * q.groups) * q.blocks_per_team;
  const std::uint64_t c_end = min(c_begin + q.blocks_per_team, q.slab_first + q.slab_blocks);
  if (c_begin >= c_end) return;
  const int unit = slice * kWarps + warp;
  const uint4* const unit_bits =
      reinterpret_cast<const uint4*>(q.slices) + ((unit >> 2) * 64 + (unit & 3) * 16) * 32 + lane;
  const int steps = static_cast<int>((c_end - c_begin + kPackedStep - 1) / kPackedStep);

  // Every item commits one group of copies, empty past the end, so that the wait counts alike.
  const auto issue = [&](int item) {
    const std::uint64_t c0 = c_begin + static_cast<unsigned>(item / 16) * kPackedStep;
    const uint4* from = unit_bits + (c0 - q.first_block) * (kSliceWords / 4) + (item % 16) * 32;
#pragma unroll
    for (int b = 0; b < kPackedStep; ++b)
      if (item < steps * 16 && c0 + b < c_end)  // past the range: stale copies meet zero fragments
        copy_async(&sh.ring[warp][item % kRing][b][lane], from + b * (kSliceWords / 4));
    commit_copies();
  };
  for (int item = 0; item < kPairsAhead; ++item) issue(item);
#pragma unroll
  for (int t = 0; t < Tiles; ++t) sh.words[warp][t][lane] = make_uint4(0, 0, 0, 0);

  for (int step = 0; step < steps; ++step) {
    const std::uint64_t c0 = c_begin + static_cast<unsigned>(step) * kPackedStep;
    uint4 a[kPackedStep][Tiles];
#pragma unroll
    for (int b = 0; b < kPackedStep; ++b)
#pragma unroll
      for (int t = 0; t < Tiles; ++t)
        a[b][t] = c0 + b < c_end && tile0 + t < q.tiles
                      ? __ldg(q.fragments + ((c0 + b - q.slab_first) * q.tiles + tile0 + t) * 32 + lane)
                      : make_uint4(0, 0, 0, 0);
    std::uint32_t words[Tiles][4] = {};
#pragma unroll 1
    for (int pair = 0; pair < 16; ++pair) {
      const int item = step * 16 + pair;
      issue(item + kPairsAhead);
      wait_copies<kPairsAhead>();
      uint4 bits[kPackedStep];
#pragma unroll
      for (int b = 0; b < kPackedStep; ++b) bits[b] = sh.ring[warp][item % kRing][b][lane];
#pragma unroll
      for (int t = 0; t < Tiles; ++t) {
        std::uint32_t even[4] = {}, odd[4] = {};
#pragma unroll
        for (int b = 0; b < kPackedStep; ++b) {
          mma_and_popc<true>(a[b][t], bits[b].x, bits[b].y, even);
          mma_and_popc<true>(a[b][t], bits[b].z, bits[b].w, odd);
        }
        fold_parities(words[t], even);
        fold_parities(words[t], odd);
      }
    }
#pragma unroll
    for (int t = 0; t < Tiles; ++t) {
      uint4& w = sh.words[warp][t][lane];
      w = make_uint4(w.x ^ words[t][0], w.y ^ words[t][1], w.z ^ words[t][2], w.w ^ words[t][3]);
    }
  }
#pragma unroll
  for (int t = 0; t < Tiles; ++t) {
    const uint4 w = sh.words[warp][t][lane];
    const std::uint32_t words[4] = {w.x, w.y, w.z, w.w};
    xor_unit(q.answers, unit, (tile0 + t) * kTileKeys, q.key_count, words);
  }
}

template <class Kernel>
void launch_morphogen(cudaStream_t stream, const MmaPageQuery& query, int team_keys, Kernel kernel, int threads,
                      std::size_t shared, bool words_in_l2) {
  MmaLaunch l{query};
  l.subtree_bits = std::min(8, query.domain_bits);
  const int tiles = (team_keys + kTileKeys - 1) / kTileKeys;
  const KeyGroups split = split_keys(query.key_count, team_keys);
  l.groups = split.groups;
  l.group_size = split.size;
  const TeamGrid grid = team_grid(l.groups, query.blocks, query.teams > 0 ? query.teams : query.multiprocessors);
  l.blocks_per_team = grid.chunks_per_team;
  const StreamBuffer partial(stream, words_in_l2 ? grid.league * kUnits * tiles * 32 * sizeof(uint4) : 0);
  l.partial = partial.get<uint4>();
  launch(stream, kernel, grid.league, threads, shared, l);
}

// Tile counts a packed team is compiled for; a batch uses the fewest groups of
// at most the largest, then the smallest count that holds a group.
constexpr int kPackedTiles[] = {1, 2, 3, 4, 6};
constexpr int kMaxPackedTiles = 6;

template <int Tiles>
void launch_packed_tiles(cudaStream_t stream, const MmaPageQuery& query, int tiles) {
  PackedLaunch l{};
  l.slices = query.slices;
  l.first_block = query.first_block;
  l.tiles = tiles;
  l.groups = (tiles + Tiles - 1) / Tiles;
  l.key_count = query.key_count;
  l.answers = query.answers;
  const std::uint64_t slab = std::clamp<std::uint64_t>(
      query.slab_blocks > 0 ? query.slab_blocks : kLeafBufferBytes / (tiles * 32 * sizeof(uint4)), 1, query.blocks);
  const StreamBuffer fragments(stream, slab * tiles * 32 * sizeof(uint4));
  l.fragments = fragments.get<const uint4>();
  const int teams = query.teams > 0 ? query.teams : query.multiprocessors;
  for (l.slab_first = query.first_block; l.slab_first < query.first_block + query.blocks; l.slab_first += slab) {
    l.slab_blocks = std::min(slab, query.first_block + query.blocks - l.slab_first);
    queue_leaf_expansion(stream, static_cast<const PackedDpfKey*>(query.keys), query.key_count,
                         FragmentLeaves{tiles * kTileKeys}, 2 * l.slab_first, 2 * l.slab_blocks,
                         fragments.get<std::uint32_t>());
    check(cudaGetLastError(), "leaf expansion");
    const TeamGrid grid = team_grid(l.groups * kColumnSlices, l.slab_blocks, teams);
    l.blocks_per_team = grid.chunks_per_team;
    launch(stream, packed_mma_page_query<Tiles>, grid.league, kThreads, sizeof(PackedShared<Tiles>), l);
  }
}

void launch_packed(cudaStream_t stream, const MmaPageQuery& query) {
  const int tiles = (query.key_count + kTileKeys - 1) / kTileKeys;
  int per_team = query.tiles;
  if (per_team == 0) {
    const int most = split_keys(tiles, kMaxPackedTiles).size;
    per_team = *std::find_if(std::begin(kPackedTiles), std::end(kPackedTiles), [&](int t) { return t >= most; });
  }
  switch (per_team) {
    case 1:
      return launch_packed_tiles<1>(stream, query, tiles);
    case 2:
      return launch_packed_tiles<2>(stream, query, tiles);
    case 3:
      return launch_packed_tiles<3>(stream, query, tiles);
    case 4:
      return launch_packed_tiles<4>(stream, query, tiles);
    case 6:
      return launch_packed_tiles<6>(stream, query, tiles);
    default:
      throw std::invalid_argument("mma page query: a packed team holds 1, 2, 3, 4 or 6 key tiles, got " +
                                  std::to_string(per_team));
  }
}

// Back-to-back MMAs on fixed non-zero operands: 16 warps a multiprocessor, 4
// independent accumulators each, as the scans keep the tensor pipe fed.
__global__ void __launch_bounds__(kThreads, 1) mma_sync_rate_probe(int steps, std::uint32_t* sink) {
  const std::uint32_t lane = threadIdx.x;
  const uint4 a = make_uint4(lane * 0x85ebca6bu, ~lane, 0x27d4eb2fu ^ lane, 0x165667b1u);
  const std::uint32_t b0 = 0x9e3779b9u * (lane + 1), b1 = ~b0;
  std::uint32_t c[4][4] = {};
  for (int step = 0; step < steps; ++step)
#pragma unroll
    for (int i = 0; i < 4; ++i) mma_and_popc<true>(a, b0 ^ i, b1, c[i]);
  std::uint32_t x = 0;
#pragma unroll
  for (int i = 0; i < 4; ++i) x ^= c[i][0] ^ c[i][1] ^ c[i][2] ^ c[i][3];
  if (x == 0x12345678u) sink[threadIdx.x] = x;  // keeps the MMAs
}

double measure_mma_sync_rate(cudaStream_t stream, int multiprocessors) {
  return probe_rate(stream, mma_sync_rate_probe, multiprocessors, kThreads, double(kWarps) * 4 * kTileKeys * 8 * 256);
}

}  // namespace

double measure_tensor_rate(cudaStream_t stream, TensorKernel kernel, int multiprocessors) {
  return kernel == TensorKernel::Wgmma ? measure_wgmma_rate(stream, multiprocessors)
                                       : measure_mma_sync_rate(stream, multiprocessors);
}

void launch_mma_page_query(cudaStream_t stream, const MmaPageQuery& query) {
  if (query.key_count == 0 || query.blocks == 0) return;
  if (query.format == DpfFormat::Packed)
    return query.kernel == TensorKernel::Wgmma ? launch_wgmma_page_query(stream, query) : launch_packed(stream, query);
  // One tile: the pipelined kernel (its producers hide the DPF, its consumers
  // stream the pages); more: two tiles a team share each page load.
  if (query.key_count <= 8)
    launch_morphogen(stream, query, 8, pipelined_mma_page_query<8>, kTeamThreads, sizeof(PipelinedShared<8>),
                     !PipelinedShared<8>::kWordsHere);
  else if (query.key_count <= kTileKeys)
    launch_morphogen(stream, query, 16, pipelined_mma_page_query<16>, kTeamThreads, sizeof(PipelinedShared<16>),
                     !PipelinedShared<16>::kWordsHere);
  else
    launch_morphogen(stream, query, 32, mma_page_query<2>, kThreads, sizeof(Shared<2>), true);
}

}  // namespace pagequery::impl
