#include "bench/plan.hpp"

#include "bench/stats.hpp"
#include "service/errors.hpp"
#include "service/key_list.hpp"
#include "service/policy_text.hpp"
#include "service/text.hpp"

#include "pagequery/core/bits128.hpp"
#include "pagequery/core/matrix_shape.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <random>

namespace pagequery::bench {

using namespace service;

namespace {

constexpr std::uint64_t kDefaultSyntheticPages = 4096;  // 16 MiB: runs anywhere in seconds
constexpr int kMaxConcurrency = 64;

// --synthetic-pages, --synthetic-gib or the default.
std::uint64_t synthetic_pages(const SweepOptions& o) {
  if (o.synthetic_pages) return as_input("", [&] { return parse_u64(*o.synthetic_pages, "--synthetic-pages"); });
  if (!o.synthetic_gib) return kDefaultSyntheticPages;
  const std::optional<double> gibs = parse_finite(*o.synthetic_gib);
  if (!gibs || *gibs <= 0 || *gibs > 16384)
    throw InputError("--synthetic-gib must be a number of GiB in (0, 16384], got '" + *o.synthetic_gib + "'");
  return static_cast<std::uint64_t>(std::ceil(*gibs * (double(1ull << 30) / kPageBytes)));
}

void plan_matrix(const SweepOptions& o, Plan& plan) {
  if (o.matrix_file) {
    plan.spec.file = *o.matrix_file;
    plan.pages = as_input("--matrix-file: ", [&] { return page_count_of_file(*o.matrix_file); });
    plan.matrix_text = "file " + *o.matrix_file;
  } else {
    if (o.fill == "hash")
      plan.spec.fill = SyntheticFill::Hash;
    else if (o.fill == "morphogen")
      plan.spec.fill = SyntheticFill::Morphogen;
    else
      throw InputError("--fill must be hash or morphogen, got '" + o.fill + "'");
    plan.spec.seed = as_input("", [&] { return parse_u64(o.matrix_seed, "--matrix-seed"); });
    plan.pages = synthetic_pages(o);
    if (plan.pages == 0) throw InputError("--synthetic-pages must be at least 1");
    plan.spec.synthetic_pages = plan.pages;
    plan.matrix_text = std::string("synthetic (fill ") + o.fill + ", seed " + std::to_string(plan.spec.seed) + ")";
  }
  plan.domain_bits = as_input("matrix: ", [&] { return domain_bits_for(plan.pages); });
}

// "morphogen,packed" -> the formats in order.
std::vector<DpfFormat> parse_dpf_axis(const std::string& text) {
  std::vector<DpfFormat> out;
  for (const std::string& name : as_input("", [&] { return split_list(text, "--dpf"); })) {
    const DpfFormat format = as_input("", [&] { return parse_dpf_format(name, "--dpf"); });
    if (std::find(out.begin(), out.end(), format) != out.end()) throw InputError("--dpf: " + name + " is listed twice");
    out.push_back(format);
  }
  return out;
}

// The largest batch any of the formats allows (--batch-sizes' bound).
int largest_batch(const std::vector<DpfFormat>& formats) {
  int most = 0;
  for (DpfFormat f : formats) most = std::max(most, max_batch_queries(f));
  return most;
}

void plan_axes(const SweepOptions& o, Plan& plan) {
  plan.accumulate_asked = o.accumulate;
  plan.strategies = resolve_strategies(o.strategies, o.accumulate, plan.left_out);
  std::vector<PolicyConfig> configs;
  for (const Strategy& s : plan.strategies) configs.push_back(s.config);
  plan.spec.accumulate = accumulate_for(o.accumulate, configs);
  plan.spec.tensor_kernel = o.tensor_kernel;
  plan.spec.wgmma_cluster = o.wgmma_cluster;
  plan.formats = parse_dpf_axis(o.dpf);
  plan.batch_sizes =
      as_input("", [&] { return parse_int_list(o.batch_sizes, "--batch-sizes", 1, largest_batch(plan.formats)); });
  plan.concurrency = as_input("", [&] { return parse_int_list(o.concurrency, "--concurrency", 1, kMaxConcurrency); });
}

// The U axis, ascending with 0 (the baseline) added; the CLI refused what is not a count.
std::vector<std::uint64_t> update_axis(const std::vector<std::uint64_t>& given, std::uint64_t pages) {
  std::vector<std::uint64_t> out{0};
  for (std::uint64_t u : given) {
    if (u > pages)
      throw InputError("--update-pages " + std::to_string(u) + " exceeds the matrix's " + std::to_string(pages) +
                       " pages");
    if (u == 0) continue;
    if (std::find(out.begin(), out.end(), u) != out.end())
      throw InputError("--update-pages: " + std::to_string(u) + " is listed twice");
    out.push_back(u);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The ranges themselves are the CLI's validators; what they cannot see is here.
StoppingRule stopping_rule(const SweepOptions& o) {
  StoppingRule rule{0, o.min_samples, o.max_noise_pct, o.min_seconds, o.max_seconds};
  if (o.iterations) rule.iterations = parse_int_in(*o.iterations, 1, 1000000, "--iterations");
  if (rule.min_seconds > rule.max_seconds)
    throw InputError("--min-time (" + number(rule.min_seconds) + " s) must not exceed --max-time (" +
                     number(rule.max_seconds) + " s)");
  return rule;
}

void plan_run(const SweepOptions& o, Plan& plan) {
  plan.stop = stopping_rule(o);
  plan.warmup = parse_int_in(o.warmup, 0, 1000000, "--warmup");
  plan.cold = o.cold;
  if (o.seed) {
    plan.key_seed = as_input("", [&] { return parse_u64(*o.seed, "--seed"); });
    plan.key_seed_given = true;
  } else {
    std::random_device rd;
    plan.key_seed = (std::uint64_t{rd()} << 32) ^ rd();
  }
  const std::optional<double> seconds = parse_finite(o.checkpoint_seconds);
  if (!seconds || *seconds < 0)
    throw InputError("--checkpoint-interval must be a number of seconds >= 0, got '" + o.checkpoint_seconds + "'");
  plan.checkpoint_seconds = *seconds;
  plan.output = o.output ? *o.output : "pagequery-sweep-" + utc_stamp(std::time(nullptr), true) + ".h5";
  if (plan.output.empty()) throw InputError("--output must not be empty");
  if (o.json && o.json->empty()) throw InputError("--json must not be empty");
  plan.json = o.json;
}

// Morphogen's batches stop at 32 queries: larger Q are packed cells only. The
// update cells come after every baseline cell: those scan the matrix as loaded,
// so their checksums agree across strategies as in a run without updates.
// kokkos_kernels_gemm takes Morphogen keys only.
std::vector<Cell> plan_cells(const Plan& plan) {
  std::vector<int> concurrency = plan.concurrency;
  std::sort(concurrency.begin(), concurrency.end());
  std::vector<int> batch_sizes = plan.batch_sizes;
  std::sort(batch_sizes.begin(), batch_sizes.end());
  std::vector<Cell> cells;
  for (std::uint64_t u : plan.update_pages)
    for (int c : concurrency)
      for (DpfFormat f : plan.formats)
        for (std::size_t s = 0; s < plan.strategies.size(); ++s)
          for (int q : batch_sizes)
            if (q <= max_batch_queries(f) &&
                !(f == DpfFormat::Packed && plan.strategies[s].config.mode == BatchMode::Gemm))
              cells.push_back({s, q, c, f, u});
  return cells;
}

// "1,2,4"
template <class T, class F>
std::string joined(const std::vector<T>& items, F&& text) {
  std::string out;
  for (const T& item : items) out += (out.empty() ? "" : ",") + text(item);
  return out;
}

}  // namespace

int Plan::max_concurrency() const { return *std::max_element(concurrency.begin(), concurrency.end()); }

Plan make_plan(const SweepOptions& options) {
  Plan plan;
  plan_matrix(options, plan);
  plan_axes(options, plan);
  plan_run(options, plan);
  plan.update_pages = update_axis(options.update_pages, plan.pages);
  plan.update_zipf = options.update_zipf;
  plan.dry_run = options.dry_run;
  plan.cells = plan_cells(plan);
  if (plan.cells.empty())
    throw InputError(
        "--strategies, --dpf and --batch-sizes leave no cell to measure (kokkos_kernels_gemm takes "
        "Morphogen keys only, Morphogen keys at most " +
        std::to_string(kMaxBatchQueries) + " queries)");
  return plan;
}

std::string canonical_text(const Plan& plan) {
  const auto integer = [](int n) { return std::to_string(n); };
  std::string text = plan.spec.file.empty() ? "matrix synthetic " + std::to_string(plan.pages) + " pages, fill " +
                                                  to_string(plan.spec.fill) + ", seed " + std::to_string(plan.spec.seed)
                                            : "matrix file of " + std::to_string(plan.pages) + " pages";
  text += "\nstrategies " +
          joined(plan.strategies, [](const Strategy& s) { return s.name + " (" + describe(s.config) + ")"; });
  text += "\naccumulate " + to_string(plan.accumulate_asked) + " -> " + to_string(plan.spec.accumulate);
  text +=
      "\ntensor kernel " + to_string(plan.spec.tensor_kernel) + ", cluster " + std::to_string(plan.spec.wgmma_cluster);
  text += "\ndpf " + joined(plan.formats, [](DpfFormat f) { return to_string(f); });
  text += "\nbatch sizes " + joined(plan.batch_sizes, integer);
  text += "\nconcurrency " + joined(plan.concurrency, integer);
  text += "\nupdate pages " + joined(plan.update_pages, [](std::uint64_t u) { return std::to_string(u); }) + ", zipf " +
          number(plan.update_zipf);
  text += "\n" + stopping_text(plan.stop) + "\nwarmup " + integer(plan.warmup) + (plan.cold ? ", cold" : "");
  text += "\nseed " + (plan.key_seed_given ? std::to_string(plan.key_seed) : std::string("random (rank 0's)"));
  text += "\ncheckpoint interval " + number(plan.checkpoint_seconds);
  return text + "\ndry run " + (plan.dry_run ? "yes" : "no");
}

std::string stopping_text(const StoppingRule& rule) {
  if (rule.iterations > 0) return "iterations " + std::to_string(rule.iterations);
  return "min samples " + std::to_string(rule.min_samples) + ", max noise " + number(rule.max_noise_pct) +
         " %, min time " + number(rule.min_seconds) + " s, max time " + number(rule.max_seconds) + " s";
}

std::string cell_name(const Plan& plan, const Cell& cell) {
  const std::string name = column_label(plan.strategies[cell.strategy].name, to_string(cell.dpf));
  return cell.update_pages ? name + " U=" + std::to_string(cell.update_pages) : name;
}

std::string accumulate_note(const Plan& plan) {
  const auto names = [](const std::vector<std::string>& list) {
    std::string out;
    for (const std::string& name : list) out += (out.empty() ? "" : ",") + name;
    return out;
  };
  if (plan.accumulate_asked == Accumulate::Mma)
    return plan.left_out.empty() ? ""
                                 : " (" + names(plan.left_out) + " left out: they run only with --accumulate lop3)";
  if (plan.accumulate_asked == Accumulate::Lop3) return "";
  std::vector<std::string> lop3_needed;  // what made auto lop3 (accumulate_for)
  for (const Strategy& s : plan.strategies)
    if (lop3_only(s.config)) lop3_needed.push_back(s.name);
  if (lop3_needed.empty()) return " (auto)";
  return " (auto: " + names(lop3_needed) + (lop3_needed.size() == 1 ? " runs" : " run") + " only with lop3)";
}

}  // namespace pagequery::bench
