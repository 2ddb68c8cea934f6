#include "bench/run_metadata.hpp"

#include "bench/measure.hpp"
#include "bench/strategies.hpp"
#include "service/build_info.hpp"
#include "service/policy_text.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string_view>

extern char** environ;

namespace pagequery::bench {

using namespace service;

namespace {

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                        "@%_+=:,./-") == std::string::npos)
    return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The command line as typed (Linux: /proc/self/cmdline).
std::string command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string out;
  std::size_t start = 0;
  while (start < all.size()) {
    std::size_t end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    out += (out.empty() ? "" : " ") + shell_quote(all.substr(start, end - start));
    start = end + 1;
  }
  return out.empty() ? "pagequery sweep" : out;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// Environment variables that change how Kokkos, OpenMP or CUDA run.
std::string runtime_env() {
  std::vector<std::string> vars;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view kv(*e);
    if (kv.starts_with("OMP_") || kv.starts_with("KOKKOS_") || kv.starts_with("CUDA_VISIBLE_DEVICES=") ||
        kv.starts_with("CUDA_LAUNCH_BLOCKING=") || kv.starts_with("CUDA_DEVICE_MAX_CONNECTIONS="))
      vars.emplace_back(kv);
  }
  std::sort(vars.begin(), vars.end());
  std::string out;
  for (const std::string& v : vars) out += (out.empty() ? "" : " ") + v;
  return out;
}

void describe_progress(RunRecord& run, const Plan& plan, const std::string& started) {
  run.set("status", std::string("incomplete"));
  run.set("cells_planned", std::uint64_t(plan.cells.size()));
  run.set("cells_done", std::uint64_t(0));
  run.set("started_utc", started);
  run.set("updated_utc", started);
}

void describe_origin(RunRecord& run) {
  const service::BuildInfo& build = service::build_info();
  run.set("pagequery_version", build.version);
  run.set("git_revision", build.git_revision);
  run.set("compiler", build.compiler);
  run.set("cxx_flags", build.cxx_flags);
  run.set("build_type", build.build_type);
  run.set("kokkos_config", build.kokkos_config);
  run.set("command_line", command_line());
  run.set("host", host_name());
  if (auto v = process_env("SLURM_JOB_ID")) run.set("slurm_job_id", *v);
  if (auto v = process_env("SLURM_JOB_NODELIST")) run.set("slurm_job_nodelist", *v);
  run.set("device", Runtime::device());
  const Runtime::DeviceFacts facts = Runtime::device_facts();
  for (const auto& [name, value] : facts.texts) run.set(name, value);
  for (const auto& [name, value] : facts.numbers) run.set(name, value);
  record_device_clocks(run, facts, "");
  run.set("kokkos_version", Runtime::kokkos_version());
  run.set("kokkos_backend", Runtime::backend());
  run.set("kokkos_concurrency", std::int64_t(Runtime::concurrency()));
}

void describe_matrix(RunRecord& run, const Plan& plan, const MatrixInfo& info, const MpiContext& mpi,
                     const std::vector<PageRange>& layout) {
  run.set("matrix_source", info.source);
  run.set("accumulate", to_string(info.accumulate));  // what the engine runs, not only what was asked
  run.set("packed_kernel", info.packed_kernel);
  run.set("wgmma_cluster", std::int64_t{plan.spec.wgmma_cluster});
  run.set("matrix", plan.matrix_text);
  if (!plan.spec.file.empty()) {
    run.set("matrix_file", plan.spec.file);
  } else {
    run.set("matrix_fill", to_string(plan.spec.fill));
    run.set("matrix_seed", plan.spec.seed);
  }
  run.set("pages", info.pages);
  run.set("domain_bits", std::int64_t(info.domain_bits));
  run.set("size_bytes", info.size_bytes);
  run.set("local_first_page", info.local_first);
  run.set("local_pages", info.local_pages);
  run.set("mpi_ranks", std::int64_t(mpi.size()));
  run.set("shard_layout", shard_layout_json(layout));
  if (MpiContext::compiled()) run.set("mpi_library", MpiContext::library_version());
}

void describe_axes(RunRecord& run, const Plan& plan) {
  // 0: the stopping rule decided each cell's iterations (min_samples ... max_time).
  run.set("iterations", std::int64_t(plan.stop.iterations));
  run.set("min_samples", std::int64_t(plan.stop.min_samples));
  run.set("max_noise_pct", plan.stop.max_noise_pct);
  run.set("min_time_s", plan.stop.min_seconds);
  run.set("max_time_s", plan.stop.max_seconds);
  run.set("warmup", std::int64_t(plan.warmup));
  run.set("cold", std::int64_t{plan.cold});
  run.set("seed", plan.key_seed);
  run.set("batch_sizes", std::vector<std::int64_t>(plan.batch_sizes.begin(), plan.batch_sizes.end()));
  std::vector<std::string> names;
  nlohmann::ordered_json configs = nlohmann::ordered_json::object();
  for (const Strategy& s : plan.strategies) {
    names.push_back(s.name);
    configs[s.name] = {{"mode", to_string(s.config.mode)},
                       {"streams", s.config.streams},
                       {"cuda_graph", s.config.graph},
                       {"tile", s.config.tile},
                       {"threshold", s.config.threshold}};
  }
  run.set("strategies", names);
  std::vector<std::string> formats;
  for (DpfFormat f : plan.formats) formats.push_back(to_string(f));
  run.set("dpf", formats);
  run.set("strategy_configs", configs.dump());
  run.set("concurrency", std::vector<std::int64_t>(plan.concurrency.begin(), plan.concurrency.end()));
  run.set("update_pages", std::vector<std::int64_t>(plan.update_pages.begin(), plan.update_pages.end()));
  run.set("update_zipf", plan.update_zipf);
  run.set("single_policy", describe(single_policy()));
  run.set("checkpoint_seconds", plan.checkpoint_seconds);
}

// The MORPHOGEN_GPU_* switches (recorded, not applied: strategies fix their
// settings) and the runtime's variables.
void describe_environment(RunRecord& run) {
  std::string switches;
  for (const std::string& s : env_switches()) switches += (switches.empty() ? "" : " ") + s;
  run.set("env_switches", switches);
  for (const std::string& s : env_switches()) {
    const auto eq = s.find('=');
    run.set(s.substr(0, eq), s.substr(eq + 1));
  }
  run.set("runtime_env", runtime_env());
}

}  // namespace

void describe_run(RunRecord& run, const Plan& plan, const MatrixInfo& info, const std::string& started,
                  const MpiContext& mpi, const std::vector<PageRange>& layout) {
  describe_progress(run, plan, started);
  describe_origin(run);
  describe_matrix(run, plan, info, mpi, layout);
  describe_axes(run, plan);
  describe_environment(run);
}

void record_device_clocks(RunRecord& run, const Runtime::DeviceFacts& facts, const std::string& suffix) {
  for (const auto& [name, value] : facts.now) run.set(name + suffix, value);
}

}  // namespace pagequery::bench
