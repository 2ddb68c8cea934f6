#pragma once
// The runner over a plan's cells (the run step of parse -> run -> print): for each
// cell, the sessions of its concurrency, the queries of its clients, the
// measurement (bench/measure.hpp), and the row and samples it adds to the run.
#include "bench/measure.hpp"
#include "bench/plan.hpp"
#include "bench/results/record.hpp"
#include "service/mpi_context.hpp"

#include "pagequery/policies/engine.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace pagequery::bench {

class Runner {
 public:
  // Runs on `engine` (this rank's shard) with `mpi`; all ranks run the same cells.
  // Cells with updates change the engine's matrix, epoch by epoch.
  Runner(const Plan& plan, Engine& engine, service::MpiContext& mpi);

  // Measures one cell of the plan (collective). Sessions are kept from one cell to
  // the next of the same concurrency; the queries are the same for every strategy
  // of a (Q, C) and key format.
  Measurement measure(const Cell& cell);

 private:
  void open_sessions(int concurrency);
  std::vector<Client> clients(const Cell& cell);

  const Plan& plan_;
  Engine& engine_;
  service::MpiContext& mpi_;
  std::optional<SweepUpdates> updates_;  // plans with update cells: one stream of sets for the run
  int sessions_for_ = 0;                 // the concurrency the sessions are for (0: none yet)
  std::vector<Engine::Session> single_sessions_, batch_sessions_;
};

// Appends the measured cell to `run`: its row (statistics, QPS, speedup,
// bandwidth over `local_bytes`, checksums, the updates' apply time and rate) and
// its raw samples.
void record_cell(RunRecord& run, const Plan& plan, const Cell& cell, const Measurement& m, std::uint64_t local_bytes);

}  // namespace pagequery::bench
