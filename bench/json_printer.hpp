#pragma once
// The machine-readable format (`--json FILE` of sweep, report and compare; the
// schema is docs/json-schema.json, described in docs/json-schema.md). Field names
// follow Google Benchmark's JSON where they map: context, benchmarks, name,
// run_name, run_type, aggregate_name, iterations, real_time, time_unit,
// items_per_second.
#include "bench/compare.hpp"
#include "bench/results/record.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace pagequery::bench {

inline constexpr const char* kRunSchema = "pagequery-run-v1";
inline constexpr const char* kCompareSchema = "pagequery-compare-v1";

// One run: its attributes (context), three benchmarks per cell (single, batch,
// batch_device: the median and its interval), and the verdicts.
nlohmann::ordered_json run_json(const RunRecord& run, const std::string& file);

// Two runs' comparison; `fail_above`: --fail-above, when given.
nlohmann::ordered_json comparison_json(const Comparison& comparison, const std::string& a, const std::string& b,
                                       std::optional<double> fail_above);

// Writes `json` to `path` (2-space indent; invalid UTF-8 from a file replaced);
// InputError naming the path when it cannot be written.
void write_json(const std::string& path, const nlohmann::ordered_json& json);

}  // namespace pagequery::bench
