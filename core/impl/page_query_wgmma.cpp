#include "pagequery/core/impl/page_query_wgmma.hpp"

#include "pagequery/core/impl/cuda_launch.hpp"
#include "pagequery/core/impl/packed_leaves.hpp"
#include "pagequery/core/impl/ptx_sm90.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace pagequery::impl {

namespace {

using namespace sm90;

constexpr int kGroups = 2;                 // consumer warpgroups of a team
constexpr int kConsumers = kGroups * 128;  // their threads
// Warpgroup 0 produces (one lane issues the copies): a whole warpgroup, so that
// registers can move to the consumers (setmaxnreg works per warpgroup); 12 warps
// are 3 per register-file quarter, 40 + 2 x 232 registers each.
constexpr int kThreads = kConsumers + 128;
constexpr int kProducerRegisters = 40;
constexpr int kConsumerRegisters = 232;
constexpr int kRows = 64;               // wgmma M: page bits of one A fragment
constexpr int kSubKeys = 64;            // wgmma N of one instruction
constexpr int kTileBytes = kRows * 32;  // one A fragment's bits of a block's 256 pages
constexpr int kStages = 8;              // ring depth
constexpr int kMaxWgmmas = 4;           // a warpgroup's accumulators: 4 x 64 x 64 counts

// A team's shape: Sub wgmmas of 64 keys make a pass (N = 64 Sub keys), and each
// warpgroup owns Tiles A fragments (64 Tiles page bits): Sub x Tiles <= 4. More
// tiles for fewer keys keep the leaves' bytes small beside the pages'. The
// teams of a cluster of Cluster blocks scan adjacent chunks of the same blocks
// for the same keys: each copies a Cluster-th of the leaves into all of them.
template <int Sub, int Tiles, int Cluster>
struct Shape {
  static_assert(Sub * Tiles <= kMaxWgmmas);
  static constexpr int kSub = Sub;
  static constexpr int kTiles = Tiles;
  static constexpr int kCluster = Cluster;
  static constexpr int kKeys = Sub * kSubKeys;                                // of one pass
  static constexpr std::uint32_t kLeafBytes = kKeys * 32;                     // B: keys x 256 bits
  static constexpr std::uint32_t kChunkBytes = kGroups * Tiles * kTileBytes;  // A: the team's bits of a block
  static constexpr int kChunks = kSliceWords * 4 / kChunkBytes;               // of a block
  static constexpr int kChunkGroups = kChunks / Cluster;                      // of a block: one a cluster
  static constexpr std::uint32_t kStageBytes = kChunkBytes + kLeafBytes;
  // A chunk is 8 Tiles pairs of bits j of 8 vectors: whole answer words from 2 tiles on.
  static constexpr int kWordsPerVector = Tiles >= 2 ? Tiles / 2 : 1;
  static constexpr int kWords = kKeys * 8 * kWordsPerVector;  // the team's answer words of an item
  static constexpr std::size_t kShared =
      kStages * kStageBytes + 2 * kStages * sizeof(std::uint64_t) + kWords * sizeof(std::uint32_t);
};

// Leaves of a slab in B order: per (block, pass) keys x 32 bytes of 8 x 16-byte
// core matrices, (key / 8, leaf of the block, key % 8), K-major: 128 bytes apart
// along K (the block's two leaves), 256 along N.
struct WgmmaLeaves {
  int rows;  // passes x keys of a pass
  int keys;  // of a pass
  __device__ std::size_t word(std::uint64_t leaf, int key, int word) const {
    const int r = key % keys;
    return ((leaf >> 1) * rows + key / keys * keys) * 8 + ((r / 8) * 2 + (leaf & 1)) * 32 + (r % 8) * 4 + word;
  }
};

struct WgmmaLaunch {
  const std::uint32_t* slices;  // bit-sliced blocks from first_block
  std::uint64_t first_block;
  std::uint64_t slab_first;  // blocks [slab_first, +slab_blocks) this launch
  std::uint64_t slab_blocks;
  const std::uint32_t* leaves;  // the slab's B operands (WgmmaLeaves)
  int passes;
  std::uint64_t ranges;  // of the slab's blocks
  int key_count;
  std::uint32_t* answers;  // (key_count x 256 vectors) x 4 words
};

struct Item {
  std::uint64_t begin, end;  // blocks
  int chunk;
  int pass;
};

// A cluster's item i: passes fastest, then groups of chunks (the block's rank
// in the cluster picks the chunk), then ranges.
template <class S>
__device__ Item item_at(const WgmmaLaunch& q, std::uint64_t i) {
  const int pass = static_cast<int>(i % q.passes);
  i /= q.passes;
  const std::uint64_t range = i / S::kChunkGroups;
  const int chunk = static_cast<int>(i % S::kChunkGroups) * S::kCluster + static_cast<int>(cluster_rank());
  return {q.slab_first + range * q.slab_blocks / q.ranges, q.slab_first + (range + 1) * q.slab_blocks / q.ranges, chunk,
          pass};
}

// The items of this block's cluster: i = first(), first() + stride(), ...
template <class S>
__device__ std::uint64_t first_item() {
  return blockIdx.x / S::kCluster;
}
template <class S>
__device__ std::uint64_t item_stride() {
  return gridDim.x / S::kCluster;
}

template <class S>
struct Ring {
  std::uint8_t* stages;
  std::uint64_t* full;   // the stage's bytes have landed
  std::uint64_t* empty;  // every consumer warp is done with the stage
  int stage = 0;
  std::uint32_t phase = 0;
  __device__ std::uint8_t* at() const { return stages + stage * S::kStageBytes; }
  __device__ void next() {
    if (++stage == kStages) {
      stage = 0;
      phase ^= 1;
    }
  }
};

// One lane: for every block of its items, waits for a free stage and copies
// the team's chunk of the block and the pass's leaves of the block into it.
template <class S>
__device__ void produce(const WgmmaLaunch& q, std::uint64_t items, Ring<S> ring) {
  constexpr std::uint32_t kShare = S::kLeafBytes / S::kCluster;  // of the leaves, this block copies
  const std::uint32_t rank = cluster_rank();
  for (std::uint64_t i = first_item<S>(); i < items; i += item_stride<S>()) {
    const Item it = item_at<S>(q, i);
    for (std::uint64_t c = it.begin; c < it.end; ++c, ring.next()) {
      // Free here, and (a cluster) in every block this block's share of the leaves goes to.
      barrier_wait(&ring.empty[ring.stage], ring.phase ^ 1);
      std::uint64_t* full = &ring.full[ring.stage];
      barrier_arrive_expect(full, S::kStageBytes);
      bulk_copy(ring.at(), q.slices + (c - q.first_block) * kSliceWords + it.chunk * (S::kChunkBytes / 4),
                S::kChunkBytes, full);
      const std::uint32_t* leaves = q.leaves + ((c - q.slab_first) * q.passes + it.pass) * (S::kLeafBytes / 4);
      if constexpr (S::kCluster == 1)
        bulk_copy(ring.at() + S::kChunkBytes, leaves, S::kLeafBytes, full);
      else
        bulk_copy_multicast(ring.at() + S::kChunkBytes + rank * kShare, leaves + rank * (kShare / 4), kShare, full,
                            (1u << S::kCluster) - 1);
    }
  }
}

// A consumer's A fragments and counts: tile t of warpgroup w is bytes
// (w Tiles + t) x 2 KiB of the chunk; warp r of the group its rows 16 r...
template <class S>
struct Fragments {
  std::uint32_t a[S::kTiles][4];
};
template <class S>
using Counts = std::uint32_t[S::kTiles][S::kSub][32];

__device__ __forceinline__ int consumer_thread() { return threadIdx.x - 128; }
__device__ __forceinline__ int group_of_thread() { return consumer_thread() / 128; }
__device__ __forceinline__ int row_warp() { return (threadIdx.x / 32) % 4; }

// A consumer warp is done with `stage` (if any): in every block of the cluster,
// whose producers copy into this block's stage too.
template <class S>
__device__ void release(const Ring<S>& ring, int stage) {
  if (stage < 0 || (threadIdx.x & 31) != 0) return;
  if constexpr (S::kCluster == 1)
    barrier_arrive(&ring.empty[stage]);
  else
    for (int rank = 0; rank < S::kCluster; ++rank) barrier_arrive_in(&ring.empty[stage], rank);
}

// A consumer warpgroup's block: its warps' 16 rows of each tile as A fragments
// (bits j and j + 1 of a lane's words are rows g and g + 8), one wgmma per tile
// and 64 keys. The block before is complete on return, and its stage released.
template <class S>
__device__ void consume_block(Ring<S>& ring, int& previous, Fragments<S>& f, Counts<S>& d) {
  const int lane = threadIdx.x & 31;
  barrier_wait(&ring.full[ring.stage], ring.phase);
  const std::uint8_t* stage = ring.at();
#pragma unroll
  for (int t = 0; t < S::kTiles; ++t) {
    const uint4 v = *reinterpret_cast<const uint4*>(stage + (group_of_thread() * S::kTiles + t) * kTileBytes +
                                                    row_warp() * 512 + lane * 16);
    f.a[t][0] = v.x;
    f.a[t][1] = v.z;
    f.a[t][2] = v.y;
    f.a[t][3] = v.w;
#pragma unroll
    for (int r = 0; r < 4; ++r) fence_register(f.a[t][r]);  // loaded before the wgmmas start
  }
  wgmma_fence();
#pragma unroll
  for (int t = 0; t < S::kTiles; ++t)
#pragma unroll
    for (int s = 0; s < S::kSub; ++s)
      wgmma_and_popc_n64(d[t][s], f.a[t], matrix_descriptor(stage + S::kChunkBytes + s * kSubKeys * 32, 128, 256));
  wgmma_commit();
  wgmma_wait<1>();
  release(ring, previous);
  previous = ring.stage;
  ring.next();
}

__device__ __forceinline__ void consumers_sync() { asm volatile("bar.sync 1, %0;" ::"n"(kConsumers) : "memory"); }

// Folds the item's counts into answer words. Row (tile t, warp r, g + 8 h) of
// the team is bit 2 p + h of vector 8 (p / 64) + g, p = 8 Tiles chunk + 4 (w
// Tiles + t) + r its pair of bits; the column is the key. The team's bits of a
// word meet in shared memory, then go out with one XOR.
template <class S>
__device__ void fold(const WgmmaLaunch& q, const Item& it, Counts<S>& d, std::uint32_t* words) {
  const int lane = threadIdx.x & 31;
  const int g = lane / 4, t = lane % 4;
  const int first_pair = 8 * S::kTiles * it.chunk;  // of the chunk, over all vectors' 64 pairs
  const int first_word = first_pair % 64 / 16;
#pragma unroll
  for (int tile = 0; tile < S::kTiles; ++tile) {
    const int pair = (first_pair + 4 * (group_of_thread() * S::kTiles + tile) + row_warp()) % 64;
    const int word = pair / 16 - first_word;
#pragma unroll
    for (int s = 0; s < S::kSub; ++s)
#pragma unroll
      for (int i = 0; i < 32; ++i)
        if (d[tile][s][i] & 1) {
          const int key = s * kSubKeys + 8 * (i / 4) + 2 * t + (i & 1);
          atomicOr(&words[(key * 8 + g) * S::kWordsPerVector + word], 1u << (2 * (pair % 16) + (i & 3) / 2));
        }
  }
  consumers_sync();
  std::uint32_t* answers = q.answers + (static_cast<std::size_t>(first_pair / 64) * 8 * 4 + first_word);
  for (int x = consumer_thread(); x < S::kWords; x += kConsumers) {
    const std::uint32_t w = words[x];
    words[x] = 0;
    const int key = it.pass * S::kKeys + x / (8 * S::kWordsPerVector);
    if (w == 0 || key >= q.key_count) continue;
    const int vector = x / S::kWordsPerVector % 8;
    atomicXor(answers + (static_cast<std::size_t>(key) * kVectorsPerPage + vector) * 4 + x % S::kWordsPerVector, w);
  }
  consumers_sync();
}

template <class S>
__device__ void consume(const WgmmaLaunch& q, std::uint64_t items, Ring<S> ring, std::uint32_t* words) {
  for (std::uint64_t i = first_item<S>(); i < items; i += item_stride<S>()) {
    const Item it = item_at<S>(q, i);
    Counts<S> d = {};
    Fragments<S> f0, f1;  // a wgmma reads its A registers until it completes: two sets
    int previous = -1;
    for (std::uint64_t c = it.begin; c < it.end; c += 2) {
      consume_block(ring, previous, f0, d);
      if (c + 1 < it.end) consume_block(ring, previous, f1, d);
    }
    wgmma_wait<0>();
#pragma unroll
    for (int t = 0; t < S::kTiles; ++t)
#pragma unroll
      for (int s = 0; s < S::kSub; ++s)
#pragma unroll
        for (int r = 0; r < 32; ++r) fence_register(d[t][s][r]);
    release(ring, previous);
    fold<S>(q, it, d, words);
  }
}

template <class S>
__global__ void __launch_bounds__(kThreads, 1) wgmma_page_query(const WgmmaLaunch q) {
  extern __shared__ __align__(128) std::uint8_t shared[];
  Ring<S> ring{shared, reinterpret_cast<std::uint64_t*>(shared + kStages * S::kStageBytes)};
  ring.empty = ring.full + kStages;
  std::uint32_t* words = reinterpret_cast<std::uint32_t*>(ring.empty + kStages);
  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; ++s) {
      barrier_init(&ring.full[s], 1);
      barrier_init(&ring.empty[s], S::kCluster * kConsumers / 32);
    }
    barrier_init_fence();
  }
  for (int x = threadIdx.x; x < S::kWords; x += kThreads) words[x] = 0;
  __syncthreads();
  if constexpr (S::kCluster > 1) cluster_sync();
  const std::uint64_t items = q.ranges * S::kChunkGroups * q.passes;
  if (threadIdx.x < 128) {
    set_max_registers<false, kProducerRegisters>();
    if (threadIdx.x == 0) produce(q, items, ring);
  } else {
    set_max_registers<true, kConsumerRegisters>();
    consume(q, items, ring, words);
  }
  if constexpr (S::kCluster > 1) cluster_sync();  // no block leaves while another may reach into it
}

