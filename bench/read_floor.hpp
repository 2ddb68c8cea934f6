#pragma once
// The sweep's read floor: a plain streaming read of the same matrix on the same
// device, the physical limit of a one-pass scan, that `report` divides every
// cell's time by.
#include "service/mpi_context.hpp"

#include "pagequery/policies/engine.hpp"

namespace pagequery::bench {

struct ReadFloor {
  double ms = 0;        // the fastest read
  double gbs = 0;       // the engine's local matrix bytes per second then, in GB/s (1e9)
  int repetitions = 0;  // reads timed
};

// Times reads of the engine's matrix (Engine::read_all): at least 5, and more
// until a second of reading, at most 1000 (a small matrix reads in well under a
// millisecond, where one preempted read says nothing). Under MPI all ranks read
// together: a read runs from a barrier to the agreement after every rank's read,
// so it is the slowest rank's.
ReadFloor measure_read_floor(const Engine& engine, const service::MpiContext& mpi);

}  // namespace pagequery::bench
