// A consumer of the installed package: keys for pages of a synthetic matrix,
// each party's answers from the Engine, and their XOR checked against the pages
// as the matrix defines them (core/page_matrix.hpp, the Kokkos-level header).
#include <pagequery.hpp>

#include <pagequery/core/page_matrix.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

namespace {

constexpr std::uint64_t kPages = 300;  // not a power of two: the last leaves are padding
constexpr std::uint64_t kSeed = 11;

std::vector<std::uint8_t> page_bytes(std::uint64_t page) {
  std::vector<std::uint8_t> bytes(pagequery::kPageBytes);
  for (int v = 0; v < pagequery::kVectorsPerPage; ++v)
    for (int w = 0; w < 4; ++w) {
      const std::uint32_t word = pagequery::synthetic_word(pagequery::SyntheticFill::Hash, kSeed, page, v, w);
      std::memcpy(bytes.data() + 16 * v + 4 * w, &word, 4);
    }
  return bytes;
}

int run() {
  pagequery::Runtime runtime;
  pagequery::MatrixSpec spec;
  spec.synthetic_pages = kPages;
  spec.fill = pagequery::SyntheticFill::Hash;
  spec.seed = kSeed;
  const pagequery::Engine engine(spec);

  // One query: three keys (Morphogen's batch unit), for pages first, inside and last.
  const std::uint64_t targets[pagequery::kKeysPerQuery] = {0, 137, kPages - 1};
  pagequery::KeyRng rng(2024);
  std::vector<pagequery::DpfKey> party0, party1;
  for (const std::uint64_t t : targets) {
    const pagequery::DpfKeyPair pair = engine.make_keys(t, rng);
    party0.push_back(pair.party0);
    party1.push_back(pair.party1);
  }
  const pagequery::PolicyConfig policy;  // Morphogen's default: adaptive micro-batching
  pagequery::Engine::Session session = engine.session();
  const std::vector<std::uint8_t> answer0 = session.answer(policy, party0);
  const std::vector<std::uint8_t> answer1 = session.answer(policy, party1);

  int mismatches = 0;
  for (int k = 0; k < pagequery::kKeysPerQuery; ++k) {
    const std::vector<std::uint8_t> expected = page_bytes(targets[k]);
    for (int b = 0; b < pagequery::kPageBytes; ++b) {
      const std::size_t i = static_cast<std::size_t>(k) * pagequery::kPageBytes + b;
      if ((answer0[i] ^ answer1[i]) != expected[b]) {
        std::fprintf(stderr, "page %llu: the parties' answers XOR to a different page (byte %d)\n",
                     static_cast<unsigned long long>(targets[k]), b);
        ++mismatches;
        break;
      }
    }
  }
  if (mismatches != 0) return 1;
  std::printf("pagequery consumer: %s, %llu pages, %d pages recovered from both parties' answers\n",
              pagequery::Runtime::backend().c_str(), static_cast<unsigned long long>(engine.info().pages),
              pagequery::kKeysPerQuery);
  return 0;
}

}  // namespace

int main() {
  try {
    return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pagequery consumer: %s\n", e.what());
    return 1;
  }
}
