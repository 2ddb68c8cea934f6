#include "bench/json_printer.hpp"

#include "bench/verdict.hpp"
#include "service/errors.hpp"
#include "pagequery/core/printable.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace pagequery::bench {

using namespace service;

namespace {

using Json = nlohmann::ordered_json;

Json attribute_json(const AttrValue& value) {
  return std::visit([](const auto& v) { return Json(v); }, value);
}

// "fused/dpf:morphogen/Q:1/C:1" (".../C:1/U:1000" with live updates): a cell as
// benchmark names go.
std::string run_name(const CellRow& r) {
  return r.strategy + "/dpf:" + r.dpf + "/Q:" + std::to_string(r.queries) + "/C:" + std::to_string(r.concurrency) +
         (r.update_pages ? "/U:" + std::to_string(r.update_pages) : "");
}

// The items of one timed path: C x Q queries; the pages of an update set.
double items(const CellRow& r, const std::string& path) {
  return path == "update_apply" ? double(r.update_pages) : double(r.queries) * r.concurrency;
}

Json benchmark(const CellRow& r, const std::string& path, const Stats& s) {
  const double n = items(r, path);
  return Json{{"name", run_name(r) + "/" + path},
              {"run_name", run_name(r)},
              {"run_type", "aggregate"},
              {"aggregate_name", "median"},
              {"strategy", r.strategy},
              {"dpf", r.dpf},
              {"queries", r.queries},
              {"concurrency", r.concurrency},
              {"update_pages", r.update_pages},
              {"path", path},
              {"iterations", r.iterations},
              {"real_time", s.median},
              {"time_unit", "ms"},
              {"real_time_ci_low", s.median_ci_low},
              {"real_time_ci_high", s.median_ci_high},
              {"noise_pct", s.noise_pct},
              {"min", s.min},
              {"max", s.max},
              {"mean", s.mean},
              {"stddev", s.stddev},
              {"items_per_second", s.median > 0 ? n / (s.median / 1e3) : 0.0},
              {"checksum_match", r.checksum_match}};
}

Json verdict_json(const Verdict& v) {
  return Json{{"concurrency", v.concurrency},
              {"queries", v.queries},
              {"dpf", v.dpf},
              {"fastest", v.winner->strategy},
              {"runner_up", v.runner_up ? Json(v.runner_up->strategy) : Json(nullptr)},
              {"lead_pct", v.lead * 100},
              {"verdict", !v.runner_up    ? "only one"
                          : v.significant ? "wins"
                                          : "tie"},
              {"vs_multi_stream_4", v.vs_multi_stream_4 ? Json(*v.vs_multi_stream_4) : Json(nullptr)},
              {"vs_single", v.vs_single}};
}

Json change_json(const CellChange& c) {
  return Json{{"name", run_name(*c.a) + "/batch"},
              {"strategy", c.a->strategy},
              {"dpf", c.a->dpf},
              {"queries", c.a->queries},
              {"concurrency", c.a->concurrency},
              {"update_pages", c.a->update_pages},
              {"time_unit", "ms"},
              {"a_real_time", c.a->batch_ms.median},
              {"b_real_time", c.b->batch_ms.median},
              {"ratio", c.ratio},
              {"ratio_low", c.low},
              {"ratio_high", c.high},
              {"significant", c.significant},
              {"change", !c.significant ? "same"
                         : c.ratio > 1  ? "slower"
                                        : "faster"}};
}

}  // namespace

Json run_json(const RunRecord& run, const std::string& file) {
  Json context{{"executable", "pagequery"},
               {"file", file},
               {"run_id", run.id},
               {"date", run.text("started_utc")},
               {"host_name", run.text("host")}};
  Json attributes = Json::object();
  for (const Attribute& a : run.attributes) attributes[a.name] = attribute_json(a.value);
  context["attributes"] = std::move(attributes);
  Json benchmarks = Json::array();
  for (const CellRow& r : run.cells) {
    benchmarks.push_back(benchmark(r, "single", r.single_ms));
    benchmarks.push_back(benchmark(r, "batch", r.batch_ms));
    benchmarks.push_back(benchmark(r, "batch_device", r.batch_device_ms));
    if (r.update_pages) benchmarks.push_back(benchmark(r, "update_apply", r.update_ms));
  }
  Json verdicts_out = Json::array();
  for (const Verdict& v : verdicts(run)) verdicts_out.push_back(verdict_json(v));
  return Json{{"schema", kRunSchema},
              {"context", std::move(context)},
              {"benchmarks", std::move(benchmarks)},
              {"verdicts", std::move(verdicts_out)}};
}

Json comparison_json(const Comparison& comparison, const std::string& a, const std::string& b,
                     std::optional<double> fail_above) {
  Json changes = Json::array();
  for (const CellChange& c : comparison.changes) changes.push_back(change_json(c));
  return Json{{"schema", kCompareSchema},
              {"a", a},
              {"b", b},
              {"changes", std::move(changes)},
              {"only_a", comparison.only_a},
              {"only_b", comparison.only_b},
              {"fail_above_pct", fail_above ? Json(*fail_above) : Json(nullptr)},
              {"regressions", fail_above ? regressions(comparison, *fail_above).size() : 0}};
}

void write_json(const std::string& path, const Json& json) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out << json.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  out.flush();
  if (!out) throw InputError("--json " + printable(path) + ": cannot write: " + std::strerror(errno));
}

}  // namespace pagequery::bench
