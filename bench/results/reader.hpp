#pragma once
// Reads results files (layout: bench/results/schema.hpp). Every size a file
// declares is checked against the file before anything is allocated; a damaged
// file is a StoreError (or, inside the HDF5 library, a crash: see ReadGuard in
// bench/results/writer.hpp).
#include "bench/results/record.hpp"

#include <string>
#include <vector>

namespace pagequery::bench {

// Run ids, oldest first (timestamp order, then numeric suffix). Throws StoreError
// for a missing file, a non-HDF5 file or one without /runs.
std::vector<std::string> list_runs(const std::string& path);

// Reads one run (attributes, cells; samples when `with_samples`).
RunRecord read_run(const std::string& path, const std::string& id, bool with_samples = true);

}  // namespace pagequery::bench
