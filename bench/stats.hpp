#pragma once
// The sweep's numbers: sample statistics and the row of one measured cell, as the
// runner fills it, the results store keeps it and the printers show it.
// Plain C++: no Kokkos, no HDF5.
#include <cstdint>
#include <span>
#include <string>

namespace pagequery::bench {

// Statistics of one path's per-iteration samples (milliseconds). The median's 95 %
// confidence interval is distribution-free, from order statistics: [x_(l), x_(n+1-l)]
// with the largest l where P(Binomial(n, 1/2) < l) <= 2.5 %; below 6 samples no l
// qualifies and it is [min, max] (coverage 1 - 2^(1-n)). Noise: the interval's
// half-width relative to the median, in percent (0 for fewer than 2 samples).
struct Stats {
  double min = 0, median = 0, mean = 0, stddev = 0, max = 0;  // stddev: sample (n - 1)
  double median_ci_low = 0, median_ci_high = 0;
  double noise_pct = 0;
};
Stats summarize(std::span<const double> samples);

// The 1-based rank l of the lower bound of the median's 95 % interval of n samples.
std::size_t median_ci_rank(std::size_t n);

// Whether two medians differ beyond noise: their 95 % intervals do not overlap.
bool differ(const Stats& a, const Stats& b);

// Longest strategy / mode name a row stores (HDF5 fixed-length strings).
inline constexpr std::size_t kStrategyChars = 48;
inline constexpr std::size_t kModeChars = 16;
inline constexpr std::size_t kDpfChars = 16;

// One (strategy, Q, concurrency) cell. Times are wall milliseconds of one
// iteration: all C clients running Q queries one by one (single) or one batch
// of Q queries each (batch).
struct CellRow {
  std::string strategy;
  std::string dpf = "morphogen";  // the key format: morphogen or packed
  std::string mode;               // the strategy's configuration
  int streams = 1;
  bool cuda_graph = false;
  int tile = 16;
  int threshold = 4;
  std::uint32_t queries = 0;      // Q
  std::uint32_t concurrency = 0;  // C
  std::uint32_t iterations = 0;
  std::uint32_t warmup = 0;
  Stats single_ms;
  Stats batch_ms;
  Stats batch_device_ms;  // the batch's launches on the device (C > 1: the slowest client's)
  double single_qps = 0;  // C * Q / single mean
  double batch_qps = 0;   // C * Q / batch mean
  double speedup = 0;     // single mean / batch mean
  std::uint64_t single_checksum = 0;
  std::uint64_t batch_checksum = 0;
  bool checksum_match = false;
  double bandwidth_gbs = 0;  // local matrix bytes * C * Q / single mean, in GB/s (1e9)
  // MPI: the part of an iteration spent in the XOR reduction into rank 0 (mean ms;
  // single: the Q per-query reductions summed; C > 1: mean over clients). 0 for one rank.
  double single_reduce_ms = 0;
  double batch_reduce_ms = 0;
  // Live updates: U pages changed before each batch (0: a baseline cell), the
  // epoch advance that applied them (all zero for U = 0), and U * 4096 bytes over
  // its median, in GB/s (1e9).
  std::uint64_t update_pages = 0;
  Stats update_ms;
  double update_gbs = 0;
};

// Derives qps, speedup and bandwidth from the stats (means), and the update rate
// (from the apply time's median).
void finish_row(CellRow& row, std::uint64_t local_matrix_bytes);

// One raw sample: path 0 = single loop, 1 = batch (wall), 2 = batch device time,
// 3 = the epoch advance of a cell with updates. reduce_ms: the MPI reduction's
// part of ms (0 for one rank, and for paths 2 and 3).
inline constexpr int kSamplePaths = 4;
struct Sample {
  std::uint32_t cell = 0;
  std::uint8_t path = 0;
  std::uint32_t iteration = 0;
  double ms = 0;
  double reduce_ms = 0;
};

// A table column: the strategy, with the key format when it is not Morphogen's
// ("fused (packed)"), so Morphogen-only runs keep the seed's column names.
std::string column_label(const std::string& strategy, const std::string& dpf);

}  // namespace pagequery::bench
