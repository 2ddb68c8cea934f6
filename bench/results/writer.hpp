#pragma once
// Appends a run to a results file (layout: bench/results/schema.hpp), commit by
// commit. Writes never modify the file in place: each commit reads it into memory
// (HDF5's core driver: HDF5 itself never writes to disk), appends there, and
// replaces the file with the new image (bench/results/replace_file.hpp). A reader
// (or a crash, or a full disk) sees either the old file or the new one.
#include "bench/results/record.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace pagequery::bench {

// Runs `work`, which reads the results file `file`, such that a crash of the HDF5
// library on a damaged file comes back as an exception (the pagequery binary runs
// it in a child process: apps/crash_guard.hpp).
using ReadGuard = std::function<void(const std::string& file, const std::function<void()>& work)>;

// Throws StoreError unless `path` may take a new run: absent (in a writable
// directory), or an HDF5 file with a /runs group whose runs all read (under `guard`)
// and whose owner and group an append can keep. A symbolic link is checked as its
// target; a dangling one or a loop is refused.
void check_results_target(const std::string& path, const ReadGuard& guard);

class ResultsWriter {
 public:
  explicit ResultsWriter(std::string path);

  // Writes the run's attributes and the rows added since the last commit. The
  // first commit creates the file if needed and claims the run id: run.id, or
  // run.id + "-2", "-3", ... when taken.
  void commit(RunRecord& run);

  const std::string& path() const { return path_; }

  // What the file holds of the run since the last commit.
  struct Written {
    bool claimed = false;  // the run id is ours
    std::size_t cells = 0;
    std::size_t samples = 0;
    std::vector<Attribute> attributes;  // only changed attributes are rewritten
  };

 private:
  std::string path_;
  Written written_;
};

}  // namespace pagequery::bench
