#include "bench/results/datasets.hpp"

#include "bench/results/schema.hpp"
#include "core/memory_budget.hpp"

namespace pagequery::bench::results {

namespace {

// The members of `mem_type` that `file_type` has too, at their offsets: a run
// written before a column existed reads with that column left as initialised.
Hid readable_members(hid_t mem_type, hid_t file_type) {
  Hid out(H5Tcreate(H5T_COMPOUND, H5Tget_size(mem_type)), H5Tclose);
  const int n = H5Tget_nmembers(mem_type);
  for (int i = 0; i < n; ++i) {
    char* name = H5Tget_member_name(mem_type, static_cast<unsigned>(i));
    if (!name) continue;
    if (H5Tget_member_index(file_type, name) >= 0) {
      Hid member(H5Tget_member_type(mem_type, static_cast<unsigned>(i)), H5Tclose);
      H5Tinsert(out, name, H5Tget_member_offset(mem_type, static_cast<unsigned>(i)), member);
    }
    H5free_memory(name);
  }
  return out;
}

[[noreturn]] void not_a_table(const std::string& path, const char* name) {
  fail(path, std::string("dataset ") + name + " is not a table (not a pagequery sweep layout?)");
}

// A dataset's declared rows, checked against what the file can hold before they
// are allocated: unfiltered rows are stored whole, so they fit in the file; a
// filtered (compressed) dataset must fit in memory.
std::uint64_t declared_rows(hid_t dset, hid_t space, hid_t file_type, const std::string& path, const char* name,
                            std::size_t record_bytes, std::uint64_t file_bytes) {
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n < 0 || H5Sget_simple_extent_ndims(space) != 1) not_a_table(path, name);
  const auto rows = static_cast<std::uint64_t>(n);
  Hid dcpl(H5Dget_create_plist(dset), H5Pclose);
  if (!dcpl.valid() || H5Pget_nfilters(dcpl) == 0) {
    check_declared(path, std::string("dataset ") + name, rows, H5Tget_size(file_type), file_bytes);
  } else if (rows > (std::uint64_t{1} << 62) / record_bytes ||
             !fits_in(rows * record_bytes, host_memory_available())) {
    fail(path, std::string("dataset ") + name + " declares " + std::to_string(rows) +
                   " rows, more than the memory available holds");
  }
  return rows;
}

}  // namespace

Hid open_or_create_table(hid_t group, const std::string& path, const char* name, hid_t mem_type, hsize_t chunk) {
  if (link_exists(group, name))
    return Hid(must(H5Dopen2(group, name, H5P_DEFAULT), path, "opening a dataset"), H5Dclose);
  const hsize_t zero = 0, unlimited = H5S_UNLIMITED;
  Hid space(H5Screate_simple(1, &zero, &unlimited), H5Sclose);
  Hid dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(dcpl, 1, &chunk);
  Hid file_type = packed(mem_type);
  return Hid(must(H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), path,
                  "creating a dataset"),
             H5Dclose);
}

void write_table_rows(hid_t table, const std::string& path, hid_t mem_type, const void* rows, std::size_t from,
                      std::size_t total) {
  const hsize_t extent = total;
  must_ok(H5Dset_extent(table, &extent), path, "extending a dataset");
  if (from >= total) return;
  const hsize_t start = from, count = total - from;
  Hid file_space(H5Dget_space(table), H5Sclose);
  must_ok(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &start, nullptr, &count, nullptr), path,
          "selecting rows");
  Hid mem_space(H5Screate_simple(1, &count, nullptr), H5Sclose);
  const auto* first = static_cast<const char*>(rows) + from * H5Tget_size(mem_type);
  must_ok(H5Dwrite(table, mem_type, mem_space, file_space, H5P_DEFAULT, first), path, "writing rows");
}

Table open_table(hid_t group, const std::string& path, const char* name, std::size_t record_bytes,
                 std::uint64_t file_bytes) {
  Table table;
  if (!link_exists(group, name)) return table;
  table.dataset = Hid(H5Dopen2(group, name, H5P_DEFAULT), H5Dclose);
  if (!table.dataset.valid()) fail(path, std::string("cannot open dataset ") + name);
  Hid space(H5Dget_space(table.dataset), H5Sclose);
  table.file_type = Hid(H5Dget_type(table.dataset), H5Tclose);
  if (!space.valid() || !table.file_type.valid() || H5Tget_class(table.file_type) != H5T_COMPOUND)
    not_a_table(path, name);
  table.rows = declared_rows(table.dataset, space, table.file_type, path, name, record_bytes, file_bytes);
  return table;
}

void read_table_rows(const Table& table, const std::string& path, const char* name, hid_t mem_type, void* rows) {
  Hid read_type = readable_members(mem_type, table.file_type);
  if (table.rows > 0 && H5Dread(table.dataset, read_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0)
    fail(path, std::string("cannot read dataset ") + name + " (not a pagequery sweep layout?)");
}

}  // namespace pagequery::bench::results
