#include "bench/sweep.hpp"

#include "bench/json_printer.hpp"
#include "bench/markdown_printer.hpp"
#include "bench/progress.hpp"
#include "bench/read_floor.hpp"
#include "bench/results/reader.hpp"
#include "bench/run_metadata.hpp"
#include "bench/runner.hpp"
#include "bench/signals.hpp"
#include "service/errors.hpp"
#include "service/impl/test_hooks.hpp"
#include "service/mpi_context.hpp"
#include "service/rank_device.hpp"
#include "service/text.hpp"

#include "pagequery/core/bits128.hpp"
#include "pagequery/core/printable.hpp"

#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <iostream>

namespace pagequery::bench {

using namespace service;

namespace {

using Clock = std::chrono::steady_clock;

// What a run checks besides the plan.
struct RunChecks {
  std::vector<std::string> switches;  // MORPHOGEN_GPU_* set: recorded, not applied
};

// Every rank's plan must be rank 0's, and so must its matrix: ranks that differ
// would run different collectives (a crash, a hang) or measure mismatched shards.
Plan agree_on_plan(const MpiContext& mpi, const SweepOptions& options) {
  Plan plan;
  std::string identity;
  mpi.step([&] {
    plan = make_plan(options);
    if (mpi.size() == 1) return;
    if (plan.max_concurrency() > 1 && !mpi.thread_multiple())
      throw InputError("--concurrency " + std::to_string(plan.max_concurrency()) +
                       " with several MPI ranks needs MPI_THREAD_MULTIPLE, which this MPI does not provide");
    identity = canonical_text(plan);
    if (!plan.spec.file.empty())
      identity += "\n" + as_input("--matrix-file: ", [&] { return file_identity(plan.spec.file, mpi.size()); });
  });
  mpi.agree_on("sweep plan", identity);
  mpi.broadcast(plan.key_seed);  // a random seed: rank 0's
  return plan;
}

// Everything a run would refuse is refused here, before anything is printed or
// measured; a dry run stops after it (it leaves out what only the device tells:
// memory, and whether it runs --accumulate mma).
RunChecks check_run(const MpiContext& mpi, const Plan& plan, const ReadGuard& guard) {
  RunChecks checks;
  mpi.step([&] {
    if (mpi.root())
      as_input("--output ", [&] {
        check_results_target(plan.output, guard);
        return 0;
      });
    if (mpi.root() && plan.json && !plan.dry_run)
      write_json(*plan.json, nlohmann::ordered_json::object());  // refused now, not after the run
    checks.switches = env_switches();
    as_input("", [] { return apply_env(PolicyConfig{}); });  // refuse unparsable MORPHOGEN_GPU_* values
    const int sessions = Runtime::check_environment();       // the KOKKOS_* / OMP_* variables
    if (plan.max_concurrency() > sessions)
      throw InputError("--concurrency " + std::to_string(plan.max_concurrency()) +
                       " needs as many threads of the OpenMP backend, which will run " + std::to_string(sessions) +
                       " (set OMP_NUM_THREADS or KOKKOS_NUM_THREADS)");
    Details::test_hooks();  // a test build's hooks refuse their settings here
  });
  return checks;
}

void dry_run(const MpiContext& mpi, const Plan& plan, const std::vector<PageRange>& layout, const SweepIo& io) {
  mpi.step([&] {
    if (!mpi.root()) return;
    std::error_code ec;
    std::optional<std::size_t> runs;
    if (std::filesystem::exists(plan.output, ec)) runs = list_runs(plan.output).size();
    MarkdownPrinter(io.out).print_plan({plan, mpi.size() > 1 ? layout : std::vector<PageRange>{}, runs});
    io.flush_out();
  });
}

// The Kokkos runtime and this rank's engine (over its shard under MPI).
struct Device {
  std::optional<Runtime> runtime;
  std::optional<Engine> engine;
  std::string gpus;  // every rank's GPU (service/rank_device.hpp); "" without GPUs
};

void start(Device& device, const MpiContext& mpi, const Plan& plan, const std::vector<PageRange>& layout,
           bool share_gpus) {
  const RankDevice bound = bind_rank_device(mpi, share_gpus);
  device.gpus = bound.summary;
  mpi.step([&] {
    device.runtime.emplace(bound.index);
    MatrixSpec spec = plan.spec;
    if (mpi.size() > 1) {
      spec.shard = layout[static_cast<std::size_t>(mpi.rank())];
    }
    device.engine.emplace(spec);
  });
}

void log_start(const Plan& plan, const MatrixInfo& info, const MpiContext& mpi, const std::vector<PageRange>& layout,
               const std::vector<std::string>& switches, const std::string& gpus) {
  std::cerr << "pagequery sweep: " << plan.cells.size() << " cells on " << Runtime::device() << " ("
            << Runtime::backend() << ", Kokkos " << Runtime::kokkos_version() << "); matrix " << info.pages
            << " pages (" << human_bytes(info.size_bytes) << ")";
  if (mpi.size() > 1)
    std::cerr << " over " << mpi.size() << " MPI ranks, shards [first, count] " << shard_layout_json(layout);
  std::cerr << "; accumulate " << to_string(info.accumulate) << accumulate_note(plan);
  if (info.accumulate == Accumulate::Mma) std::cerr << " (packed keys: " << info.packed_kernel << ")";
  std::cerr << "; writing " << printable(plan.output) << "\n";
  if (!gpus.empty()) std::cerr << "pagequery sweep: GPUs of the ranks: " << gpus << '\n';
  if (!switches.empty()) {
    std::cerr << "pagequery sweep: recorded, not applied (strategies fix their settings; `env` runs them):";
    for (const std::string& s : switches) std::cerr << ' ' << printable(s);
    std::cerr << '\n';
  }
}

void record_read_floor(RunRecord& run, const Engine& engine, const MpiContext& mpi) {
  const ReadFloor floor = measure_read_floor(engine, mpi);
  run.set("read_floor_ms", floor.ms);
  run.set("read_floor_gbs", floor.gbs);
  run.set("read_floor_repetitions", std::int64_t{floor.repetitions});
  if (mpi.root())
    std::cerr << "pagequery sweep: read floor " << fixed(floor.ms, 3) << " ms (" << fixed(floor.gbs, 1)
              << " GB/s): a plain streaming read of the matrix, the fastest of " << floor.repetitions << "\n";
}

// The tensor floor's rates (m*n*k per second) of the binary MMAs the device
// runs: mma.sync, and wgmma on compute capability 9.0.
void record_tensor_rates(RunRecord& run, const Engine& engine, const MpiContext& mpi) {
  const MatrixInfo info = engine.info();
  if (info.accumulate != Accumulate::Mma) return;
  for (const TensorKernel kernel : {TensorKernel::MmaSync, TensorKernel::Wgmma}) {
    double rate = 0;
    mpi.step([&] { rate = engine.tensor_rate(kernel); });
    if (rate <= 0) continue;  // wgmma off compute capability 9.0
    run.set(to_string(kernel) + "_rate", rate);
    if (mpi.root())
      std::cerr << "pagequery sweep: " << to_string(kernel) << " rate " << fixed(rate / 1e15, 2)
                << "e15 m*n*k/s: the tensor floor of K keys over P pages is K x P x 32768 over it\n";
  }
}

// How the cells' loop ended.
struct Outcome {
  bool interrupted = false;
  int signal = 0;  // the signal that stopped the sweep (0: none)
  std::size_t mismatches = 0;
};

std::string status_of(const Outcome& outcome) {
  if (outcome.interrupted) return std::string("interrupted by ") + (outcome.signal == SIGINT ? "SIGINT" : "SIGTERM");
  return outcome.mismatches ? "checksum_mismatch" : "complete";
}

// One run of the plan's cells: measured by the runner, checkpointed into the
// results file, and on a failure the cells measured so far are kept.
class SweepRun {
 public:
  SweepRun(const Plan& plan, MpiContext& mpi, RunRecord run)
      : plan_(plan), mpi_(mpi), run_(std::move(run)), writer_(plan.output) {}

