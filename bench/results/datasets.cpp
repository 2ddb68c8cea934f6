#include "bench/results/datasets.hpp"

#include "bench/results/read_limits.hpp"
#include "bench/results/schema.hpp"

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

// Refuses rows stored outside the file: external raw-data files and virtual
// datasets are opened by name when read (a FIFO blocks; /etc/passwd would be
// printed as rows), and writing would write into them. pagequery writes neither.
void check_storage(hid_t dcpl, const std::string& path, const char* name) {
  if (H5Pget_layout(dcpl) == H5D_VIRTUAL)
    fail(path, std::string("dataset ") + name + " is a virtual dataset (refused: its rows are in other files)");
  if (H5Pget_external_count(dcpl) != 0)
    fail(path, std::string("dataset ") + name + " stores its rows in external files (refused)");
}

// Refuses chunked rows the file does not store: a chunk never written reads as
// fill values, so a small file could declare millions of rows (filtered chunks
// too, which the file-size check cannot bound). Returns the rows of a chunk.
std::uint64_t check_chunks_stored(hid_t dset, hid_t dcpl, hid_t space, std::uint64_t rows, const std::string& path,
                                  const char* name) {
  hsize_t chunk_rows = 0, stored = 0;
  if (H5Pget_chunk(dcpl, 1, &chunk_rows) != 1 || chunk_rows == 0 || H5Dget_num_chunks(dset, space, &stored) < 0)
    fail(path, std::string("dataset ") + name + ": cannot read its chunk layout (damaged?)");
  if (rows / chunk_rows + (rows % chunk_rows != 0) > stored)
    fail(path, std::string("dataset ") + name + " declares " + std::to_string(rows) + " rows, but the file stores " +
                   std::to_string(stored) + " chunks of " + std::to_string(chunk_rows) + " (damaged?)");
  return chunk_rows;
}

// A dataset's declared rows, checked before they are allocated: unfiltered rows are
// stored whole, so they fit in the file; chunked rows must all be stored; and the
// rows in memory (`record_bytes` each) plus one chunk as stored must fit in the
// memory available.
std::uint64_t declared_rows(hid_t dset, hid_t space, hid_t file_type, const std::string& path, const char* name,
                            std::size_t record_bytes, std::uint64_t file_bytes) {
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n < 0 || H5Sget_simple_extent_ndims(space) != 1) not_a_table(path, name);
  const auto rows = static_cast<std::uint64_t>(n);
  const std::string what = std::string("dataset ") + name;
  Hid dcpl(H5Dget_create_plist(dset), H5Pclose);
  if (!dcpl.valid()) fail(path, "cannot read the layout of " + what);
  check_storage(dcpl, path, name);
  if (H5Pget_nfilters(dcpl) == 0) check_declared(path, what, rows, H5Tget_size(file_type), file_bytes);
  if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
    const std::uint64_t chunk_rows = check_chunks_stored(dset, dcpl, space, rows, path, name);
    check_in_memory(path, what + "'s chunk", chunk_rows, H5Tget_size(file_type));  // HDF5 reads chunks whole
  }
  check_in_memory(path, what, rows, record_bytes);
  return rows;
}

}  // namespace

Hid open_or_create_table(hid_t group, const std::string& path, const char* name, hid_t mem_type, hsize_t chunk) {
  if (has_link(group, name, path, name)) {
    Hid table(must(H5Dopen2(group, name, H5P_DEFAULT), path, "opening a dataset"), H5Dclose);
    Hid dcpl(must(H5Dget_create_plist(table), path, "reading a dataset's layout"), H5Pclose);
    check_storage(dcpl, path, name);
    return table;
  }
  const hsize_t zero = 0, unlimited = H5S_UNLIMITED;
  Hid space(H5Screate_simple(1, &zero, &unlimited), H5Sclose);
  Hid dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(dcpl, 1, &chunk);
  Hid file_type = packed(mem_type);
  return Hid(
      must(H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), path, "creating a dataset"),
      H5Dclose);
}

void write_table_rows(hid_t table, const std::string& path, hid_t mem_type, const void* rows, std::size_t from,
                      std::size_t total) {
  const hsize_t extent = total;
  must_ok(H5Dset_extent(table, &extent), path, "extending a dataset");
  if (from >= total) return;
  const hsize_t start = from, count = total - from;
  Hid file_space(H5Dget_space(table), H5Sclose);
  must_ok(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &start, nullptr, &count, nullptr), path, "selecting rows");
  Hid mem_space(H5Screate_simple(1, &count, nullptr), H5Sclose);
  const auto* first = static_cast<const char*>(rows) + from * H5Tget_size(mem_type);
  must_ok(H5Dwrite(table, mem_type, mem_space, file_space, H5P_DEFAULT, first), path, "writing rows");
}

Table open_table(hid_t group, const std::string& path, const char* name, std::size_t record_bytes,
                 std::uint64_t file_bytes) {
  Table table;
  if (!has_link(group, name, path, name)) return table;
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
