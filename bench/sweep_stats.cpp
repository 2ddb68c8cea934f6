#include "bench/sweep_stats.hpp"

#include "core/printable.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

namespace pagequery::bench {

Stats summarize(std::span<const double> samples) {
  Stats s;
  if (samples.empty()) return s;
  std::vector<double> sorted(samples.begin(), samples.end());
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  s.min = sorted.front();
  s.max = sorted.back();
  s.median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  double sum = 0;
  for (double v : sorted) sum += v;
  s.mean = sum / static_cast<double>(n);
  if (n > 1) {
    double sq = 0;
    for (double v : sorted) sq += (v - s.mean) * (v - s.mean);
    s.stddev = std::sqrt(sq / static_cast<double>(n - 1));
  }
  return s;
}

void finish_row(CellRow& row, std::uint64_t local_matrix_bytes) {
  const double queries = static_cast<double>(row.queries) * static_cast<double>(row.concurrency);
  const double single_s = row.single_ms.mean / 1e3;
  const double batch_s = row.batch_ms.mean / 1e3;
  row.single_qps = single_s > 0 ? queries / single_s : 0;
  row.batch_qps = batch_s > 0 ? queries / batch_s : 0;
  row.speedup = batch_s > 0 ? single_s / batch_s : 0;
  row.bandwidth_gbs =
      single_s > 0 ? static_cast<double>(local_matrix_bytes) * queries / single_s / 1e9 : 0;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<std::string> split_list(std::string_view text, std::string_view flag) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item =
        trim(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (item.empty())
      throw std::invalid_argument(std::string(flag) + ": empty item in '" + std::string(text) + "'");
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::vector<int> parse_int_list(std::string_view text, std::string_view flag, int lo, int hi) {
  std::vector<int> out;
  for (const std::string& item : split_list(text, flag)) {
    int value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (ec != std::errc() || end != item.data() + item.size() || value < lo || value > hi)
      throw std::invalid_argument(std::string(flag) + ": each value must be an integer in " +
                                  std::to_string(lo) + ".." + std::to_string(hi) + ", got '" +
                                  item + "'");
    if (std::find(out.begin(), out.end(), value) != out.end())
      throw std::invalid_argument(std::string(flag) + ": " + item + " is listed twice");
    out.push_back(value);
  }
  return out;
}

std::string number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return ec == std::errc() ? std::string(buf, end) : std::string("nan");
}

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string human_bytes(std::uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (bytes >= (1ull << 30)) return fixed(b / double(1ull << 30), 2) + " GiB";
  if (bytes >= (1ull << 20)) return fixed(b / double(1ull << 20), 2) + " MiB";
  if (bytes >= (1ull << 10)) return fixed(b / double(1ull << 10), 2) + " KiB";
  return std::to_string(bytes) + " B";
}

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (const char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string markdown_text(std::string_view text) {
  std::string out;
  for (const char c : printable(text)) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string hex64(std::uint64_t value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(value));
  return buf;
}

namespace {

struct Table {
  std::string title;
  std::function<std::string(const CellRow&)> cell;
};

// Per concurrency, per table: rows Q, columns strategies and key formats (in
// order of first appearance).
template <std::size_t N>
std::string grid_tables(const std::vector<CellRow>& rows, const Table (&tables)[N]) {
  std::vector<std::string> strategies;
  std::set<std::uint32_t> concurrencies, batch_sizes;
  std::map<std::tuple<std::uint32_t, std::string, std::uint32_t>, const CellRow*> by_key;
  for (const CellRow& r : rows) {
    const std::string column = column_label(r.strategy, r.dpf);
    if (std::find(strategies.begin(), strategies.end(), column) == strategies.end())
      strategies.push_back(column);
    concurrencies.insert(r.concurrency);
    batch_sizes.insert(r.queries);
    by_key[{r.concurrency, column, r.queries}] = &r;
  }
  std::string out;
  if (rows.empty()) return out;
  const bool label_concurrency = concurrencies.size() > 1 || *concurrencies.begin() != 1;
  for (std::uint32_t c : concurrencies) {
    for (const Table& t : tables) {
      out += "### ";
      out += t.title;
      if (label_concurrency) out += ", concurrency " + std::to_string(c);
      out += "\n\n| Q |";
      for (const std::string& s : strategies) out += " " + markdown_text(s) + " |";
      out += "\n|---|";
      for (std::size_t i = 0; i < strategies.size(); ++i) out += "---:|";
      out += "\n";
      for (std::uint32_t q : batch_sizes) {
        out += "| " + std::to_string(q) + " |";
        for (const std::string& s : strategies) {
          const auto it = by_key.find({c, s, q});
          out += " " + (it == by_key.end() ? std::string("-") : t.cell(*it->second)) + " |";
        }
        out += "\n";
      }
      out += "\n";
    }
  }
  return out;
}

}  // namespace

std::string column_label(const std::string& strategy, const std::string& dpf) {
  return dpf == "morphogen" ? strategy : strategy + " (" + dpf + ")";
}

std::string read_floor_tables(const std::vector<CellRow>& rows, std::optional<double> read_floor_ms) {
  if (!read_floor_ms) {
    const Table tables[] = {{"Read-floor multiple (n/a: the run has no `read_floor_ms`)",
                             [](const CellRow&) { return std::string("n/a"); }}};
    return grid_tables(rows, tables);
  }
  const double floor = *read_floor_ms;
  const Table tables[] = {{"Read-floor multiple (`batch_ms_per_batch / read_floor_ms`, floor " +
                               fixed(floor, 3) + " ms)",
                           [floor](const CellRow& r) { return fixed(r.batch_ms.mean / floor, 2) + "x"; }}};
  return grid_tables(rows, tables);
}

std::string reduction_tables(const std::vector<CellRow>& rows) {
  const Table tables[] = {
      {"MPI reduction per batch, ms (`batch_reduce_ms`; part of `batch_ms_per_batch`)",
       [](const CellRow& r) { return fixed(r.batch_reduce_ms, 3); }},
      {"MPI reduction per query in the single loop, ms (`single_reduce_ms` / Q)",
       [](const CellRow& r) { return fixed(r.queries ? r.single_reduce_ms / r.queries : 0.0, 3); }},
  };
  return grid_tables(rows, tables);
}

std::string markdown_tables(const std::vector<CellRow>& rows) {
  if (rows.empty()) return "No cells were measured.\n";

  const Table tables[] = {
      {"Batch-vs-single speedup (`batch_vs_single_speedup`)",
       [](const CellRow& r) { return fixed(r.speedup, 2) + "x"; }},
      {"Batch latency (`batch_ms_per_batch`)",
       [](const CellRow& r) { return fixed(r.batch_ms.mean, 2); }},
      {"Batch throughput (`batch_qps`)", [](const CellRow& r) { return fixed(r.batch_qps, 2); }},
  };

  std::string out = grid_tables(rows, tables);

  out += "### Correctness parity\n\n";
  std::vector<const CellRow*> mismatched;
  for (const CellRow& r : rows)
    if (!r.checksum_match) mismatched.push_back(&r);
  if (mismatched.empty()) {
    out += "- `checksum_match=1` for all " + std::to_string(rows.size()) + " rows.\n";
  } else {
    out += "- `checksum_match=0` for " + std::to_string(mismatched.size()) + " of " +
           std::to_string(rows.size()) + " rows:";
    for (const CellRow* r : mismatched)
      out += " " + markdown_text(r->strategy) + " Q=" + std::to_string(r->queries) +
             " C=" + std::to_string(r->concurrency) + ";";
    out.back() = '\n';
  }
  return out;
}

std::string csv_rows(const std::vector<CellRow>& rows, std::string_view run, std::string_view accumulate,
                     std::optional<double> read_floor_ms) {
  std::string out =
      "run,accumulate,read_floor_ms,strategy,dpf,mode,streams,cuda_graph,tile,threshold,queries,concurrency,iterations,warmup,"
      "single_ms_min,single_ms_median,single_ms_mean,single_ms_stddev,single_ms_max,"
      "batch_ms_min,batch_ms_median,batch_ms_mean,batch_ms_stddev,batch_ms_max,"
      "single_qps,batch_qps,speedup,single_checksum,batch_checksum,checksum_match,bandwidth_gbs,"
      "single_reduce_ms,batch_reduce_ms\n";
  const auto stats = [](const Stats& s) {
    return number(s.min) + "," + number(s.median) + "," + number(s.mean) + "," + number(s.stddev) +
           "," + number(s.max);
  };
  for (const CellRow& r : rows) {
    out += csv_field(run) + "," + csv_field(accumulate) + "," +
           (read_floor_ms ? number(*read_floor_ms) : std::string()) + "," + csv_field(r.strategy) + "," +
           csv_field(r.dpf) + "," + csv_field(r.mode) + "," +
           std::to_string(r.streams) + "," + (r.cuda_graph ? "1" : "0") + "," + std::to_string(r.tile) + "," +
           std::to_string(r.threshold) + "," + std::to_string(r.queries) + "," +
           std::to_string(r.concurrency) + "," + std::to_string(r.iterations) + "," +
           std::to_string(r.warmup) + "," + stats(r.single_ms) + "," + stats(r.batch_ms) + "," +
           number(r.single_qps) + "," + number(r.batch_qps) + "," + number(r.speedup) + "," +
           hex64(r.single_checksum) + "," + hex64(r.batch_checksum) + "," +
           (r.checksum_match ? "1" : "0") + "," + number(r.bandwidth_gbs) + "," +
           number(r.single_reduce_ms) + "," + number(r.batch_reduce_ms) + "\n";
  }
  return out;
}

}  // namespace pagequery::bench
