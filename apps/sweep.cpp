// pagequery sweep: the seed's batching benchmark as a matrix of cells
// (strategy x batch size Q x concurrency C). The flags become bench::SweepOptions
// and bench::run_sweep (bench/sweep.hpp) plans, measures, stores and prints.
#include "apps/accumulate_flag.hpp"
#include "apps/commands.hpp"
#include "apps/crash_guard.hpp"
#include "apps/io_limits.hpp"
#include "apps/share_gpus_flag.hpp"
#include "bench/sweep.hpp"

#include <algorithm>
#include <cctype>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

namespace pagequery::apps {

namespace {

constexpr const char* kFooter =
    "Per cell: single = Q queries one by one (3 keys each, latency policy); batch = one call with\n"
    "3Q keys (the strategy). With concurrency C, C threads run the same shape at once and an\n"
    "iteration lasts from the common start to the last finish: QPS = C*Q / mean ms,\n"
    "speedup = single mean / batch mean. Checksums: XXH3-64 of the answer bytes.\n"
    "Each cell runs until the stopping rule is met (--min-samples, --max-noise, --min-time,\n"
    "--max-time), or exactly --iterations. Every time has its median with a 95 % interval (order\n"
    "statistics); the batch also has its device time (the launches, fence to fence). The verdict\n"
    "table ranks the strategies per Q by batch / single-loop time of the same iteration and names\n"
    "the fastest, or a tie when the runner-up's 95 % interval overlaps its own.\n"
    "Before the cells, the run times its read floor: a plain streaming read of the same matrix on\n"
    "the same device (an XOR over every word, the fastest of 5 or more; attribute read_floor_ms); `report`\n"
    "prints every cell's batch time as a multiple of it.\n"
    "Live updates (--update-pages U, U > 0): the baseline cells run first, then every cell again with\n"
    "U fresh Zipf-distributed pages staged and applied as a new epoch before each batch (the batch\n"
    "first, then the single loop on the same epoch, whose bytes the batch must match); the apply\n"
    "time and U*4096 bytes over it (GB/s) go beside the batch time in the `Live updates` table.\n"
    "Progress goes to stderr, the markdown summary to stdout, the data to the HDF5 file\n"
    "(layout: data/README.md). SIGINT/SIGTERM stop after the current iteration and write the\n"
    "partial run, the finished iterations of the current cell included. Everything a run refuses\n"
    "(flags, MORPHOGEN_GPU_*, KOKKOS_* and OMP_* variables, --concurrency above the OpenMP threads,\n"
    "an unusable --output) is refused before the first measurement, and by --dry-run too.\n"
    "Exit codes: 0 ok, 1 checksum mismatch or interrupted (all measured data written) or a failure of\n"
    "the device, memory or pagequery itself, 2 refused input or a failed write to stdout.\n"
    "MPI (a PAGEQUERY_ENABLE_MPI build under mpirun/srun): all ranks run the cells in lockstep, each\n"
    "over its shard of the matrix; every answer is XOR-reduced into rank 0, which checks, prints and\n"
    "writes (mpi_ranks, shard_layout). Times include the reduction, also reported alone\n"
    "(single_reduce_ms, batch_reduce_ms).\n";

// A flag whose text goes into `target` as given (checked by make_plan); its default shows in --help.
CLI::Option* text_flag(CLI::App* cmd, const char* name, std::string& target, const char* help) {
  return cmd->add_option(name, target, help)->capture_default_str();
}

// A flag without a default: `target` stays empty unless it is given.
CLI::Option* optional_flag(CLI::App* cmd, const char* name, std::optional<std::string>& target, const char* help) {
  return cmd->add_option_function<std::string>(
      name, [&target](const std::string& v) { target = v; }, help);
}

void add_matrix_flags(CLI::App* cmd, bench::SweepOptions& o) {
  auto* file =
      optional_flag(cmd, "--matrix-file", o.matrix_file, "raw matrix file (pages of 4096 bytes)")->type_name("PATH");
  auto* gib = optional_flag(cmd, "--synthetic-gib", o.synthetic_gib,
                            "synthetic matrix of ceil(GIB * 2^30 / 4096) pages (64.2: mainnet volume)")
                  ->type_name("GIB");
  auto* pages =
      optional_flag(cmd, "--synthetic-pages", o.synthetic_pages, "synthetic matrix of N pages (default 4096 = 16 MiB)")
          ->type_name("N");
  file->excludes(gib)->excludes(pages);
  gib->excludes(pages);
  text_flag(cmd, "--fill", o.fill, "synthetic fill: hash | morphogen (page i = byte i & 0xFF)")
      ->type_name("KIND")
      ->excludes(file);
  text_flag(cmd, "--matrix-seed", o.matrix_seed, "seed of the hash fill")->type_name("N")->excludes(file);
}

// A whole number of pages, as digits: CLI11 alone reads "-1" as 2^64 - 1 and
// "010" as octal, so the digits are checked and their leading zeros dropped.
const CLI::Validator kPageCount(
    [](std::string& v) {
      if (v.empty() || !std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); }))
        return "each value must be a whole number of pages, got '" + v + "'";
      v.erase(0, std::min(v.find_first_not_of('0'), v.size() - 1));
      return std::string();
    },
    "COUNT");

