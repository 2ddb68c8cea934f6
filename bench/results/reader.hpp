#pragma once
// Reads results files (layout: bench/results/schema.hpp). Every size a file
// declares is checked against the file before anything is allocated; a damaged
// file is a StoreError (or, inside the HDF5 library, a crash: see ReadGuard in
// bench/results/writer.hpp).
#include "bench/results/record.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pagequery::bench {

// Run ids, oldest first (timestamp order, then numeric suffix). Throws StoreError
// for a missing file, a non-HDF5 file or one without /runs.
std::vector<std::string> list_runs(const std::string& path);

// `wanted` if it is one of `runs` (list_runs of `path`), else InputError naming the
// latest few; without `wanted`, the latest run. InputError for a file without runs.
std::string pick_run(const std::string& path, const std::vector<std::string>& runs,
                     const std::optional<std::string>& wanted);

// Reads one run (attributes, cells; samples when `with_samples`, and then the
// statistics that runs written before them lack are derived from the samples).
RunRecord read_run(const std::string& path, const std::string& id, bool with_samples = true);

}  // namespace pagequery::bench