// Ranges of a slab: the grid's teams divide the items evenly when the count of
// items (ranges x chunks x passes) is a multiple of the teams.
std::uint64_t ranges_for(std::uint64_t teams, std::uint64_t per_range, std::uint64_t blocks) {
  return std::clamp<std::uint64_t>(teams / std::gcd(teams, per_range), 1, blocks);
}

// A launch of `clusters` clusters of S::kCluster blocks.
struct ClusterLaunch {
  cudaLaunchConfig_t config{};
  cudaLaunchAttribute attribute{};
  ClusterLaunch(cudaStream_t stream, std::uint64_t clusters, int cluster, std::size_t shared) {
    config.gridDim = dim3(static_cast<unsigned>(clusters * cluster));
    config.blockDim = dim3(kThreads);
    config.dynamicSmemBytes = shared;
    config.stream = stream;
    attribute.id = cudaLaunchAttributeClusterDimension;
    attribute.val.clusterDim.x = static_cast<unsigned>(cluster);
    attribute.val.clusterDim.y = 1;
    attribute.val.clusterDim.z = 1;
    config.attrs = &attribute;
    config.numAttrs = 1;
  }
};

// Clusters the device holds at once (query.teams, the tests' knob: its blocks, rounded up).
template <class S>
std::uint64_t resident_clusters(cudaStream_t stream, const MmaPageQuery& query) {
  if (query.teams > 0) return (static_cast<std::uint64_t>(query.teams) + S::kCluster - 1) / S::kCluster;
  const ClusterLaunch probe(stream, 1, S::kCluster, S::kShared);
  int clusters = 0;
  check(cudaOccupancyMaxActiveClusters(&clusters, wgmma_page_query<S>, &probe.config), "occupancy");
  if (clusters < 1) throw std::runtime_error("mma page query: a wgmma cluster does not fit the device");
  return static_cast<std::uint64_t>(clusters);
}

