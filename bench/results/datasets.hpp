#pragma once
// A run's tables (cells, samples): 1-D chunked datasets of compound rows, appended
// commit by commit and read back whole.
#include "bench/results/hdf5.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pagequery::bench::results {

// Creates the dataset `name` (extensible, chunks of `chunk` rows, stored as
// `mem_type` packed) unless it exists; returns it opened.
Hid open_or_create_table(hid_t group, const std::string& path, const char* name, hid_t mem_type, hsize_t chunk);

// Sizes the table to `total` rows and writes rows [from, total) from `rows` (`mem_type`).
void write_table_rows(hid_t table, const std::string& path, hid_t mem_type, const void* rows, std::size_t from,
                      std::size_t total);

// Appends rows [from, rows.size()) to the table `name`, creating it if needed.
template <class Record>
void append_rows(hid_t group, const std::string& path, const char* name, hid_t mem_type,
                 const std::vector<Record>& rows, std::size_t from, hsize_t chunk) {
  Hid table = open_or_create_table(group, path, name, mem_type, chunk);
  write_table_rows(table, path, mem_type, rows.data(), from, rows.size());
}

// An open table and the rows it declares, checked against what the file can
// hold before they are allocated (`record_bytes`: one row in memory).
struct Table {
  Hid dataset;
  Hid file_type;
  std::uint64_t rows = 0;
};
// The table `name`, or an invalid dataset when the group has none.
Table open_table(hid_t group, const std::string& path, const char* name, std::size_t record_bytes,
                 std::uint64_t file_bytes);
// Reads the whole table into `rows` (its `rows` records of `mem_type`); columns the
// file does not have stay as `rows` holds them.
void read_table_rows(const Table& table, const std::string& path, const char* name, hid_t mem_type, void* rows);

template <class Record>
std::vector<Record> read_rows(hid_t group, const std::string& path, const char* name, hid_t mem_type,
                              std::uint64_t file_bytes) {
  std::vector<Record> rows;
  const Table table = open_table(group, path, name, sizeof(Record), file_bytes);
  if (!table.dataset.valid()) return rows;
  rows.resize(static_cast<std::size_t>(table.rows));  // value-initialised: absent columns read as 0
  read_table_rows(table, path, name, mem_type, rows.data());
  return rows;
}

}  // namespace pagequery::bench::results
