#pragma once
// The sweep's progress on stderr: "[cell i/n] <strategy> Q= C= ETA <s>", one line
// per cell, or one line rewritten in place on a terminal. The ETA weighs a cell by
// the queries it runs.
#include "bench/plan.hpp"

#include <chrono>
#include <cstddef>
#include <string>

namespace pagequery::bench {

class Progress {
 public:
  // `enabled`: this process prints (under MPI, rank 0 only).
  Progress(const Plan& plan, bool enabled);
  ~Progress() { finish(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void begin(std::size_t index, std::size_t n, const std::string& strategy, const Cell& cell);
  void end(const Cell& cell) { done_ += weight(cell); }
  // Ends a line left open on a terminal (before anything else goes to stderr).
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  static double weight(const Cell& c) { return 1.0 + double(c.queries) * c.concurrency; }

  bool enabled_;
  bool tty_;
  bool open_ = false;
  Clock::time_point start_;
  double total_ = 0, done_ = 0;
};

}  // namespace pagequery::bench
