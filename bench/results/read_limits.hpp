#pragma once
// How much a read of a results file may allocate. Declared sizes are checked
// against it before anything is allocated: a small file can declare rows that
// take GBs in memory. Plain C++ (no HDF5 in the interface).
#include <cstdint>
#include <string>

namespace pagequery::bench::results {

// The memory available (core/memory_budget.hpp), and the room left under the
// address-space and data-segment limits (RLIMIT_AS, RLIMIT_DATA), which end a
// process with bad_alloc long before memory runs out.
std::uint64_t memory_for_reading();

// Refuses (StoreError naming `path`) `count` elements of `element_bytes` each in
// memory that memory_for_reading() cannot take with its headroom.
void check_in_memory(const std::string& path, const std::string& what, std::uint64_t count,
                     std::uint64_t element_bytes);

}  // namespace pagequery::bench::results
