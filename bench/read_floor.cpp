#include "bench/read_floor.hpp"

#include "pagequery/core/bits128.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

namespace pagequery::bench {

using namespace service;

ReadFloor measure_read_floor(const Engine& engine, const MpiContext& mpi) {
  using Clock = std::chrono::steady_clock;
  constexpr int kMin = 5, kMax = 1000;
  constexpr double kBudgetMs = 1000;
  double best = std::numeric_limits<double>::infinity(), total = 0;
  int reps = 0;
  // Every rank takes the same branches: reps is the same everywhere, and any() is collective.
  while (reps < kMin || (reps < kMax && mpi.any(total < kBudgetMs))) {
    mpi.barrier();
    const auto t0 = Clock::now();
    mpi.step([&] { engine.read_all(); });
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    best = std::min(best, ms);
    total += ms;
    ++reps;
  }
  const double bytes = static_cast<double>(engine.info().local_pages) * kPageBytes;
  return {best, best > 0 ? bytes / (best / 1e3) / 1e9 : 0, reps};
}

}  // namespace pagequery::bench
