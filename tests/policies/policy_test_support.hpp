#pragma once
// Helpers shared by the policy suites: a batch of keys and answers, the
// single-query reference every policy must match, and one policy run. Host
// functions only (no lambda inside a TEST body, which CUDA builds refuse).
#include "pagequery/policies/policy.hpp"
#include "tests/test_backends.hpp"

#include <cstring>
#include <vector>

namespace pagequery::policytest {

template <class ExecSpace>
using Matrix = PageMatrix<typename ExecSpace::memory_space>;

template <class ExecSpace>
struct Batch {
  Kokkos::View<DpfKey*, typename ExecSpace::memory_space> keys;
  AnswerView<typename ExecSpace::memory_space> answers;
};

// `keys` party-0 keys for targets spread over [0, total_pages): pages of other
// shards are targets too.
template <class ExecSpace>
Batch<ExecSpace> make_keys(int domain_bits, std::uint64_t total_pages, int keys, std::uint64_t seed) {
  KeyRng rng(seed);
  Batch<ExecSpace> b{Kokkos::View<DpfKey*, typename ExecSpace::memory_space>("keys", keys),
                     AnswerView<typename ExecSpace::memory_space>("answers", keys, kVectorsPerPage)};
  auto host = Kokkos::create_mirror_view(b.keys);
  for (int k = 0; k < keys; ++k)
    host(k) = generate_dpf_keys(domain_bits, (seed * 31 + k * 17) % total_pages, rng).party0;
  Kokkos::deep_copy(b.keys, host);
  return b;
}

template <class ExecSpace>
Batch<ExecSpace> make_batch(const Matrix<ExecSpace>& m, int queries, std::uint64_t seed) {
  return make_keys<ExecSpace>(m.domain_bits(), m.pages(), kKeysPerQuery * queries, seed);
}

template <class ExecSpace>
std::vector<std::uint8_t> answer_bytes(const ExecSpace& exec, const AnswerView<typename ExecSpace::memory_space>& a) {
  exec.fence();
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a);
  std::vector<std::uint8_t> out(host.size() * sizeof(Bits128));
  std::memcpy(out.data(), host.data(), out.size());
  return out;
}

template <class ExecSpace>
void poison(const ExecSpace& exec, const Batch<ExecSpace>& b) {
  Kokkos::deep_copy(exec, b.answers, Bits128{{0xdeadbeef, 1, 2, 3}});
}

// The reference every policy must match: one launch per query.
template <class ExecSpace>
std::vector<std::uint8_t> single_query_loop(const ExecSpace& exec, const Matrix<ExecSpace>& m,
                                            const Batch<ExecSpace>& b) {
  poison(exec, b);
  const int q = static_cast<int>(b.keys.extent(0) / kKeysPerQuery);
  for (int i = 0; i < q; ++i) {
    const auto rows = std::make_pair(kKeysPerQuery * i, kKeysPerQuery * (i + 1));
    answer_keys(exec, m, Kokkos::subview(b.keys, rows), Kokkos::subview(b.answers, rows, Kokkos::ALL));
  }
  return answer_bytes(exec, b.answers);
}

template <class ExecSpace>
std::vector<std::uint8_t> run_policy(const ExecSpace& exec, BatchPolicy<ExecSpace>& policy, const Matrix<ExecSpace>& m,
                                     const Batch<ExecSpace>& b) {
  poison(exec, b);
  policy.run(exec, m, b.keys, b.answers);
  return answer_bytes(exec, b.answers);
}

}  // namespace pagequery::policytest
