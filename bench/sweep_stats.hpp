#pragma once
// The sweep's numbers: per-cell rows, sample statistics, the comma lists of its
// axes, and the seed's three markdown tables (shared by `sweep` and `report`).
// Plain C++: no Kokkos, no HDF5.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pagequery::bench {

// Statistics of one path's per-iteration samples (milliseconds).
struct Stats {
  double min = 0, median = 0, mean = 0, stddev = 0, max = 0;  // stddev: sample (n - 1)
};
Stats summarize(std::span<const double> samples);

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
  std::string mode;  // the strategy's configuration
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
};

// Derives qps, speedup and bandwidth from the stats (means).
void finish_row(CellRow& row, std::uint64_t local_matrix_bytes);

// One raw sample: path 0 = single loop, 1 = batch. reduce_ms: the MPI reduction's
// part of ms (0 for one rank).
struct Sample {
  std::uint32_t cell = 0;
  std::uint8_t path = 0;
  std::uint32_t iteration = 0;
  double ms = 0;
  double reduce_ms = 0;
};

// "1,2,4" -> {1, 2, 4}; each value in [lo, hi]; duplicates refused. Throws
// std::invalid_argument naming `flag`.
std::vector<int> parse_int_list(std::string_view text, std::string_view flag, int lo, int hi);
// "a,b,c" -> {"a", "b", "c"} (spaces trimmed, empty items refused).
std::vector<std::string> split_list(std::string_view text, std::string_view flag);

// A table column: the strategy, with the key format when it is not Morphogen's
// ("fused (packed)"), so Morphogen-only runs keep the seed's column names.
std::string column_label(const std::string& strategy, const std::string& dpf);

// The seed's tables (speedup, batch ms per batch, batch QPS; rows Q, columns
// strategies), one set per concurrency, then a checksum parity line.
std::string markdown_tables(const std::vector<CellRow>& rows);
// Each cell's mean batch time as a multiple of the run's read floor (rows Q,
// columns strategies); "n/a" in every cell of a run without one.
std::string read_floor_tables(const std::vector<CellRow>& rows, std::optional<double> read_floor_ms);
// The MPI reduction's share of the single loop and the batch (reduce ms per
// query and per batch, rows Q, columns strategies), one set per concurrency.
std::string reduction_tables(const std::vector<CellRow>& rows);
// One CSV line per row (header first); `run`, `accumulate` and `read_floor_ms`
// (the run's; empty when the run has none) fill the first three columns.
std::string csv_rows(const std::vector<CellRow>& rows, std::string_view run, std::string_view accumulate,
                     std::optional<double> read_floor_ms);

// Text read from a results file, as a CSV field (RFC 4180: quoted, quotes doubled,
// when it holds a comma, a quote or a line break) or as markdown (one line, '|'
// escaped, so that a table keeps its columns).
std::string csv_field(std::string_view text);
std::string markdown_text(std::string_view text);

// Shortest round-trip text of a double ("0.1", "1e-05", "nan").
std::string number(double value);
// A fixed number of decimals ("30.14").
std::string fixed(double value, int decimals);
// "16.00 MiB", "64.20 GiB" (binary units, GiB from 1 GiB on)
std::string human_bytes(std::uint64_t bytes);
// "0x0123456789abcdef"
std::string hex64(std::uint64_t value);

}  // namespace pagequery::bench
