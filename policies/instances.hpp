#pragma once
// Disjoint execution-space instances (partition_space) for multi_stream and for
// concurrent sessions: work meant to overlap never silently shares one instance.
#include "pagequery/policies/policy_config.hpp"

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace pagequery {

namespace detail {
template <class ExecSpace>
std::vector<ExecSpace> partition(const ExecSpace& parent, int count) {
  return Kokkos::Experimental::partition_space(parent, std::vector<int>(count, 1));
}

#if defined(KOKKOS_ENABLE_OPENMP) && KOKKOS_VERSION_GREATER_EQUAL(5, 0, 0)
// Since Kokkos 5.0, OpenMP partition_space makes new instances only while nested
// OpenMP is enabled (max active levels > 1); otherwise it returns copies of the
// default instance. Our partitions run side by side from separate host threads,
// each at level 0, which needs no nesting: it is enabled for the call alone.
inline std::vector<Kokkos::OpenMP> partition(const Kokkos::OpenMP& parent, int count) {
  const int levels = omp_get_max_active_levels();
  omp_set_max_active_levels(std::max(levels, 2));
  auto out = Kokkos::Experimental::partition_space(parent, std::vector<int>(count, 1));
  omp_set_max_active_levels(levels);
  return out;
}
#endif
}  // namespace detail

// `count` instances from partition_space(parent), distinct from each other and
// from parent, or a ConfigError (e.g. an OpenMP runtime without nested levels).
template <class ExecSpace>
std::vector<ExecSpace> disjoint_instances(const ExecSpace& parent, int count) {
  std::vector<ExecSpace> out = detail::partition(parent, count);
  for (auto it = out.begin(); it != out.end(); ++it)
    if (*it == parent || std::find(out.begin(), it, *it) != it)
      throw ConfigError(std::string(ExecSpace::name()) + " partition_space gave " + std::to_string(count) +
                        " instances that are not disjoint (OpenMP needs nested parallelism for them, "
                        "outside a parallel region); they would silently run as one");
  return out;
}

}  // namespace pagequery
