#include "bench/sweep_dpf.hpp"

#include "bench/errors.hpp"
#include "bench/key_list.hpp"
#include "bench/text.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

namespace pagequery::bench {

std::vector<DpfFormat> parse_dpf_axis(const std::string& text, Accumulate accumulate) {
  std::vector<DpfFormat> out;
  std::vector<std::string> names;
  try {
    names = split_list(text, "--dpf");
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  }
  for (const std::string& name : names) {
    DpfFormat format;
    try {
      format = parse_dpf_format(name, "--dpf");
    } catch (const std::invalid_argument& e) {
      throw InputError(e.what());
    }
    if (std::find(out.begin(), out.end(), format) != out.end())
      throw InputError("--dpf: " + name + " is listed twice");
    if (format == DpfFormat::Packed && accumulate == Accumulate::Mma)
      throw InputError("--dpf packed: --accumulate mma takes Morphogen keys only: the tensor-core kernel for "
                       "packed keys is not built yet (packed keys run with --accumulate lop3)");
    out.push_back(format);
  }
  return out;
}

int max_batch_queries(const std::vector<DpfFormat>& formats) {
  int most = 0;
  for (DpfFormat f : formats) most = std::max(most, max_batch_queries(f));
  return most;
}

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
