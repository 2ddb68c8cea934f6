#pragma once
// The layout of a results file (data/README.md, "HDF5 results layout"):
//
//   /                      attrs format = "pagequery-sweep-results", format_version = 1
//   /runs/<run id>         one group per run, attributes = the run's metadata
//   /runs/<run id>/cells   compound rows, one per (strategy, Q, concurrency, U) cell
//   /runs/<run id>/samples compound rows (cell, path, iteration, ms)
//
// The rows as they are in memory (CellRecord, SampleRecord) and their HDF5 types;
// the file stores the types packed. Columns added since version 1 are read as 0
// (or "") from older runs.
#include "bench/results/hdf5.hpp"
#include "bench/stats.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace pagequery::bench::results {

inline constexpr const char* kFormat = "pagequery-sweep-results";
inline constexpr std::int64_t kFormatVersion = 1;

// A Stats as columns "<prefix>_<name>"; the last three (the median's interval and
// the noise) are absent in runs written before them (read as 0).
inline constexpr int kStatFields = 8;
inline constexpr const char* kStatNames[kStatFields] = {"min", "median",        "mean",           "stddev",
                                                        "max", "median_ci_low", "median_ci_high", "noise_pct"};

struct CellRecord {
  char strategy[kStrategyChars];
  char mode[kModeChars];
  std::int32_t streams;
  std::uint8_t cuda_graph;
  std::int32_t tile;
  std::int32_t threshold;
  std::uint32_t queries;
  std::uint32_t concurrency;
  std::uint32_t iterations;
  std::uint32_t warmup;
  double single_ms[kStatFields];  // kStatNames, in order
  double batch_ms[kStatFields];
  double single_qps;
  double batch_qps;
  double speedup;
  std::uint64_t single_checksum;
  std::uint64_t batch_checksum;
  std::uint8_t checksum_match;
  double bandwidth_gbs;
  double single_reduce_ms;  // since the MPI scale-out; absent in older runs (read as 0)
  double batch_reduce_ms;
  char dpf[kDpfChars];                  // since packed keys; absent in older runs (read as "", i.e. morphogen)
  double batch_device_ms[kStatFields];  // since the verdict; absent in older runs (read as 0)
  std::uint64_t update_pages;           // since live updates; absent in older runs (read as 0)
  double update_ms[kStatFields];
  double update_gbs;
};

struct SampleRecord {
  std::uint32_t cell;
  std::uint8_t path;
  std::uint32_t iteration;
  double ms;
  double reduce_ms;  // since the MPI scale-out; absent in older runs (read as 0)
};

// The /runs group of an open results file (of `file_bytes`), after its root
// attributes `format` and `format_version` are checked: a foreign file, or one of
// a later version, is refused (StoreError) for reading and for appending alike.
Hid open_runs(hid_t file, const std::string& path, std::uint64_t file_bytes);

// The in-memory compound types.
Hid cell_type();
Hid sample_type();
// The unit of every member of cell_type(), in member order (the `units` attribute
// of the cells dataset): "ms", "%", "1/s", "GB/s", "1" (counts, ratios), "" (text,
// flags, checksums).
std::vector<std::string> cell_units();
// The type as the file stores it: `mem_type` without padding.
Hid packed(hid_t mem_type);

CellRecord to_record(const CellRow& row);
CellRow from_record(const CellRecord& record);
SampleRecord to_record(const Sample& sample);
Sample from_record(const SampleRecord& record);

}  // namespace pagequery::bench::results
