#pragma once
// A run's metadata as attributes of its HDF5 group, written in creation order and
// read back in it.
#include "bench/results/hdf5.hpp"
#include "bench/results/record.hpp"

#include <cstdint>
#include <string>

namespace pagequery::bench::results {

// Writes (or rewrites) one attribute of `obj`. An attribute of the same name is
// rewritten in place when its type and shape fit, so that the creation order of
// attributes survives checkpoints; otherwise it is replaced.
void write_attribute(hid_t obj, const std::string& path, const Attribute& attr);

// Appends the attributes of `group` to run.attributes, in creation order (in name
// order when the group does not track it). Strings, integers, lists of either and
// doubles are read; anything else is not ours and left out. Declared sizes beyond
// `file_bytes` are refused (StoreError) before anything is allocated.
void read_attributes(hid_t group, RunRecord& run, const std::string& path, std::uint64_t file_bytes);

}  // namespace pagequery::bench::results
