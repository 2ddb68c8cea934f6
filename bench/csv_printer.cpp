#include "bench/csv_printer.hpp"

#include "service/text.hpp"
#include "pagequery/core/printable.hpp"

#include <cstdio>

namespace pagequery::bench {

using namespace service;

namespace {

constexpr const char* kHeader =
    "run,accumulate,read_floor_ms,strategy,dpf,mode,streams,cuda_graph,tile,threshold,queries,concurrency,"
    "iterations,warmup,"
    "single_ms_min,single_ms_median,single_ms_mean,single_ms_stddev,single_ms_max,"
    "batch_ms_min,batch_ms_median,batch_ms_mean,batch_ms_stddev,batch_ms_max,"
    "single_qps,batch_qps,speedup,single_checksum,batch_checksum,checksum_match,bandwidth_gbs,"
    "single_reduce_ms,batch_reduce_ms,"
    "single_ms_median_ci_low,single_ms_median_ci_high,single_ms_noise_pct,"
    "batch_ms_median_ci_low,batch_ms_median_ci_high,batch_ms_noise_pct,"
    "batch_device_ms_min,batch_device_ms_median,batch_device_ms_mean,batch_device_ms_stddev,batch_device_ms_max,"
    "batch_device_ms_median_ci_low,batch_device_ms_median_ci_high,batch_device_ms_noise_pct,"
    "update_pages,update_ms_min,update_ms_median,update_ms_mean,update_ms_stddev,update_ms_max,"
    "update_ms_median_ci_low,update_ms_median_ci_high,update_ms_noise_pct,update_gbs\n";

// "0x0123456789abcdef"
std::string hex64(std::uint64_t value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(value));
  return buf;
}

std::string stats_fields(const Stats& s) {
  return number(s.min) + "," + number(s.median) + "," + number(s.mean) + "," + number(s.stddev) + "," + number(s.max);
}

// The median's interval and noise (the columns added after the seed's, at the end).
std::string interval_fields(const Stats& s) {
  return number(s.median_ci_low) + "," + number(s.median_ci_high) + "," + number(s.noise_pct);
}

// The row's own columns, from strategy on.
std::string row_fields(const CellRow& r) {
  return csv_field(r.strategy) + "," + csv_field(r.dpf) + "," + csv_field(r.mode) + "," + std::to_string(r.streams) +
         "," + (r.cuda_graph ? "1" : "0") + "," + std::to_string(r.tile) + "," + std::to_string(r.threshold) + "," +
         std::to_string(r.queries) + "," + std::to_string(r.concurrency) + "," + std::to_string(r.iterations) + "," +
         std::to_string(r.warmup) + "," + stats_fields(r.single_ms) + "," + stats_fields(r.batch_ms) + "," +
         number(r.single_qps) + "," + number(r.batch_qps) + "," + number(r.speedup) + "," + hex64(r.single_checksum) +
         "," + hex64(r.batch_checksum) + "," + (r.checksum_match ? "1" : "0") + "," + number(r.bandwidth_gbs) + "," +
         number(r.single_reduce_ms) + "," + number(r.batch_reduce_ms) + "," + interval_fields(r.single_ms) + "," +
         interval_fields(r.batch_ms) + "," + stats_fields(r.batch_device_ms) + "," +
         interval_fields(r.batch_device_ms) + "," + std::to_string(r.update_pages) + "," + stats_fields(r.update_ms) +
         "," + interval_fields(r.update_ms) + "," + number(r.update_gbs);
}

}  // namespace

void CsvPrinter::do_print_run(const RunRecord& run) {
  stream() << csv_rows(run.cells, run.id, accumulate_of(run), read_floor_of(run));
}

std::string csv_rows(const std::vector<CellRow>& rows, std::string_view run, std::string_view accumulate,
                     std::optional<double> read_floor_ms) {
  const std::string run_fields = csv_field(run) + "," + csv_field(accumulate) + "," +
                                 (read_floor_ms ? number(*read_floor_ms) : std::string()) + ",";
  std::string out = kHeader;
  for (const CellRow& r : rows) out += run_fields + row_fields(r) + "\n";
  return out;
}

std::string csv_field(std::string_view raw) {
  const std::string text = printable(raw);  // no line break, escape or invalid UTF-8 reaches the CSV
  if (text.find_first_of(",\"") == std::string::npos) return text;
  std::string out = "\"";
  for (const char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace pagequery::bench
