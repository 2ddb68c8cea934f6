#pragma once
// Hopper PTX the wgmma kernels use (device code of sm_90a translation units):
// mbarriers, bulk copies (the TMA engine), warpgroup MMAs. Bodies compile only
// where __CUDA_ARCH_FEAT_SM90_ALL is defined (the sm_90a pass), so a file that
// includes this can also be compiled for other targets.
#include <cstdint>

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define PAGEQUERY_SM90A 1
#endif

namespace pagequery::impl::sm90 {

__device__ __forceinline__ std::uint32_t shared_address(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

// --- mbarriers (shared memory, one 64-bit word each) ------------------------------

__device__ __forceinline__ void barrier_init(std::uint64_t* bar, int arrivals) {
#ifdef PAGEQUERY_SM90A
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(shared_address(bar)), "r"(arrivals) : "memory");
#endif
}

// Makes initialised barriers visible to the other threads and to the copy engine.
__device__ __forceinline__ void barrier_init_fence() {
#ifdef PAGEQUERY_SM90A
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
#endif
}

__device__ __forceinline__ void barrier_arrive(std::uint64_t* bar) {
#ifdef PAGEQUERY_SM90A
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(shared_address(bar)) : "memory");
#endif
}

// One arrival that also expects `bytes` from bulk copies in the current phase.
__device__ __forceinline__ void barrier_arrive_expect(std::uint64_t* bar, std::uint32_t bytes) {
#ifdef PAGEQUERY_SM90A
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(shared_address(bar)), "r"(bytes)
               : "memory");
#endif
}

// Waits until the phase of parity `parity` has completed (the phase before
// the first counts as completed: waiting on parity 1 of a new barrier returns).
__device__ __forceinline__ void barrier_wait(std::uint64_t* bar, std::uint32_t parity) {
#ifdef PAGEQUERY_SM90A
  std::uint32_t done = 0;
  while (!done)
    asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }"
                 : "=r"(done)
                 : "r"(shared_address(bar)), "r"(parity)
                 : "memory");
#endif
}

// One arrival on the barrier at the same shared-memory offset in block `rank`
// of this cluster (this block's own included). The arrival's default ordering
// (release at CTA scope) is what a stage's reuse needs: the reads it orders are
// complete (wgmma waited for); a cluster-scope release costs a memory barrier
// per arrival, which stalled the H100 scan 4x to 30x.
__device__ __forceinline__ void barrier_arrive_in(std::uint64_t* bar, std::uint32_t rank) {
#ifdef PAGEQUERY_SM90A
  asm volatile(
      "{ .reg .b32 remote; mapa.shared::cluster.u32 remote, %0, %1; "
      "mbarrier.arrive.shared::cluster.b64 _, [remote]; }" ::"r"(shared_address(bar)),
      "r"(rank)
      : "memory");
#endif
}

// --- clusters ------------------------------------------------------------------------

__device__ __forceinline__ std::uint32_t cluster_rank() {
  std::uint32_t rank = 0;
#ifdef PAGEQUERY_SM90A
  asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(rank));
#endif
  return rank;
}

// Every thread of every block of the cluster: the blocks' shared memory (its
// barriers) is ready before any block reaches into another's, and stays until
// no block will.
__device__ __forceinline__ void cluster_sync() {
#ifdef PAGEQUERY_SM90A
  asm volatile("barrier.cluster.arrive.release;\nbarrier.cluster.wait.acquire;" ::: "memory");
#endif
}

// --- bulk copies ---------------------------------------------------------------------

// Copies `bytes` (a multiple of 16, both addresses 16-byte aligned) from global
// to this block's shared memory; completion counts against `bar`'s expected bytes.
__device__ __forceinline__ void bulk_copy(void* to, const void* from, std::uint32_t bytes, std::uint64_t* bar) {
#ifdef PAGEQUERY_SM90A
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
                   shared_address(to)),
               "l"(from), "r"(bytes), "r"(shared_address(bar))
               : "memory");
#endif
}

// --- registers -----------------------------------------------------------------------

// This warpgroup's registers per thread become Count (Increase: from the pool the
// other warpgroups released). Every warp of the group runs it.
template <bool Increase, int Count>
__device__ __forceinline__ void set_max_registers() {
#ifdef PAGEQUERY_SM90A
  if constexpr (Increase)
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(Count));
  else
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(Count));
#endif
}

// The same copy into every block of the cluster in `blocks` (a bit mask of
// ranks), at the same shared-memory offset; each block's barrier at `bar`'s
// offset counts the bytes that land in it.
__device__ __forceinline__ void bulk_copy_multicast(void* to, const void* from, std::uint32_t bytes, std::uint64_t* bar,
                                                    std::uint16_t blocks) {
#ifdef PAGEQUERY_SM90A
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.multicast::cluster [%0], [%1], %2, [%3], "
      "%4;" ::"r"(shared_address(to)),
      "l"(from), "r"(bytes), "r"(shared_address(bar)), "h"(blocks)
      : "memory");
#endif
}

// --- warpgroup MMAs ----------------------------------------------------------------

// Orders register writes before the warpgroup's next wgmma (accumulators, A).
__device__ __forceinline__ void wgmma_fence() {
#ifdef PAGEQUERY_SM90A
  asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
#endif
}
__device__ __forceinline__ void wgmma_commit() {
#ifdef PAGEQUERY_SM90A
  asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");
#endif
}
// Returns when at most Pending groups of this warpgroup's wgmmas are in flight.
template <int Pending>
__device__ __forceinline__ void wgmma_wait() {
#ifdef PAGEQUERY_SM90A
  asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(Pending) : "memory");
#endif
}

// Keeps the compiler from moving accesses of `r` across this point (the
// hardware reads and writes wgmma operands asynchronously).
__device__ __forceinline__ void fence_register(std::uint32_t& r) { asm volatile("" : "+r"(r)::"memory"); }

// Shared-memory matrix descriptor, no swizzle: 8 x 16-byte core matrices,
// `leading` bytes apart along K, `stride` bytes apart along M or N.
__device__ __forceinline__ std::uint64_t matrix_descriptor(const void* start, std::uint32_t leading,
                                                           std::uint32_t stride) {
  return static_cast<std::uint64_t>((shared_address(start) & 0x3FFFF) >> 4) |
         static_cast<std::uint64_t>(leading >> 4) << 16 | static_cast<std::uint64_t>(stride >> 4) << 32;
}

// d += popc(a AND b) for 64 rows x 64 columns x 256 bits: A from registers
// (the mma.sync m16n8k256 A fragment, warp w of the group holding rows 16w..),
// B (64 columns x 256 bits, K-major) from shared memory. d[4j + r] is row
// 16w + lane / 4 + 8 (r / 2), column 8j + 2 (lane % 4) + r % 2.
__device__ __forceinline__ void wgmma_and_popc_n64(std::uint32_t (&d)[32], const std::uint32_t (&a)[4],
                                                   std::uint64_t b) {
#ifdef PAGEQUERY_SM90A
  asm volatile(
      "wgmma.mma_async.sync.aligned.m64n64k256.s32.b1.b1.and.popc "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
      "{%32, %33, %34, %35}, %36, 1;"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]), "+r"(d[8]),
        "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]), "+r"(d[16]),
        "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]), "+r"(d[24]),
        "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b)
      : "memory");
#endif
}

}  // namespace pagequery::impl::sm90
