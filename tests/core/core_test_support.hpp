#pragma once
// Helpers shared by the Kokkos tests of the core suite. Everything here is a
// host function: device work goes through deep_copy and the library's own
// launches, so no lambda is ever defined inside a TEST body.
#include "tests/test_backends.hpp"
#include "pagequery/core/dpf.hpp"
#include "pagequery/core/page_matrix.hpp"
#include "pagequery/core/page_query.hpp"

#include <Kokkos_Core.hpp>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace pqtest {

using pagequery::Bits128;
using pagequery::DpfKey;
using pagequery::kPageBytes;
using pagequery::kVectorsPerPage;

// ---------------------------------------------------------------------------
// Host-side bytes <-> pages. A page is 4096 raw bytes; its vectors are read
// as four little-endian u32 words, exactly as a memcpy into Bits128 does.
using Page = std::vector<std::uint8_t>;  // kPageBytes bytes

inline Bits128 vector_of(const std::uint8_t* page, int v) {
  Bits128 b;
  std::memcpy(&b, page + 16 * v, 16);
  return b;
}

inline std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<std::uint8_t> out(n);
  for (std::size_t i = 0; i < n; i += 8) {
    const std::uint64_t r = gen();
    for (std::size_t b = 0; b < 8 && i + b < n; ++b) out[i + b] = static_cast<std::uint8_t>(r >> (8 * b));
  }
  return out;
}

// A matrix (or shard) on the device from host bytes: pages.size() == count * 4096.
template <class ExecSpace>
pagequery::PageMatrix<typename ExecSpace::memory_space> matrix_from_bytes(const ExecSpace& exec,
                                                                          const std::vector<std::uint8_t>& bytes,
                                                                          std::uint64_t first_page,
                                                                          std::uint64_t total_pages) {
  using MemorySpace = typename ExecSpace::memory_space;
  using View = typename pagequery::PageMatrix<MemorySpace>::view_type;
  const std::uint64_t count = bytes.size() / kPageBytes;
  View pages("pqtest::pages", count, kVectorsPerPage);
  auto host = Kokkos::create_mirror_view(pages);
  if (count) std::memcpy(host.data(), bytes.data(), bytes.size());
  Kokkos::deep_copy(exec, pages, host);
  exec.fence();
  return {pages, first_page, count, pagequery::domain_bits_for(total_pages), "test-bytes"};
}

// The matrix's pages as host bytes (count * 4096).
template <class MemorySpace>
std::vector<std::uint8_t> matrix_bytes(const pagequery::PageMatrix<MemorySpace>& matrix) {
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), matrix.view());
  std::vector<std::uint8_t> out(matrix.pages() * kPageBytes);
  if (!out.empty()) std::memcpy(out.data(), host.data(), out.size());
  return out;
}

// ---------------------------------------------------------------------------
// The kernel, as a caller would drive it, for keys of either format. Answers are
// pre-filled with garbage so that a missing zeroing pass shows up. Returns K
// answers of 4096 bytes.
template <class ExecSpace, class Key = DpfKey>
std::vector<Page> kernel_answers(const ExecSpace& exec,
                                 const pagequery::PageMatrix<typename ExecSpace::memory_space>& matrix,
                                 const std::vector<Key>& keys, const pagequery::PageQueryTuning& tuning = {}) {
  using MemorySpace = typename ExecSpace::memory_space;
  const std::size_t K = keys.size();
  Kokkos::View<Key*, MemorySpace> dkeys("pqtest::keys", K);
  auto hkeys = Kokkos::create_mirror_view(dkeys);
  for (std::size_t k = 0; k < K; ++k) hkeys(k) = keys[k];
  Kokkos::deep_copy(exec, dkeys, hkeys);

  pagequery::AnswerView<MemorySpace> answers("pqtest::answers", K, kVectorsPerPage);
  auto hgarbage = Kokkos::create_mirror_view(answers);
  for (std::size_t k = 0; k < K; ++k)
    for (int v = 0; v < kVectorsPerPage; ++v)
      hgarbage(k, v) = Bits128{
          {0xa5a5a5a5u ^ static_cast<std::uint32_t>(k), 0xdeadbeefu, static_cast<std::uint32_t>(v), 0x5a5a5a5au}};
  Kokkos::deep_copy(exec, answers, hgarbage);
  exec.fence();

  pagequery::answer_keys(exec, matrix, dkeys, answers, tuning);
  exec.fence();

  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), answers);
  std::vector<Page> out(K, Page(kPageBytes));
  for (std::size_t k = 0; k < K; ++k)
    for (int v = 0; v < kVectorsPerPage; ++v) std::memcpy(out[k].data() + 16 * v, &host(k, v), 16);
  return out;
}

// ---------------------------------------------------------------------------
// The plain scalar reference: for each local page i, mask = dpf_evaluate(key,
// first_page + i) (the full root-to-leaf walk), answer ^= page & mask per vector.
inline Page reference_answer(const std::vector<std::uint8_t>& pages, std::uint64_t first_page, const DpfKey& key) {
  Bits128 acc[kVectorsPerPage] = {};
  const std::uint64_t n = pages.size() / kPageBytes;
  for (std::uint64_t i = 0; i < n; ++i) {
    const Bits128 mask = pagequery::dpf_evaluate(key, first_page + i);
    const std::uint8_t* page = pages.data() + i * kPageBytes;
    for (int v = 0; v < kVectorsPerPage; ++v) acc[v] = acc[v] ^ (vector_of(page, v) & mask);
  }
  Page out(kPageBytes);
  std::memcpy(out.data(), acc, kPageBytes);
  return out;
}

inline std::vector<Page> reference_answers(const std::vector<std::uint8_t>& pages, std::uint64_t first_page,
                                           const std::vector<DpfKey>& keys) {
  std::vector<Page> out;
  out.reserve(keys.size());
  for (const DpfKey& key : keys) out.push_back(reference_answer(pages, first_page, key));
  return out;
}

inline Page xor_pages(const Page& a, const Page& b) {
  Page out(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) out[i] = a[i] ^ b[i];
  return out;
}

// First differing byte of two pages, for readable failures; -1 if equal.
inline long first_difference(const Page& a, const Page& b) {
  if (a.size() != b.size()) return 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return static_cast<long>(i);
  return -1;
}

}  // namespace pqtest
