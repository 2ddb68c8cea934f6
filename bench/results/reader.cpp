#include "bench/results/reader.hpp"

#include "bench/results/attributes.hpp"
#include "bench/results/datasets.hpp"
#include "bench/results/schema.hpp"
#include "service/text.hpp"
#include "pagequery/core/printable.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

namespace pagequery::bench {

using namespace service;

namespace fs = std::filesystem;
using namespace results;

namespace {

// A results file open read-only: its /runs group and its size.
struct ResultsFile {
  Hid file, runs;
  std::uint64_t bytes = 0;
};

// Opens a results file read-only, or says precisely why not.
ResultsFile open_results_read(const std::string& path) {
  quiet_hdf5();
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) fail(path, "no such file");
  if (fs::is_directory(status)) fail(path, "is a directory, not a results file");
  // Checked before HDF5 opens it: opening a FIFO would block.
  if (!fs::is_regular_file(status)) fail(path, "is not a regular file");
  if (::access(path.c_str(), R_OK) != 0) fail(path, std::strerror(errno));
  if (!is_hdf5(path)) fail(path, "not an HDF5 file");
  ResultsFile f;
  Hid fapl = file_access(true);
  f.file = Hid(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), H5Fclose);
  if (!f.file.valid()) fail(path, "cannot open the HDF5 file (damaged?)");
  f.bytes = fs::file_size(path, ec);
  if (ec) fail(path, "cannot stat: " + ec.message());
  f.runs = open_runs(f.file, path, f.bytes);
  return f;
}

// Run ids sort by their timestamp, then by the numeric suffix ("-2", "-10").
std::pair<std::string, long> run_sort_key(const std::string& id) {
  const auto dash = id.rfind('-');
  if (dash != std::string::npos && dash + 1 < id.size() &&
      std::all_of(id.begin() + static_cast<long>(dash) + 1, id.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
      id.size() - dash <= 10)
    return {id.substr(0, dash), std::stol(id.substr(dash + 1))};
  return {id, 1};
}

// Runs written before the median's interval have their samples: the statistics
// are derived from them, so that old runs get a verdict and compare too.
void backfill_intervals(RunRecord& run) {
  const auto old = [](const Stats& s) { return s.median_ci_high == 0 && s.max > 0; };
  std::vector<std::vector<double>> single(run.cells.size()), batch(run.cells.size());
  for (const Sample& s : run.samples)
    if (s.cell < run.cells.size() && s.path < 2) (s.path == 0 ? single : batch)[s.cell].push_back(s.ms);
  for (std::size_t i = 0; i < run.cells.size(); ++i) {
    CellRow& row = run.cells[i];
    if (old(row.single_ms) && !single[i].empty()) row.single_ms = summarize(single[i]);
    if (old(row.batch_ms) && !batch[i].empty()) row.batch_ms = summarize(batch[i]);
  }
}

herr_t collect_link(hid_t, const char* name, const H5L_info_t*, void* op_data) {
  static_cast<std::vector<std::string>*>(op_data)->emplace_back(name);
  return 0;
}

}  // namespace

std::vector<std::string> list_runs(const std::string& path) {
  const ResultsFile f = open_results_read(path);
  std::vector<std::string> ids;
  if (H5Literate(f.runs, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_link, &ids) < 0) fail(path, "cannot list /runs");
  for (const std::string& id : ids) has_link(f.runs, id.c_str(), path, "/runs/" + id);  // refuses any but hard links
  std::stable_sort(ids.begin(), ids.end(),
                   [](const std::string& a, const std::string& b) { return run_sort_key(a) < run_sort_key(b); });
  return ids;
}

std::string pick_run(const std::string& path, const std::vector<std::string>& runs,
                     const std::optional<std::string>& wanted) {
  if (runs.empty()) throw InputError(printable(path) + ": no runs in /runs");
  if (!wanted) return runs.back();
  if (std::find(runs.begin(), runs.end(), *wanted) == runs.end()) {
    std::string known;
    const std::size_t from = runs.size() > 5 ? runs.size() - 5 : 0;
    for (std::size_t i = from; i < runs.size(); ++i) known += (known.empty() ? "" : ", ") + runs[i];
    throw InputError(printable(path) + ": no run '" + one_line(*wanted) + "' (" + (from ? "latest runs: " : "runs: ") +
                     printable(known) + ")");
  }
  return *wanted;
}

RunRecord read_run(const std::string& path, const std::string& id, bool with_samples) {
  const ResultsFile f = open_results_read(path);
  const bool name_ok = !id.empty() && id != "." && id.find('/') == std::string::npos;
  if (!name_ok || !has_link(f.runs, id.c_str(), path, "/runs/" + id)) fail(path, "no run " + quote(id));
  Hid group(H5Gopen2(f.runs, id.c_str(), H5P_DEFAULT), H5Gclose);
  if (!group.valid()) fail(path, "run '" + id + "' is not a group");
  RunRecord run;
  run.id = id;
  read_attributes(group, run, path, f.bytes);
  Hid ct = cell_type();
  for (const CellRecord& c : read_rows<CellRecord>(group, path, "cells", ct, f.bytes))
    run.cells.push_back(from_record(c));
  if (with_samples) {
    Hid st = sample_type();
    for (const SampleRecord& s : read_rows<SampleRecord>(group, path, "samples", st, f.bytes))
      run.samples.push_back(from_record(s));
    backfill_intervals(run);
  }
  return run;
}

}  // namespace pagequery::bench