  Outcome measure_all(Engine& engine, std::uint64_t local_bytes);
  // Rank 0 decides the outcome (only it holds the reduced answers): the final
  // commit, the summary, and CheckFailed unless the run completed; the other
  // ranks leave with its exit code.
  void finish(const Outcome& outcome, const SweepIo& io);

 private:
  void measure_cell(std::size_t i, Runner& runner, Progress& progress, Outcome& outcome, std::uint64_t local_bytes);
  void checkpoint(std::size_t i);
  void save_partial(const std::exception& e);
  void commit(const std::string& status);
  std::string interrupted_message(const std::string& status) const;

  const Plan& plan_;
  MpiContext& mpi_;
  RunRecord run_;
  ResultsWriter writer_;  // rank 0 alone commits
  Clock::time_point last_commit_ = Clock::now();
};

Outcome SweepRun::measure_all(Engine& engine, std::uint64_t local_bytes) {
  Progress progress(plan_, mpi_.root());
  Runner runner(plan_, engine, mpi_);
  Outcome outcome;
  try {
    for (std::size_t i = 0; i < plan_.cells.size() && !outcome.interrupted; ++i)
      measure_cell(i, runner, progress, outcome, local_bytes);
  } catch (const std::exception& e) {
    // Every rank gets here together (the failure went through an agreement).
    progress.finish();
    save_partial(e);
    throw;
  }
  progress.finish();
  return outcome;
}

void SweepRun::measure_cell(std::size_t i, Runner& runner, Progress& progress, Outcome& outcome,
                            std::uint64_t local_bytes) {
  if (const int sig = mpi_.max(pending_signal()); sig != 0) {
    outcome.interrupted = true;
    outcome.signal = sig;
    return;
  }
  const Cell& cell = plan_.cells[i];
  progress.begin(i, plan_.cells.size(), cell_name(plan_, cell), cell);
  const Measurement m = runner.measure(cell);
  if (m.interrupted_by) {
    outcome.interrupted = true;
    outcome.signal = m.interrupted_by;
    if (m.batch_ms.empty()) return;
  }
  progress.end(cell);
  record_cell(run_, plan_, cell, m, local_bytes);
  if (!m.match) ++outcome.mismatches;
  if (!outcome.interrupted) checkpoint(i);  // else the partial cell is in; the final commit writes it
}

// After the first cell, then every --checkpoint-interval seconds.
void SweepRun::checkpoint(std::size_t i) {
  mpi_.step([&] {
    if (!mpi_.root()) return;
    const bool last = i + 1 == plan_.cells.size();
    if (!last && (run_.cells.size() == 1 ||
                  std::chrono::duration<double>(Clock::now() - last_commit_).count() >= plan_.checkpoint_seconds)) {
      commit("incomplete");
      last_commit_ = Clock::now();
    }
  });
}

void SweepRun::save_partial(const std::exception& e) {
  const bool commit_failed = dynamic_cast<const StoreError*>(&e) != nullptr;  // a full disk: no second try
  if (!mpi_.root() || run_.cells.empty() || commit_failed) return;
  try {
    commit("failed: " + one_line(e.what()));
    std::cerr << "pagequery sweep: the " << run_.cells.size() << " cells measured before the failure are in run "
              << run_.id << " of " << printable(plan_.output) << "\n";
  } catch (const std::exception& e2) {
    std::cerr << "pagequery sweep: could not write the partial run: " << one_line(e2.what()) << "\n";
  }
}

void SweepRun::commit(const std::string& status) {
  run_.set("status", status);
  run_.set("cells_done", std::uint64_t(run_.cells.size()));
  run_.set("updated_utc", utc_stamp(std::time(nullptr), false));
  record_device_clocks(run_, Runtime::device_facts(), "_end");
  writer_.commit(run_);
}

std::string SweepRun::interrupted_message(const std::string& status) const {
  const std::uint32_t last = run_.cells.back().iterations;
  const auto planned = static_cast<std::uint32_t>(plan_.stop.iterations);
  return "sweep " + status + " after " + std::to_string(run_.cells.size()) + " of " +
         std::to_string(plan_.cells.size()) + " cells" +
         (last < planned ? " (the last with " + std::to_string(last) + " of " + std::to_string(planned) + " iterations)"
                         : "") +
         "; the partial run " + run_.id + " is in " + plan_.output;
}

void SweepRun::finish(const Outcome& outcome, const SweepIo& io) {
  mpi_.step([&] {
    if (!mpi_.root()) return;
    const std::string status = status_of(outcome);
    if (run_.cells.empty())
      throw CheckFailed("sweep " + status + " before its first measured iteration finished; nothing written");
    commit(status);
    if (plan_.json) write_json(*plan_.json, run_json(run_, plan_.output));
    MarkdownPrinter(io.out).print_run(run_);
    io.flush_out();
    std::cerr << "pagequery sweep: run " << run_.id << " (" << run_.cells.size() << " cells) written to "
              << printable(plan_.output) << "\n";
    if (outcome.interrupted) throw CheckFailed(interrupted_message(status));
    if (outcome.mismatches)
      throw CheckFailed("checksum mismatch between the single loop and the batch in " +
                        std::to_string(outcome.mismatches) + " of " + std::to_string(run_.cells.size()) +
                        " cells (run " + run_.id + " in " + plan_.output + ")");
  });
}

}  // namespace

void run_sweep(const SweepOptions& options, const SweepIo& io) {
  MpiContext mpi;
  const std::time_t started_at = std::time(nullptr);
  const Plan plan = agree_on_plan(mpi, options);
  const std::vector<PageRange> layout = shard_layout(plan.pages, mpi.size());
  const RunChecks checks = check_run(mpi, plan, io.read_guard);
  if (plan.dry_run) return dry_run(mpi, plan, layout, io);

  Device device;
  start(device, mpi, plan, layout, options.share_gpus);
  const MatrixInfo info = device.engine->info();  // this rank's shard
  if (mpi.root()) log_start(plan, info, mpi, layout, checks.switches, device.gpus);
  RunRecord run;
  run.id = utc_stamp(started_at, true);
  describe_run(run, plan, info, utc_stamp(started_at, false), mpi, layout);
  record_read_floor(run, *device.engine, mpi);
  record_tensor_rates(run, *device.engine, mpi);

  SweepRun sweep(plan, mpi, std::move(run));
  const SignalGuard signals;
  const Outcome outcome = sweep.measure_all(*device.engine, info.local_pages * kPageBytes);
  sweep.finish(outcome, io);
}

}  // namespace pagequery::bench
