#pragma once
// `pagequery sweep` as a library, after nvbench's main (parse -> run -> print):
// the options become a plan (bench/plan.hpp), a runner measures its cells
// (bench/runner.hpp), the results store keeps the run (bench/results/), and a
// printer shows it (bench/printer.hpp).
//
// Under MPI all ranks run the same plan in lockstep: the same cells, the same
// queries (the key seed is rank 0's), each answering over its own shard; the
// answers are XOR-reduced into rank 0, which alone prints, checks checksums and
// writes the HDF5 run. Every step that may fail ends in an agreement, so all
// ranks stop together with one line on stderr.
#include "bench/plan.hpp"
#include "bench/results/writer.hpp"

#include <functional>
#include <ostream>

namespace pagequery::bench {

// What the sweep needs from the process that runs it.
struct SweepIo {
  std::ostream& out;                // the markdown summary or the dry run (rank 0)
  std::function<void()> flush_out;  // flushes `out`; throws when a write to it failed
  ReadGuard read_guard;             // reads an existing results file before a run appends to it
};

// Runs the sweep `options` describe (or, with dry_run, checks and lists it).
// Progress goes to stderr. Throws InputError for refused input (before anything
// is measured), CheckFailed for a run that was interrupted or whose checksums
// differ (after all it measured is written), RankFailed under MPI.
void run_sweep(const SweepOptions& options, const SweepIo& io);

}  // namespace pagequery::bench