template <class S>
void launch_passes(cudaStream_t stream, const MmaPageQuery& query, int passes) {
  const auto kernel = wgmma_page_query<S>;
  allow_shared(kernel, S::kShared);
  const std::uint64_t clusters = resident_clusters<S>(stream, query);
  const WgmmaLeaves layout{passes * S::kKeys, S::kKeys};
  const std::uint64_t slab = std::clamp<std::uint64_t>(
      query.slab_blocks > 0 ? query.slab_blocks : kLeafBufferBytes / (layout.rows * 32), 1, query.blocks);
  const StreamBuffer leaves(stream, slab * layout.rows * 32);
  WgmmaLaunch l{query.slices,
                query.first_block,
                0,
                0,
                leaves.get<const std::uint32_t>(),
                passes,
                0,
                query.key_count,
                reinterpret_cast<std::uint32_t*>(query.answers)};
  for (l.slab_first = query.first_block; l.slab_first < query.first_block + query.blocks; l.slab_first += slab) {
    l.slab_blocks = std::min(slab, query.first_block + query.blocks - l.slab_first);
    queue_leaf_expansion(stream, static_cast<const PackedDpfKey*>(query.keys), query.key_count, layout,
                         2 * l.slab_first, 2 * l.slab_blocks, leaves.get<std::uint32_t>());
    check(cudaGetLastError(), "leaf expansion");
    const std::uint64_t per_range = static_cast<std::uint64_t>(S::kChunkGroups) * passes;
    l.ranges = ranges_for(clusters, per_range, l.slab_blocks);
    const ClusterLaunch launch(stream, std::min(clusters, l.ranges * per_range), S::kCluster, S::kShared);
    check(cudaLaunchKernelEx(&launch.config, kernel, l), "launch");
  }
}

