#include "bench/results/writer.hpp"

#include "bench/results/attributes.hpp"
#include "bench/results/datasets.hpp"
#include "bench/results/read_limits.hpp"
#include "bench/results/reader.hpp"
#include "bench/results/replace_file.hpp"
#include "bench/results/schema.hpp"
#include "service/impl/test_hooks.hpp"
#include "pagequery/core/memory_budget.hpp"
#include "pagequery/core/printable.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace pagequery::bench {

using namespace service;

namespace fs = std::filesystem;
using namespace results;

namespace {

// A new file, in memory (its name `scratch` is never written): the format
// attributes and an empty /runs.
Hid create_image(const fs::path& scratch, hid_t fapl, const std::string& path) {
  Hid file(H5Fcreate(scratch.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl), H5Fclose);
  if (!file.valid()) fail(path, "HDF5 error: creating the file");
  write_attribute(file, path, {"format", std::string(kFormat)});
  write_attribute(file, path, {"format_version", kFormatVersion});
  Hid runs(must(H5Gcreate2(file, "runs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path, "creating /runs"), H5Gclose);
  return file;
}

// The results file `target` (of `old_bytes`) read into memory, or a new one.
Hid open_image(const fs::path& target, const fs::path& scratch, hid_t fapl, std::uint64_t old_bytes,
               const std::string& path) {
  std::error_code ec;
  if (!fs::exists(target, ec)) return create_image(scratch, fapl, path);
  if (!is_hdf5(target.string())) fail(path, "not an HDF5 file (refusing to overwrite it)");
  if (!fits_in(2 * old_bytes, memory_for_reading())) fail(path, "too large to rewrite in the memory available");
  Hid file(H5Fopen(target.c_str(), H5F_ACC_RDWR, fapl), H5Fclose);  // read into memory, never written
  if (!file.valid()) fail(path, "cannot open the HDF5 file for writing (damaged?)");
  return file;
}

// `wanted` ("run" when empty), or the first of wanted-2, wanted-3, ... not taken.
std::string free_run_id(hid_t runs, const std::string& wanted, const std::string& path) {
  const std::string base = wanted.empty() ? std::string("run") : wanted;
  std::string id = base;
  for (int k = 2; has_link(runs, id.c_str(), path, "/runs/" + id); ++k) id = base + "-" + std::to_string(k);
  return id;
}

// The run's group; a new one (on the first commit, or when the group went missing
// since) holds nothing yet, so everything is written again.
Hid open_run_group(hid_t runs, const std::string& id, ResultsWriter::Written& written, const std::string& path) {
  if (has_link(runs, id.c_str(), path, "/runs/" + id))
    return Hid(must(H5Gopen2(runs, id.c_str(), H5P_DEFAULT), path, "opening the run"), H5Gclose);
  Hid gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
  H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  Hid group(must(H5Gcreate2(runs, id.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT), path, "creating the run group"),
            H5Gclose);
  written.cells = written.samples = 0;
  written.attributes.clear();
  write_attribute(group, path, {"run_id", id});
  return group;
}

// Unchanged attributes stay as they are (a rewritten string takes new heap space).
void write_attributes(hid_t group, const RunRecord& run, const ResultsWriter::Written& written,
                      const std::string& path) {
  for (const Attribute& a : run.attributes) {
    const auto same = std::find_if(written.attributes.begin(), written.attributes.end(),
                                   [&](const Attribute& w) { return w.name == a.name && w.value == a.value; });
    if (same == written.attributes.end()) write_attribute(group, path, a);
  }
}

void write_rows(hid_t group, const RunRecord& run, const ResultsWriter::Written& written, const std::string& path) {
  std::vector<CellRecord> cells;
  cells.reserve(run.cells.size());
  for (const CellRow& r : run.cells) cells.push_back(to_record(r));
  std::vector<SampleRecord> samples;
  samples.reserve(run.samples.size());
  for (const Sample& s : run.samples) samples.push_back(to_record(s));
  Hid ct = cell_type(), st = sample_type();
  append_rows(group, path, "cells", ct, cells, written.cells, 64);
  Hid cells_table(must(H5Dopen2(group, "cells", H5P_DEFAULT), path, "opening the cells"), H5Dclose);
  write_attribute(cells_table, path, {"units", cell_units()});
  if (Details::test_hooks().abort_commit_at_cells == run.cells.size()) {
    std::fputs("pagequery: test hook: aborting in the middle of a results commit\n", stderr);
    std::abort();
  }
  append_rows(group, path, "samples", st, samples, written.samples, 1024);
}

// The file's new image: the run's group (claimed on the first commit), its changed
// attributes and its new rows.
std::vector<char> new_image(RunRecord& run, const fs::path& target, const fs::path& scratch, std::uint64_t old_bytes,
                            ResultsWriter::Written& written, const std::string& path) {
  Hid fapl = memory_access();
  Hid file = open_image(target, scratch, fapl, old_bytes, path);
  {
    hsize_t image_bytes = 0;  // what the attributes' declared sizes are checked against
    must_ok(H5Fget_filesize(file, &image_bytes), path, "sizing the file in memory");
    Hid runs = open_runs(file, path, image_bytes);
    if (!written.claimed) run.id = free_run_id(runs, run.id, path);
    Hid group = open_run_group(runs, run.id, written, path);
    write_attributes(group, run, written, path);
    write_rows(group, run, written, path);
  }  // the group and /runs close before the image is taken
  std::vector<char> image = file_image(file, path);
  if (!file.reset()) fail(path, "HDF5 error: closing the file in memory");
  return image;
}

}  // namespace

void check_results_target(const std::string& path, const ReadGuard& guard) {
  quiet_hdf5();
  std::error_code ec;
  const fs::path target = target_of(path);
  if (struct stat st{}; ::stat(target.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) fail(path, "exists and is not a regular file");
    check_owner_kept(st, path);
    if (!is_hdf5(target.string())) fail(path, "exists and is not an HDF5 file (refusing to overwrite it)");
    // Every run is read once (a file without /runs is refused), in a child: a
    // damaged file must stop the sweep now, not crash its first commit.
    guard(path, [&] {
      for (const std::string& id : list_runs(target.string())) read_run(target.string(), id, false);
    });
    if (::access(target.c_str(), W_OK) != 0) fail(path, std::strerror(errno));
  }
  const fs::path dir = directory_of(target);
  if (!fs::is_directory(dir, ec)) fail(path, "the directory " + printable(dir.string()) + " does not exist");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    fail(path, "the directory " + printable(dir.string()) + " is not writable: " + std::strerror(errno));
  // A commit writes the siblings ".<name>.<pid>.tmp" and ".<name>.lock".
  const long name_max = ::pathconf(dir.c_str(), _PC_NAME_MAX);
  const std::size_t sibling_bytes = sibling(target, ".4294967295.tmp").filename().string().size();
  if (name_max > 0 && sibling_bytes > static_cast<std::size_t>(name_max))
    fail(path, "the file name is too long: its temporary sibling would need " + std::to_string(sibling_bytes) +
                   " bytes, the file system allows " + std::to_string(name_max));
  const fs::path lock = sibling(target, ".lock");
  const fs::file_status lock_status = fs::symlink_status(lock, ec);  // a link is refused, not followed
  if (fs::exists(lock_status) && (!fs::is_regular_file(lock_status) || ::access(lock.c_str(), R_OK) != 0))
    fail(path, "its lock file " + printable(lock.string()) + " is not a readable regular file");
}

ResultsWriter::ResultsWriter(std::string path) : path_(std::move(path)) {}

void ResultsWriter::commit(RunRecord& run) {
  quiet_hdf5();
  const fs::path target = target_of(path_);
  DirLock lock(sibling(target, ".lock"));
  remove_stale_temporaries(target, lock);
  TempFile tmp{sibling(target, "." + std::to_string(::getpid()) + ".tmp")};
  std::error_code ec;
  fs::remove(tmp.path, ec);
  struct stat old {};
  const bool exists = ::stat(target.c_str(), &old) == 0;
  if (exists) check_owner_kept(old, path_);
  const std::vector<char> image =
      new_image(run, target, tmp.path, static_cast<std::uint64_t>(old.st_size), written_, path_);
  write_new_file(tmp.path, image, exists ? &old : nullptr, path_);
  replace(tmp.path, target, path_);
  tmp.keep = true;
  written_ = {true, run.cells.size(), run.samples.size(), run.attributes};
}

}  // namespace pagequery::bench
