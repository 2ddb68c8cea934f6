#pragma once
// The sweep as a plan (the parse step of parse -> run -> print): the matrix, the
// axes (strategy x key format x batch size Q x concurrency C), the run's settings
// and the cells they span, all checked before anything is loaded or measured.
#include "bench/measure.hpp"
#include "bench/strategies.hpp"
#include "service/shard.hpp"

#include "pagequery/core/dpf_packed.hpp"
#include "pagequery/policies/engine.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pagequery::bench {

// The sweep's command line as given (apps/sweep.cpp binds its flags here); the
// defaults are the CLI's.
struct SweepOptions {
  std::optional<std::string> matrix_file;
  std::optional<std::string> synthetic_gib;
  std::optional<std::string> synthetic_pages;
  std::string fill = "hash";
  std::string matrix_seed = "1";
  std::string batch_sizes = "1,2,4,8,16,32";
  std::string strategies = "default";
  std::string dpf = "morphogen";
  std::string concurrency = "1";
  std::vector<std::uint64_t> update_pages{0};  // the U axis: pages changed before each batch (0: none)
  double update_zipf = 1.0;                    // the Zipf exponent of the changed pages' ranks
  std::optional<std::string> iterations;       // given: a fixed count, instead of the stopping rule
  int min_samples = 10;
  double max_noise_pct = 1;
  double min_seconds = 0.5;
  double max_seconds = 5;
  std::string warmup = "1";
  std::optional<std::string> seed;
  std::string checkpoint_seconds = "60";
  std::optional<std::string> output;
  std::optional<std::string> json;  // --json: the run as JSON too
  Accumulate accumulate = Accumulate::Auto;
  TensorKernel tensor_kernel = TensorKernel::Auto;
  int wgmma_cluster = 0;
  bool dry_run = false;
  bool cold = false;        // evict the caches before every timed path
  bool share_gpus = false;  // MPI: ranks of a node may share a GPU (service/rank_device.hpp)
};

struct Cell {
  std::size_t strategy;  // index into Plan::strategies
  int queries;
  int concurrency;
  DpfFormat dpf;
  std::uint64_t update_pages = 0;  // U: pages changed and applied as a new epoch before each batch
};

struct Plan {
  MatrixSpec spec;  // spec.accumulate: --accumulate after accumulate_for (auto may stay, for the engine)
  Accumulate accumulate_asked = Accumulate::Auto;  // --accumulate as given
  std::string matrix_text;                         // for humans
  std::uint64_t pages = 0;
  int domain_bits = 0;
  std::vector<Strategy> strategies;
  std::vector<std::string> left_out;  // lop3-only strategies that the groups lose under mma
  std::vector<DpfFormat> formats;     // the --dpf axis
  std::vector<int> batch_sizes;
  std::vector<int> concurrency;
  std::vector<std::uint64_t> update_pages;  // ascending, 0 first: the baseline cells are always there
  double update_zipf = 1.0;
  StoppingRule stop;  // stop.iterations > 0: a fixed count
  int warmup = 0;
  bool cold = false;  // --cold: every timed path starts with the caches evicted (Engine::evict_caches)
  std::uint64_t key_seed = 0;
  bool key_seed_given = false;
  double checkpoint_seconds = 60;
  std::string output;
  std::optional<std::string> json;
  bool dry_run = false;  // check and list the cells, measure nothing
  // By U, concurrency, key format, strategy, Q (U, C and Q ascending): the baseline
  // cells (U = 0) first, on the matrix as loaded; never empty.
  std::vector<Cell> cells;

  int max_concurrency() const;
};

// The plan of `options`, or InputError (one line naming the flag) for anything a
// run would refuse that the command line alone tells. The key seed is random
// unless --seed gives it; the output is pagequery-sweep-<UTC>.h5 unless given.
// A plan without cells is refused.
Plan make_plan(const SweepOptions& options);

// The plan as MPI ranks compare it before they measure (MpiContext::agree_on):
// one setting a line, in a fixed order, the matrix by what it is (not by the
// name of its file). The output is left out: rank 0 alone writes it, and its
// default name holds the time.
std::string canonical_text(const Plan& plan);

// "iterations 5", or the stopping rule's settings.
std::string stopping_text(const StoppingRule& rule);

// A cell's name in progress lines: the strategy, the key format when packed, and
// U when it changes pages.
std::string cell_name(const Plan& plan, const Cell& cell);
// Why the run accumulates as it does, after the mode: what --accumulate mma took
// out of the groups, or that auto chose (and which strategies made it lop3); ""
// for an explicit lop3 and an mma that lost nothing.
std::string accumulate_note(const Plan& plan);

// A plan as a dry run shows it (Printer::print_plan).
struct PlanListing {
  const Plan& plan;
  std::vector<PageRange> layout;              // the MPI ranks' shards; empty for one rank
  std::optional<std::size_t> runs_in_output;  // the runs the output holds; nullopt: a new file
};

}  // namespace pagequery::bench
