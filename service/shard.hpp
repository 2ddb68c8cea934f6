#pragma once
// How the page matrix is split over MPI ranks: every rank holds one contiguous
// shard, answers the keys over it only, and the shards' answers XOR to the whole
// answer (service/mpi_context.hpp reduces them).
#include "pagequery/core/matrix_shape.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace pagequery::service {

// Rank `rank` of `size`: contiguous shards in rank order, the remainder spread
// over the first ranks (7 pages, 3 ranks: [0,3) [3,5) [5,7)); ranks past the
// page count get 0 pages. Throws std::invalid_argument for size < 1 or rank
// outside [0, size).
PageRange shard_of(std::uint64_t total_pages, int rank, int size);
std::vector<PageRange> shard_layout(std::uint64_t total_pages, int size);
// "[[0,3],[3,2],[5,2]]"
std::string shard_layout_json(const std::vector<PageRange>& layout);

// What the matrix file at `path` is, for ranks to compare (MpiContext::agree_on):
// its size and an XXH3 of sampled pages, the first and last page of each of the
// shards of `ranks` and 64 spread over the file (hashing every byte on every rank
// would cost as much as the scan). Throws std::runtime_error when it cannot be read.
std::string file_identity(const std::string& path, int ranks);

}  // namespace pagequery::service
