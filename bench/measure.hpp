#pragma once
// Measuring one cell: C clients time Q queries one by one (the single loop, plain
// latency policy) against one batch of Q queries (the strategy), warmup and
// measured iterations of both paths, and check that both return the same bytes
// (XXH3-64 checksums of the answers). A cell with live updates (U > 0) applies a
// fresh set of U pages as a new epoch before each iteration's batch.
#include "bench/sweep_updates.hpp"
#include "service/key_list.hpp"
#include "service/mpi_context.hpp"

#include "pagequery/policies/engine.hpp"

#include <cstdint>
#include <exception>
#include <functional>
#include <vector>

namespace pagequery::bench {

// One client: its own queries and, per path, its own session (so that a path
// keeps its buffer shapes, and graph replays stay valid between iterations).
struct Client {
  Engine::Session* single_session;
  Engine::Session* batch_session;
  service::KeyList keys;  // 3 Q keys
  std::vector<std::vector<std::uint8_t>> single_out;
  std::vector<std::uint8_t> batch_out;
  std::vector<std::uint64_t> single_hash, batch_hash;  // per iteration (warmup included)
  int channel = 0;                                     // MPI: the client's own communicator (MpiContext::open_channels)
  double reduce_ms = 0;                                // MPI: the reduction time of the last path run
  double device_ms = 0;  // the last batch's launches on the device (Session::last_device_ms)
  std::exception_ptr error;
};

struct Measurement {
  std::vector<double> single_ms, batch_ms;                // measured iterations only (reductions included)
  std::vector<double> single_reduce_ms, batch_reduce_ms;  // their reduction part
  std::vector<double> batch_device_ms;                    // the batch's launches (C > 1: the slowest client's)
  std::vector<double> update_ms;  // U > 0: each iteration's epoch advance, until every rank patched
  std::uint64_t single_checksum = 0, batch_checksum = 0;
  bool match = true;
  // A signal (on some rank: all ranks stop together) ended the cell early; the
  // iterations finished before it are kept (none when batch_ms is empty).
  int interrupted_by = 0;
};

// The single loop's policy: the seed's plain latency policy, one query at a time.
const PolicyConfig& single_policy();

// When a cell has measured enough, after NVBench's: a fixed count of iterations
// when given; else at least min_samples iterations and min_seconds, then until
// the noise of both paths (Stats::noise_pct) is at most max_noise_pct, or
// max_seconds have passed (which wins over min_samples). Seconds count wall time
// from the first measured iteration; warmup is not counted.
struct StoppingRule {
  int iterations = 0;  // > 0: exactly this many, the rest ignored
  int min_samples = 10;
  double max_noise_pct = 1;
  double min_seconds = 0.5;
  double max_seconds = 5;
};

// Whether `m` (measured for `seconds`) is enough under `rule`.
bool enough(const StoppingRule& rule, const Measurement& m, double seconds);

// What a measurement runs besides its clients.
struct MeasureSettings {
  const PolicyConfig& batch_config;  // the strategy's
  int warmup = 0;
  StoppingRule stop;
  // U > 0: before each iteration a fresh set of update_pages pages is staged
  // (untimed) and applied; then the batch runs, then the single loop on the same
  // epoch, whose bytes are the batch's reference. nullptr: no updates.
  SweepUpdates* updates = nullptr;
  std::uint64_t update_pages = 0;
  std::function<void()> evict;  // --cold: empties the caches before every timed path (unset: warm)
};

// Runs the warmup, then iterations of both paths until settings.stop says enough. C = clients.size(); with C > 1 every
// client runs on its own thread and an iteration is timed from the moment all
// start to the moment all are done. Under MPI all ranks run this in lockstep: a
// barrier starts every timed path, and before every iteration the ranks agree to
// go on (the stopping rule too: any rank's "enough" stops all); a signal on any rank (bench/signals.hpp) stops all of
// them after the iteration they are in (Measurement::interrupted_by, the finished iterations kept), and a failure on
// any rank makes all throw (MpiContext::agree) once the threads are joined.
Measurement measure(std::vector<Client>& clients, const MeasureSettings& settings, const service::MpiContext& mpi);

}  // namespace pagequery::bench