// Cluster sizes by shape (0 in the tuning), as measured on an H100 at 64.2 GiB
// (docs/hopper.md): 2 blocks for passes of 128 keys (Q = 32: 1.16x the read
// floor against 1.21x alone); none for 192 and 256 (Q = 128: 2.30x alone
// against 2.95x in clusters of 4), whose clusters wait for their slowest block.
template <int Sub, int Tiles>
void launch_shape(cudaStream_t stream, const MmaPageQuery& query, int passes) {
  const int cluster = query.wgmma_cluster > 0 ? query.wgmma_cluster : Sub == 2 ? 2 : 1;
  switch (cluster) {
    case 1:
      return launch_passes<Shape<Sub, Tiles, 1>>(stream, query, passes);
    case 2:
      return launch_passes<Shape<Sub, Tiles, 2>>(stream, query, passes);
    case 4:
      return launch_passes<Shape<Sub, Tiles, 4>>(stream, query, passes);
    default:
      throw std::invalid_argument("mma page query: a wgmma cluster holds 1, 2 or 4 blocks, got " +
                                  std::to_string(cluster));
  }
}

// Back-to-back wgmmas on fixed operands (non-zero: a rate is measured on bits as
// a scan sees them), 4 x 64 keys a step as the scan's largest pass.
__global__ void __launch_bounds__(kConsumers, 1) wgmma_rate_probe(int steps, std::uint32_t* sink) {
  __shared__ __align__(128) std::uint32_t b[kMaxWgmmas * kSubKeys * 8];
  for (int x = threadIdx.x; x < kMaxWgmmas * kSubKeys * 8; x += blockDim.x) b[x] = 0x9e3779b9u * (x + 1);
  __syncthreads();
  std::uint32_t a[4] = {threadIdx.x * 0x85ebca6bu, ~threadIdx.x, 0x27d4eb2fu ^ threadIdx.x, 0x165667b1u};
  std::uint32_t d[kMaxWgmmas][32] = {};
  for (int step = 0; step < steps; ++step) {
    wgmma_fence();
#pragma unroll
    for (int s = 0; s < kMaxWgmmas; ++s) wgmma_and_popc_n64(d[s], a, matrix_descriptor(b + s * kSubKeys * 8, 128, 256));
    wgmma_commit();
    wgmma_wait<1>();
  }
  wgmma_wait<0>();
  std::uint32_t x = 0;
#pragma unroll
  for (int s = 0; s < kMaxWgmmas; ++s)
#pragma unroll
    for (int r = 0; r < 32; ++r) x ^= d[s][r];
  if (x == 0x12345678u) sink[threadIdx.x] = x;  // keeps the MMAs
}

}  // namespace

double measure_wgmma_rate(cudaStream_t stream, int multiprocessors) {
  return probe_rate(stream, wgmma_rate_probe, multiprocessors, kConsumers,
                    double(kGroups) * kMaxWgmmas * kRows * kSubKeys * 256);
}

void launch_wgmma_page_query(cudaStream_t stream, const MmaPageQuery& query) {
  if (query.key_count == 0 || query.blocks == 0) return;
  // Passes of at most 256 keys, as even as possible, each a multiple of 64.
  const int most = kMaxWgmmas * kSubKeys;
  const int passes = (query.key_count + most - 1) / most;
  switch (((query.key_count + passes - 1) / passes + kSubKeys - 1) / kSubKeys) {
    case 1:
      return launch_shape<1, 4>(stream, query, passes);
    case 2:
      return launch_shape<2, 2>(stream, query, passes);
    case 3:
      return launch_shape<3, 1>(stream, query, passes);
    default:
      return launch_shape<4, 1>(stream, query, passes);
  }
}

}  // namespace pagequery::impl