void add_axis_flags(CLI::App* cmd, bench::SweepOptions& o) {
  text_flag(cmd, "--batch-sizes", o.batch_sizes, "Q axis: queries per batch, 1..32 (1..256 with --dpf packed)")
      ->type_name("LIST");
  text_flag(cmd, "--strategies", o.strategies,
            "strategy axis: names (baseline_full_batch, adaptive_micro_batch, throughput, multi_stream_N,\n"
            "cuda_graph_replay, tiled_tile4, fused, kokkos_kernels_gemm), `seed` (the seed's five),\n"
            "`default` (seed + fused), `all`, or `env` (what the MORPHOGEN_GPU_* variables select);\n"
            "with --accumulate mma, the groups leave out kokkos_kernels_gemm; with auto (the\n"
            "default), kokkos_kernels_gemm in the list makes the run lop3")
      ->type_name("LIST");
  text_flag(cmd, "--dpf", o.dpf,
            "key-format axis: morphogen (Morphogen's keys), packed (docs/packed-dpf.md), or both;\n"
            "packed cells take Q up to 256, Morphogen's stop at 32")
      ->type_name("LIST");
  text_flag(cmd, "--concurrency", o.concurrency, "client threads submitting at once, each with its own session")
      ->type_name("LIST");
  cmd->add_option("--update-pages", o.update_pages,
                  "live-updates axis: pages changed before each batch, applied as a new epoch (0: none,\n"
                  "the baseline cells, always run; at most the matrix's pages; docs/live-updates.md)")
      ->delimiter(',')
      ->transform(kPageCount)
      ->type_name("LIST")
      ->capture_default_str();
  cmd->add_option("--update-zipf", o.update_zipf, "the Zipf exponent s of the changed pages' ranks (0: uniform)")
      ->check(CLI::Range(0.0, 4.0))
      ->type_name("S")
      ->capture_default_str();
}

// The stopping rule (bench::StoppingRule); typed, so CLI11 refuses what is out of range.
void add_stopping_flags(CLI::App* cmd, bench::SweepOptions& o) {
  cmd->add_option("--min-samples", o.min_samples, "stopping rule: at least N measured iterations per cell")
      ->type_name("N")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--max-noise", o.max_noise_pct,
                  "stopping rule: go on until the noise (half the median's 95 % interval, % of the median)\n"
                  "of both paths is at most PCT")
      ->type_name("PCT")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd->add_option("--min-time", o.min_seconds, "stopping rule: measure each cell at least SECONDS")
      ->type_name("SECONDS")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  cmd->add_option("--max-time", o.max_seconds,
                  "stopping rule: stop a cell after SECONDS, noisy or not (wins over --min-samples)")
      ->type_name("SECONDS")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
}

void add_run_flags(CLI::App* cmd, bench::SweepOptions& o) {
  optional_flag(cmd, "--iterations", o.iterations,
                "a fixed count of measured iterations per cell and path (wins over the stopping rule)")
      ->type_name("N");
  add_stopping_flags(cmd, o);
  text_flag(cmd, "--warmup", o.warmup, "unmeasured iterations first (graph capture, allocation)")->type_name("N");
  optional_flag(cmd, "--seed", o.seed, "seed of the query keys and targets (default: random, recorded)")
      ->type_name("N");
  optional_flag(cmd, "--output", o.output,
                "results file; runs are appended (default pagequery-sweep-<UTC>.h5 in the cwd)")
      ->type_name("PATH");
  optional_flag(cmd, "--json", o.json,
                "also write the run as JSON (docs/json-schema.md: Google Benchmark's fields, the verdicts)")
      ->type_name("FILE");
  text_flag(cmd, "--checkpoint-interval", o.checkpoint_seconds,
            "write the measured cells at most every SECONDS (0: after every cell)")
      ->type_name("SECONDS");
  add_accumulate_flag(cmd, o.accumulate);
  add_tensor_kernel_flag(cmd, o.tensor_kernel);
  cmd->add_option("--wgmma-cluster", o.wgmma_cluster,
                  "wgmma: thread blocks of a cluster that share each block's leaves by multicast\n"
                  "(1: none); 0 chooses by the keys of a pass")
      ->check(CLI::IsMember({0, 1, 2, 4}))
      ->capture_default_str();
  cmd->add_flag("--cold", o.cold,
                "evict the caches before every timed path, warmup included (a write of twice the GPU's L2, or\n"
                "of the host's last-level cache): times of a matrix and keys that are not cached");
  add_share_gpus_flag(cmd, o.share_gpus);
  cmd->add_flag("--dry-run", o.dry_run,
                "check what a run checks (but the device's memory and mma support), print the cells and\n"
                "the matrix size; measure nothing");
}

}  // namespace

void add_sweep(CLI::App& app) {
  auto options = std::make_shared<bench::SweepOptions>();
  CLI::App* cmd =
      app.add_subcommand("sweep",
                         "Benchmark batching strategies: for every (strategy, Q, concurrency) cell, time Q queries\n"
                         "one by one against one batch of Q, check both return the same bytes, append the run to\n"
                         "an HDF5 results file and print the seed's markdown tables.");
  add_matrix_flags(cmd, *options);
  add_axis_flags(cmd, *options);
  add_run_flags(cmd, *options);
  cmd->footer(kFooter);
  cmd->callback([options] { bench::run_sweep(*options, {std::cout, [] { flush_stdout("sweep"); }, run_guarded}); });
}

}  // namespace pagequery::apps
