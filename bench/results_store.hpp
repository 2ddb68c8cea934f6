#pragma once
// The sweep's HDF5 results file (layout: data/README.md, "HDF5 results layout").
//
//   /                      attrs format = "pagequery-sweep-results", format_version = 1
//   /runs/<run id>         one group per run, attributes = the run's metadata
//   /runs/<run id>/cells   compound rows, one per (strategy, Q, concurrency) cell
//   /runs/<run id>/samples compound rows (cell, path, iteration, ms)
//
// Writes never modify the file in place: each commit reads it into memory (HDF5's
// core driver: HDF5 itself never writes to disk), appends there, writes the image to
// a hidden sibling, fsyncs, and renames it over the original, under an advisory lock
// on a sibling ".<name>.lock" file. A reader (or a crash, or a full disk) sees
// either the old file or the new one.
#include "bench/sweep_stats.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pagequery::bench {

// A results file that cannot be read or written; the message is one line.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using AttrValue = std::variant<std::string, std::int64_t, std::uint64_t, double,
                               std::vector<std::int64_t>, std::vector<std::string>>;

struct Attribute {
  std::string name;
  AttrValue value;
};

struct RunRecord {
  std::string id;  // before the first commit: the wanted id (a suffix is added if taken)
  std::vector<Attribute> attributes;  // in order
  std::vector<CellRow> cells;
  std::vector<Sample> samples;

  void set(std::string name, AttrValue value);  // replaces an attribute of that name
  const AttrValue* find(std::string_view name) const;
  // The attribute as text (numbers printed, lists comma-joined); `fallback` if absent.
  std::string text(std::string_view name, std::string_view fallback = "") const;
};

// The run's `accumulate` attribute ("lop3" or "mma"); runs written before the
// option existed ran the lop3 kernel, the only one there was.
std::string accumulate_of(const RunRecord& run);

// The run's `read_floor_ms` attribute; runs written before it have none.
std::optional<double> read_floor_of(const RunRecord& run);

// Runs `work`, which reads the results file `file`, such that a crash of the HDF5
// library on a damaged file comes back as an exception (the pagequery binary runs
// it in a child process: apps/crash_guard.hpp).
using ReadGuard = std::function<void(const std::string& file, const std::function<void()>& work)>;

// Throws StoreError unless `path` may take a new run: absent (in a writable
// directory), or an HDF5 file with a /runs group whose runs all read (under `guard`).
void check_results_target(const std::string& path, const ReadGuard& guard);

// Appends one run to a results file, commit by commit (checkpoints).
class ResultsWriter {
 public:
  explicit ResultsWriter(std::string path);

  // Writes the run's attributes and the rows added since the last commit. The
  // first commit creates the file if needed and claims the run id: run.id, or
  // run.id + "-2", "-3", ... when taken.
  void commit(RunRecord& run);

  const std::string& path() const { return path_; }

  // Test hook: abort() the process in the middle of the next commit, after the
  // rows went into the temporary copy and before it replaces the file.
  bool abort_midway = false;

 private:
  std::string path_;
  bool claimed_ = false;
  std::size_t cells_written_ = 0;
  std::size_t samples_written_ = 0;
  std::vector<Attribute> attributes_written_;  // only changed attributes are rewritten
};

// The run as markdown: a header (device, matrix, settings, status) and the
// seed's three tables (sweep_stats.hpp).
std::string run_summary_markdown(const RunRecord& run);

// Run ids, oldest first (timestamp order, then numeric suffix). Throws StoreError
// for a missing file, a non-HDF5 file or one without /runs.
std::vector<std::string> list_runs(const std::string& path);

// Reads one run (attributes, cells; samples when `with_samples`).
RunRecord read_run(const std::string& path, const std::string& id, bool with_samples = true);

}  // namespace pagequery::bench
