#include "bench/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <iostream>

namespace pagequery::bench {

Progress::Progress(const Plan& plan, bool enabled)
    : enabled_(enabled), tty_(isatty(STDERR_FILENO) == 1), start_(Clock::now()) {
  for (const Cell& c : plan.cells) total_ += weight(c);
}

void Progress::begin(std::size_t index, std::size_t n, const std::string& strategy, const Cell& cell) {
  if (!enabled_) return;
  std::string eta = "?";
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  if (done_ > 0) eta = std::to_string(static_cast<long>(std::lround(elapsed / done_ * (total_ - done_)))) + "s";
  const std::string line = "[cell " + std::to_string(index + 1) + "/" + std::to_string(n) + "] " + strategy +
                           " Q=" + std::to_string(cell.queries) + " C=" + std::to_string(cell.concurrency) + " ETA " +
                           eta;
  if (tty_)
    std::cerr << "\r" << line << "\x1b[K" << std::flush;
  else
    std::cerr << line << '\n' << std::flush;
  open_ = tty_;
}

void Progress::finish() {
  if (open_) std::cerr << '\n' << std::flush;
  open_ = false;
}

}  // namespace pagequery::bench
