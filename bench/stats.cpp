#include "bench/stats.hpp"

#include "pagequery/core/bits128.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace pagequery::bench {

std::size_t median_ci_rank(std::size_t n) {
  // P(B <= k) for B ~ Binomial(n, 1/2), summed in k while it stays within 2.5 %.
  const double log_half_n = static_cast<double>(n) * std::log(0.5);
  const double log_n_fact = std::lgamma(static_cast<double>(n) + 1);
  double cdf = 0;
  std::size_t rank = 1;
  for (std::size_t k = 0; 2 * k + 1 < n; ++k) {
    const double kd = static_cast<double>(k);
    cdf += std::exp(log_n_fact - std::lgamma(kd + 1) - std::lgamma(static_cast<double>(n) - kd + 1) + log_half_n);
    if (cdf > 0.025) break;
    rank = k + 1;
  }
  return rank;
}

bool differ(const Stats& a, const Stats& b) {
  return a.median_ci_high < b.median_ci_low || b.median_ci_high < a.median_ci_low;
}

Stats summarize(std::span<const double> samples) {
  Stats s;
  if (samples.empty()) return s;
  std::vector<double> sorted(samples.begin(), samples.end());
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  s.min = sorted.front();
  s.max = sorted.back();
  s.median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  double sum = 0;
  for (double v : sorted) sum += v;
  s.mean = sum / static_cast<double>(n);
  if (n > 1) {
    double sq = 0;
    for (double v : sorted) sq += (v - s.mean) * (v - s.mean);
    s.stddev = std::sqrt(sq / static_cast<double>(n - 1));
  }
  const std::size_t l = median_ci_rank(n);
  s.median_ci_low = sorted[l - 1];
  s.median_ci_high = sorted[n - l];
  if (n > 1 && s.median > 0) s.noise_pct = (s.median_ci_high - s.median_ci_low) / 2 / s.median * 100;
  return s;
}

void finish_row(CellRow& row, std::uint64_t local_matrix_bytes) {
  const double queries = static_cast<double>(row.queries) * static_cast<double>(row.concurrency);
  const double single_s = row.single_ms.mean / 1e3;
  const double batch_s = row.batch_ms.mean / 1e3;
  row.single_qps = single_s > 0 ? queries / single_s : 0;
  row.batch_qps = batch_s > 0 ? queries / batch_s : 0;
  row.speedup = batch_s > 0 ? single_s / batch_s : 0;
  row.bandwidth_gbs = single_s > 0 ? static_cast<double>(local_matrix_bytes) * queries / single_s / 1e9 : 0;
  const double update_s = row.update_ms.median / 1e3;
  row.update_gbs = update_s > 0 ? static_cast<double>(row.update_pages) * kPageBytes / update_s / 1e9 : 0;
}

std::string column_label(const std::string& strategy, const std::string& dpf) {
  return dpf == "morphogen" ? strategy : strategy + " (" + dpf + ")";
}

}  // namespace pagequery::bench
