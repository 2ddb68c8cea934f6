#pragma once
// The Hopper scan of packed keys (sm_90a: wgmma fed by bulk copies).
//
// Packed keys select whole pages, so answer bit (vector v, bit j) of key k is
// the parity of sum over pages q of sel_k(q) AND page_q[v][j]: a GF(2) product
// of the (bits x pages) matrix of the pages and the (pages x keys) matrix of the
// selection bits. Here M is 64 page bits a warpgroup owns, N the keys of a pass
// (up to 256, in wgmmas of 64), K the 256 pages of a block:
//  - A, the page bits, comes from the bit-sliced matrix as it is: a warp's
//    16 rows of a block are 512 contiguous bytes, one 16-byte mma.sync A
//    fragment per lane, so a team's share of a block (2 warpgroups: 128 bits,
//    4 KiB) is one bulk copy;
//  - B, the keys' leaves of the block (keys x 256 bits), is expanded first
//    into a buffer in wgmma's K-major core-matrix order, and copied beside it;
//  - a producer warp fills a ring of such stages (mbarriers count the bytes);
//    consumer warpgroups load A into registers and run the block's wgmmas on
//    B in shared memory, adding the counts of a whole range of blocks in their
//    s32 accumulators (a block adds at most 256), and fold the parities once
//    a range.
// Items (range of blocks, column chunk, key pass) are dealt to a persistent
// grid; the chunks and passes of one range run together, so the range's pages
// and leaves are read from memory about once and shared through L2.
#include "pagequery/core/impl/page_query_mma.hpp"

#include <cuda_runtime_api.h>

namespace pagequery::impl {

// Queues the scan of packed keys on `stream` (answers zeroed before). Throws
// std::runtime_error when a launch fails.
void launch_wgmma_page_query(cudaStream_t stream, const MmaPageQuery& query);

// The wgmma m64n64k256 .b1 rate of the device, in m*n*k AND-popc per second, as
// the scan issues them (2 warpgroups a multiprocessor, 4 wgmmas of 64 keys
// sharing one A): a few milliseconds of back-to-back wgmmas on `stream`.
double measure_wgmma_rate(cudaStream_t stream, int multiprocessors);

}  // namespace pagequery::impl
