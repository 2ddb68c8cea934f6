#include "bench/results/schema.hpp"

#include "bench/results/attributes.hpp"
#include "pagequery/core/printable.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <variant>

namespace pagequery::bench::results {

namespace {

// "<prefix>_min" ... "<prefix>_noise_pct": the doubles of a Stats at `offset`.
void insert_stats(hid_t type, const std::string& prefix, std::size_t offset) {
  for (int i = 0; i < kStatFields; ++i)
    H5Tinsert(type, (prefix + "_" + kStatNames[i]).c_str(), offset + i * sizeof(double), H5T_NATIVE_DOUBLE);
}

void copy_text(char* dst, std::size_t size, const std::string& src) {
  std::memset(dst, 0, size);
  std::memcpy(dst, src.data(), std::min(src.size(), size - 1));
}

void put(double (&dst)[kStatFields], const Stats& s) {
  dst[0] = s.min, dst[1] = s.median, dst[2] = s.mean, dst[3] = s.stddev, dst[4] = s.max;
  dst[5] = s.median_ci_low, dst[6] = s.median_ci_high, dst[7] = s.noise_pct;
}

Stats get(const double (&src)[kStatFields]) {
  return Stats{src[0], src[1], src[2], src[3], src[4], src[5], src[6], src[7]};
}

// The file's format_version, or 0 when it has none (or not an integer).
std::int64_t format_version(const RunRecord& root) {
  const AttrValue* v = root.find("format_version");
  if (const auto* i = v ? std::get_if<std::int64_t>(v) : nullptr) return *i;
  if (const auto* u = v ? std::get_if<std::uint64_t>(v) : nullptr)
    return *u > static_cast<std::uint64_t>(kFormatVersion) ? kFormatVersion + 1 : static_cast<std::int64_t>(*u);
  return 0;
}

}  // namespace

Hid open_runs(hid_t file, const std::string& path, std::uint64_t file_bytes) {
  if (!has_link(file, "runs", path, "/runs"))
    fail(path, "an HDF5 file without a /runs group (not written by pagequery sweep)");
  RunRecord root;
  read_attributes(file, root, path, file_bytes);
  if (root.text("format") != kFormat)
    fail(path, "its format attribute is " + quote(root.text("format", "(none)")) + ", not '" + kFormat +
                   "' (not written by pagequery sweep)");
  if (const std::int64_t version = format_version(root); version < 1 || version > kFormatVersion)
    fail(path, "its format_version is " + printable(root.text("format_version", "(none)")) +
                   "; this pagequery reads versions 1 to " + std::to_string(kFormatVersion) +
                   " (a file of a later pagequery?)");
  Hid runs(H5Gopen2(file, "runs", H5P_DEFAULT), H5Gclose);
  if (!runs.valid()) fail(path, "/runs is not a group (damaged?)");
  return runs;
}

Hid cell_type() {
  Hid t(H5Tcreate(H5T_COMPOUND, sizeof(CellRecord)), H5Tclose);
  Hid strategy = fixed_string(kStrategyChars), mode = fixed_string(kModeChars), dpf = fixed_string(kDpfChars);
  H5Tinsert(t, "strategy", offsetof(CellRecord, strategy), strategy);
  H5Tinsert(t, "mode", offsetof(CellRecord, mode), mode);
  H5Tinsert(t, "streams", offsetof(CellRecord, streams), H5T_NATIVE_INT32);
  H5Tinsert(t, "cuda_graph", offsetof(CellRecord, cuda_graph), H5T_NATIVE_UINT8);
  H5Tinsert(t, "tile", offsetof(CellRecord, tile), H5T_NATIVE_INT32);
  H5Tinsert(t, "threshold", offsetof(CellRecord, threshold), H5T_NATIVE_INT32);
  H5Tinsert(t, "queries", offsetof(CellRecord, queries), H5T_NATIVE_UINT32);
  H5Tinsert(t, "concurrency", offsetof(CellRecord, concurrency), H5T_NATIVE_UINT32);
  H5Tinsert(t, "iterations", offsetof(CellRecord, iterations), H5T_NATIVE_UINT32);
  H5Tinsert(t, "warmup", offsetof(CellRecord, warmup), H5T_NATIVE_UINT32);
  insert_stats(t, "single_ms", offsetof(CellRecord, single_ms));
  insert_stats(t, "batch_ms", offsetof(CellRecord, batch_ms));
  H5Tinsert(t, "single_qps", offsetof(CellRecord, single_qps), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "batch_qps", offsetof(CellRecord, batch_qps), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "speedup", offsetof(CellRecord, speedup), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "single_checksum", offsetof(CellRecord, single_checksum), H5T_NATIVE_UINT64);
  H5Tinsert(t, "batch_checksum", offsetof(CellRecord, batch_checksum), H5T_NATIVE_UINT64);
  H5Tinsert(t, "checksum_match", offsetof(CellRecord, checksum_match), H5T_NATIVE_UINT8);
  H5Tinsert(t, "bandwidth_gbs", offsetof(CellRecord, bandwidth_gbs), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "single_reduce_ms", offsetof(CellRecord, single_reduce_ms), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "batch_reduce_ms", offsetof(CellRecord, batch_reduce_ms), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "dpf", offsetof(CellRecord, dpf), dpf);
  insert_stats(t, "batch_device_ms", offsetof(CellRecord, batch_device_ms));
  H5Tinsert(t, "update_pages", offsetof(CellRecord, update_pages), H5T_NATIVE_UINT64);
  insert_stats(t, "update_ms", offsetof(CellRecord, update_ms));
  H5Tinsert(t, "update_gbs", offsetof(CellRecord, update_gbs), H5T_NATIVE_DOUBLE);
  return t;
}

std::vector<std::string> cell_units() {
  const auto unit = [](const std::string& name) -> std::string {
    if (name.ends_with("_noise_pct")) return "%";
    if (name.find("_ms") != std::string::npos) return "ms";
    if (name.ends_with("_qps")) return "1/s";
    if (name.ends_with("_gbs")) return "GB/s";
    if (name == "speedup" || name == "streams" || name == "tile" || name == "threshold" || name == "queries" ||
        name == "concurrency" || name == "iterations" || name == "warmup" || name == "update_pages")
      return "1";
    return "";
  };
  Hid t = cell_type();
  std::vector<std::string> out;
  for (int i = 0; i < H5Tget_nmembers(t); ++i) {
    char* name = H5Tget_member_name(t, static_cast<unsigned>(i));
    out.push_back(unit(name ? name : ""));
    H5free_memory(name);
  }
  return out;
}

Hid sample_type() {
  Hid t(H5Tcreate(H5T_COMPOUND, sizeof(SampleRecord)), H5Tclose);
  H5Tinsert(t, "cell", offsetof(SampleRecord, cell), H5T_NATIVE_UINT32);
  H5Tinsert(t, "path", offsetof(SampleRecord, path), H5T_NATIVE_UINT8);
  H5Tinsert(t, "iteration", offsetof(SampleRecord, iteration), H5T_NATIVE_UINT32);
  H5Tinsert(t, "ms", offsetof(SampleRecord, ms), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "reduce_ms", offsetof(SampleRecord, reduce_ms), H5T_NATIVE_DOUBLE);
  return t;
}

Hid packed(hid_t mem_type) {
  Hid t(H5Tcopy(mem_type), H5Tclose);
  H5Tpack(t);
  return t;
}

CellRecord to_record(const CellRow& r) {
  CellRecord c{};
  copy_text(c.strategy, sizeof c.strategy, r.strategy);
  copy_text(c.mode, sizeof c.mode, r.mode);
  c.streams = r.streams;
  c.cuda_graph = r.cuda_graph;
  c.tile = r.tile;
  c.threshold = r.threshold;
  c.queries = r.queries;
  c.concurrency = r.concurrency;
  c.iterations = r.iterations;
  c.warmup = r.warmup;
  put(c.single_ms, r.single_ms);
  put(c.batch_ms, r.batch_ms);
  c.single_qps = r.single_qps;
  c.batch_qps = r.batch_qps;
  c.speedup = r.speedup;
  c.single_checksum = r.single_checksum;
  c.batch_checksum = r.batch_checksum;
  c.checksum_match = r.checksum_match ? 1 : 0;
  c.bandwidth_gbs = r.bandwidth_gbs;
  c.single_reduce_ms = r.single_reduce_ms;
  c.batch_reduce_ms = r.batch_reduce_ms;
  copy_text(c.dpf, sizeof c.dpf, r.dpf);
  put(c.batch_device_ms, r.batch_device_ms);
  c.update_pages = r.update_pages;
  put(c.update_ms, r.update_ms);
  c.update_gbs = r.update_gbs;
  return c;
}

CellRow from_record(const CellRecord& c) {
  CellRow r;
  r.strategy = fixed_text(c.strategy, sizeof c.strategy);
  r.mode = fixed_text(c.mode, sizeof c.mode);
  r.streams = c.streams;
  r.cuda_graph = c.cuda_graph != 0;
  r.tile = c.tile;
  r.threshold = c.threshold;
  r.queries = c.queries;
  r.concurrency = c.concurrency;
  r.iterations = c.iterations;
  r.warmup = c.warmup;
  r.single_ms = get(c.single_ms);
  r.batch_ms = get(c.batch_ms);
  r.single_qps = c.single_qps;
  r.batch_qps = c.batch_qps;
  r.speedup = c.speedup;
  r.single_checksum = c.single_checksum;
  r.batch_checksum = c.batch_checksum;
  r.checksum_match = c.checksum_match != 0;
  r.bandwidth_gbs = c.bandwidth_gbs;
  r.single_reduce_ms = c.single_reduce_ms;
  r.batch_reduce_ms = c.batch_reduce_ms;
  r.batch_device_ms = get(c.batch_device_ms);
  r.update_pages = c.update_pages;
  r.update_ms = get(c.update_ms);
  r.update_gbs = c.update_gbs;
  r.dpf = fixed_text(c.dpf, sizeof c.dpf);
  if (r.dpf.empty()) r.dpf = "morphogen";  // runs before packed keys had Morphogen's only
  return r;
}

SampleRecord to_record(const Sample& s) { return {s.cell, s.path, s.iteration, s.ms, s.reduce_ms}; }

Sample from_record(const SampleRecord& s) { return {s.cell, s.path, s.iteration, s.ms, s.reduce_ms}; }

}  // namespace pagequery::bench::results
