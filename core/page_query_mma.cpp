#include "page_query_mma.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace pagequery {

namespace {

constexpr int kThreads = 512;
constexpr int kWarps = kThreads / 32;
constexpr int kTileKeys = 16;             // MMA rows: keys of one A fragment
constexpr int kTileWords = 128 * 32 * 4;  // one key tile's A fragments (= its leaves), in words
constexpr int kUnits = 32 * 4;            // (n-tile of 8 vectors, answer word) pairs of a block
constexpr int kUnitsPerWarp = kUnits / kWarps;
// Measured on an H100 (64.2 GiB, Q = 32): 1 unit a step 115 ms, 2: 114, 4: 116;
// loads 2 or 4 pairs ahead change nothing (the MMA phase is not memory-bound).
constexpr int kUnitsPerStep = 2;  // units sharing each A fragment load
constexpr int kLoadsAhead = 2;    // B fragment loads in flight per unit

struct Launch : MmaPageQuery {
  int subtree_bits;  // s = min(8, d): levels expanded per block
  int groups;        // key groups
  int group_size;    // keys per group (the last may hold fewer)
  std::uint64_t blocks_per_team;
  // Each team's answer words over its range, (unit, tile, lane) -> 4 words. They
  // live in L2: kept in registers they force the unit loop to unroll, which
  // spilled 2 KB a thread.
  uint4* partial;
};

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

__device__ __forceinline__ void mma_and_popc(const uint4& a, std::uint32_t b0, std::uint32_t b1,
                                             std::uint32_t (&c)[4]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm("mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %10, %10, %10};"
      : "=r"(c[0]), "=r"(c[1]), "=r"(c[2]), "=r"(c[3])
      : "r"(a.x), "r"(a.y), "r"(a.z), "r"(a.w), "r"(b0), "r"(b1), "r"(0));
#endif
}

// One team per multiprocessor: two teams of one key tile (64 registers each)
// were no faster at Q = 1 (27.4 vs 26.7 ms) and slower at Q = 32.
template <int Tiles>
__global__ void __launch_bounds__(kThreads, 1) mma_page_query(const Launch q) {
  extern __shared__ uint4 shared_raw[];
  Shared<Tiles>& sh = *reinterpret_cast<Shared<Tiles>*>(shared_raw);
  const int tid = threadIdx.x;
  const int lane = tid & 31;
  const int warp = tid >> 5;
  const int group = blockIdx.x % q.groups;
  const std::uint64_t range = blockIdx.x / q.groups;
  const int k0 = group * q.group_size;
  const int g = min(q.group_size, q.key_count - k0);
  const std::uint64_t c_begin = q.first_block + range * q.blocks_per_team;
  const std::uint64_t c_end = min(c_begin + q.blocks_per_team, q.first_block + q.blocks);
  if (g <= 0 || c_begin >= c_end) return;

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
    // 1. Path root -> block, re-expanding only the levels that changed.
    const int from = c == c_begin ? 1 : top - (64 - __clzll(static_cast<long long>(c ^ (c - 1)))) + 1;
    for (int kk = tid; kk < g; kk += kThreads) {
      const DpfKey& key = q.keys[k0 + kk];
      if (c == c_begin) {
        sh.path_seed[kk][0] = key.root_seed;
        sh.path_t[kk][0] = key.root_t;
      }
      for (int level = from; level <= top; ++level) {
        const int bit = static_cast<int>((c >> (top - level)) & 1u);
        const DpfNode child =
            dpf_child(key, level - 1, DpfNode{sh.path_seed[kk][level - 1], sh.path_t[kk][level - 1]}, bit);
        sh.path_seed[kk][level] = child.seed;
        sh.path_t[kk][level] = child.t;
      }
    }
    __syncthreads();

    // 2. The block's subtree, in place (node m of depth j at m * (P >> j)).
    for (int j = 0; j < s; ++j) {
      const int stride = P >> j;
      for (int item = tid; item < (g << j); item += kThreads) {
        const int kk = item >> j;
        const int pos = (item & ((1 << j) - 1)) * stride;
        const DpfKey& key = q.keys[k0 + kk];
        const int here = leaf_index(pos, kk);
        const int there = leaf_index(pos + stride / 2, kk);
        const DpfNode node = j == 0 ? DpfNode{sh.path_seed[kk][top], sh.path_t[kk][top]}
                                    : DpfNode{sh.masks[here], sh.leaf_t[here]};
        DpfNode left, right;
        dpf_children(key, top + j, node, left, right);
        if (j + 1 == s) {
          sh.masks[here] = dpf_leaf_mask(key, left);
          sh.masks[there] = dpf_leaf_mask(key, right);
        } else {
          sh.masks[here] = left.seed;
          sh.leaf_t[here] = left.t;
          sh.masks[there] = right.seed;
          sh.leaf_t[there] = right.t;
        }
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
    const uint4* block = reinterpret_cast<const uint4*>(q.slices) +
                         (c - q.first_block) * (kSliceWords / 4);
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
              mma_and_popc(a, half ? b[u].z : b[u].x, half ? b[u].w : b[u].y, counts);
              // Bit j's parity enters at the top; 32 shifts later it sits at bit j % 32.
#pragma unroll
              for (int r = 0; r < 4; ++r)
                packed[u][tile][r] = __funnelshift_r(packed[u][tile][r], counts[r], 1);
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
  auto* answers = reinterpret_cast<std::uint32_t*>(q.answers);
  for (int i = 0; i < kUnitsPerWarp; ++i) {
    const int unit = warp + kWarps * i;
    for (int tile = 0; tile < Tiles; ++tile) {
      const uint4 words = __ldcg(partial_of(i, tile));
      const std::uint32_t acc[4] = {words.x, words.y, words.z, words.w};
      for (int r = 0; r < 4; ++r) {
        const int key = tile * kTileKeys + (lane >> 2) + 8 * (r >> 1);
        const int vector = (unit >> 2) * 8 + 2 * (lane & 3) + (r & 1);
        if (key < g)
          atomicXor(answers + (static_cast<std::size_t>(k0 + key) * kVectorsPerPage + vector) * 4 + (unit & 3),
                    acc[r]);
      }
    }
  }
}

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string("mma page query: ") + what + ": " + cudaGetErrorString(status));
}

template <int Tiles>
void launch_tiles(cudaStream_t stream, const Launch& q, int teams, int multiprocessors) {
  constexpr int kKeys = Tiles * kTileKeys;
  Launch l = q;
  l.groups = (q.key_count + kKeys - 1) / kKeys;
  l.group_size = (q.key_count + l.groups - 1) / l.groups;
  const int target = teams > 0 ? teams : multiprocessors;
  const std::uint64_t ranges =
      std::clamp<std::uint64_t>(static_cast<std::uint64_t>(std::max(1, target / l.groups)), 1, q.blocks);
  l.blocks_per_team = (q.blocks + ranges - 1) / ranges;
  const std::uint64_t league = (q.blocks + l.blocks_per_team - 1) / l.blocks_per_team * l.groups;
  check(cudaFuncSetAttribute(mma_page_query<Tiles>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             sizeof(Shared<Tiles>)),
        "shared memory");
  // Stream-ordered, so the buffer lives exactly as long as the launch needs it.
  check(cudaMallocAsync(reinterpret_cast<void**>(&l.partial), league * kUnits * Tiles * 32 * sizeof(uint4), stream),
        "team buffers");
  mma_page_query<Tiles><<<static_cast<unsigned>(league), kThreads, sizeof(Shared<Tiles>), stream>>>(l);
  const cudaError_t launched = cudaGetLastError();
  check(cudaFreeAsync(l.partial, stream), "team buffers");
  check(launched, "launch");
}

}  // namespace

bool mma_device_supported(int device) {
  int major = 0;
  return cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
         major >= 8;
}

void launch_mma_page_query(cudaStream_t stream, const MmaPageQuery& query, int teams) {
  if (query.key_count == 0 || query.blocks == 0) return;
  int device = 0, multiprocessors = 0;
  check(cudaGetDevice(&device), "device");
  check(cudaDeviceGetAttribute(&multiprocessors, cudaDevAttrMultiProcessorCount, device), "device");
  Launch l{query};
  l.subtree_bits = std::min(8, query.domain_bits);
  // One tile of keys fills a team for a single query; larger batches share
  // every page load between two tiles.
  if (query.key_count <= kTileKeys)
    launch_tiles<1>(stream, l, teams, multiprocessors);
  else
    launch_tiles<2>(stream, l, teams, multiprocessors);
}

}  // namespace pagequery
