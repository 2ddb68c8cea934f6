// Live updates through the host API (docs/live-updates.md): random interleavings
// of staged pages, diffs, advances and answers against the oracle of each epoch,
// for both key formats and every layout the device runs; answers beside an
// updater thread; and the refusals that leave the serving epoch unchanged.
#include "pagequery/policies/engine.hpp"

#include "pagequery/core/page_matrix.hpp"  // synthetic_word: the oracle's epoch 0

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <optional>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>
#include <unistd.h>

namespace pagequery {
namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint64_t kPages = 700;
constexpr std::uint64_t kSeed = 5;

MatrixSpec synthetic(Accumulate accumulate, std::optional<PageRange> shard = std::nullopt) {
  MatrixSpec spec;
  spec.synthetic_pages = kPages;
  spec.seed = kSeed;
  spec.accumulate = accumulate;
  spec.shard = shard;
  return spec;
}

// The layouts this device runs: lop3 everywhere, mma (bit-sliced) where it can.
std::vector<Accumulate> runnable() {
  std::vector<Accumulate> out{Accumulate::Lop3};
  try {
    Engine probe(synthetic(Accumulate::Mma));
    out.push_back(Accumulate::Mma);
  } catch (const ConfigError&) {
  }
  return out;
}

Bytes synthetic_pages() {
  Bytes out(kPages * kPageBytes);
  for (std::uint64_t p = 0; p < kPages; ++p)
    for (int v = 0; v < kVectorsPerPage; ++v)
      for (int w = 0; w < 4; ++w) {
        const std::uint32_t word = synthetic_word(SyntheticFill::Hash, kSeed, p, v, w);
        std::memcpy(out.data() + p * kPageBytes + 16 * v + 4 * w, &word, 4);
      }
  return out;
}

Bytes random_page(std::mt19937_64& gen) {
  Bytes out(kPageBytes);
  for (auto& b : out) b = static_cast<std::uint8_t>(gen());
  return out;
}

// The oracle: one key's answer over pages [first, first + count) of `pages`.
Bytes reference(const Bytes& pages, std::uint64_t first, std::uint64_t count, const DpfKey& key) {
  Bytes out(kPageBytes, 0);
  for (std::uint64_t p = first; p < first + count; ++p) {
    const Bits128 mask = dpf_evaluate(key, p);
    const auto* m = reinterpret_cast<const std::uint8_t*>(&mask);
    for (int i = 0; i < kPageBytes; ++i) out[i] ^= pages[p * kPageBytes + i] & m[i % 16];
  }
  return out;
}
Bytes reference(const Bytes& pages, std::uint64_t first, std::uint64_t count, const PackedDpfKey& key) {
  return packed_reference_answer(std::span(pages).subspan(first * kPageBytes, count * kPageBytes), first, key);
}

// Six keys (two queries) of one format for targets from `gen`; party 0 or 1.
template <class Key>
std::vector<Key> keys_for(const Engine& engine, std::mt19937_64& gen) {
  KeyRng rng(gen());
  std::vector<Key> keys;
  for (int k = 0; k < 6; ++k) {
    const std::uint64_t target = gen() % engine.info().pages;
    if constexpr (std::is_same_v<Key, DpfKey>) {
      const auto pair = engine.make_keys(target, rng);
      keys.push_back(k % 2 ? pair.party1 : pair.party0);
    } else {
      const auto pair = engine.make_packed_keys(target, rng);
      keys.push_back(k % 2 ? pair.party1 : pair.party0);
    }
  }
  return keys;
}

template <class Key>
void expect_oracle(const Bytes& got, const std::vector<Key>& keys, const Bytes& pages, std::uint64_t first,
                   std::uint64_t count, const std::string& what) {
  ASSERT_EQ(got.size(), keys.size() * kPageBytes) << what;
  for (std::size_t k = 0; k < keys.size(); ++k)
    ASSERT_TRUE(std::equal(got.begin() + k * kPageBytes, got.begin() + (k + 1) * kPageBytes,
                           reference(pages, first, count, keys[k]).begin()))
        << what << ": key " << k;
}

// Stages `n` random changes (new bytes or diffs, pages repeating) into `engine`
// and into `next`, the oracle of the coming epoch.
void stage_random(Engine& engine, Bytes& next, std::mt19937_64& gen, int n) {
  for (int i = 0; i < n; ++i) {
    const std::uint64_t page = gen() % 40 * 17 % kPages;  // few pages: repeats compose
    const Bytes bytes = random_page(gen);
    std::uint8_t* dst = next.data() + page * kPageBytes;
    if (gen() % 2) {
      engine.stage_page(page, bytes);
      std::memcpy(dst, bytes.data(), kPageBytes);
    } else {
      engine.stage_diff(page, bytes);
      for (int b = 0; b < kPageBytes; ++b) dst[b] ^= bytes[b];
    }
  }
}

template <class Key>
void check_interleavings(Accumulate accumulate, std::uint64_t seed) {
  Engine engine(synthetic(accumulate));
  Engine::Session session = engine.session();
  std::mt19937_64 gen(seed);
  Bytes serving = synthetic_pages(), next = serving;
  std::uint64_t epoch = 0;
  for (int step = 0; step < 12; ++step) {
    const std::string what = to_string(accumulate) + " step " + std::to_string(step);
    switch (gen() % 3) {
      case 0:
        stage_random(engine, next, gen, 1 + static_cast<int>(gen() % 30));
        break;
      case 1:
        ASSERT_EQ(engine.advance_epoch(), ++epoch) << what;
        serving = next;
        EXPECT_EQ(engine.staged_pages(), 0u) << what;
        break;
      default:
        break;
    }
    const std::vector<Key> keys = keys_for<Key>(engine, gen);
    const Bytes got = session.answer(PolicyConfig{}, keys);
    EXPECT_EQ(session.last_epoch(), epoch) << what;
    EXPECT_EQ(engine.epoch(), epoch) << what;
    expect_oracle(got, keys, serving, 0, kPages, what);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(EngineUpdates, InterleavingsMatchTheOracleOfTheirEpoch) {
  for (Accumulate a : runnable()) {
    check_interleavings<DpfKey>(a, 1);
    check_interleavings<PackedDpfKey>(a, 2);
  }
}

// A shard keeps its own pages' updates and checks, then drops, the others.
TEST(EngineUpdates, AShardAppliesItsOwnPages) {
  const PageRange shard{kPages, 300, 200};
  Engine engine(synthetic(Accumulate::Lop3, shard));
  std::mt19937_64 gen(7);
  Bytes pages = synthetic_pages();
  const Bytes inside = random_page(gen), outside = random_page(gen);
  engine.stage_page(350, inside);
  engine.stage_page(10, outside);
  EXPECT_EQ(engine.staged_pages(), 1u);
  EXPECT_THROW(engine.stage_page(kPages, inside), UpdateError);
  EXPECT_EQ(engine.advance_epoch(), 1u);
  std::memcpy(pages.data() + 350 * kPageBytes, inside.data(), kPageBytes);
  Engine::Session session = engine.session();
  const auto keys = keys_for<DpfKey>(engine, gen);
  expect_oracle(session.answer(PolicyConfig{}, keys), keys, pages, shard.first_page, shard.count, "shard");
}

// One thread stages and advances while another answers: each answer equals the
// oracle of the epoch it names.
struct Answered {
  std::uint64_t epoch;
  std::vector<DpfKey> keys;
  Bytes bytes;
};

// Answers until the updater is done and an answer has seen its last epoch;
// `seen` is 1 + the epoch of the latest answer (0: none yet).
std::vector<Answered> answer_until(Engine& engine, const std::atomic<bool>& done, std::atomic<std::uint64_t>& seen,
                                   std::uint64_t last, std::uint64_t seed) {
  Engine::Session session = engine.session();
  std::mt19937_64 gen(seed);
  std::vector<Answered> out;
  while (!done.load() || out.empty() || out.back().epoch < last) {
    auto keys = keys_for<DpfKey>(engine, gen);
    Bytes bytes = session.answer(PolicyConfig{}, keys);
    out.push_back({session.last_epoch(), std::move(keys), std::move(bytes)});
    seen = out.back().epoch + 1;
  }
  return out;
}

// The updater stages while answers run, and advances only once an answer has
// seen the epoch before, so that every epoch is answered.
TEST(EngineUpdates, AnswersBesideAnUpdaterNameTheirEpoch) {
  constexpr std::uint64_t kEpochs = 6;
  for (Accumulate a : runnable()) {
    Engine engine(synthetic(a));
    std::vector<Bytes> oracle{synthetic_pages()};
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> seen{0};
    std::vector<Answered> answered;
    std::thread reader([&] { answered = answer_until(engine, done, seen, kEpochs, 11); });
    std::mt19937_64 gen(12);
    for (std::uint64_t e = 1; e <= kEpochs; ++e) {
      Bytes next = oracle.back();
      stage_random(engine, next, gen, 50);
      while (seen.load() < e) std::this_thread::yield();  // epoch e - 1 answered
      EXPECT_EQ(engine.advance_epoch(), e);
      oracle.push_back(std::move(next));
    }
    done = true;
    reader.join();
    std::map<std::uint64_t, int> epochs;
    for (const Answered& r : answered) {
      ASSERT_LT(r.epoch, oracle.size());
      ++epochs[r.epoch];
      expect_oracle(r.bytes, r.keys, oracle[r.epoch], 0, kPages, to_string(a) + " epoch " + std::to_string(r.epoch));
      if (::testing::Test::HasFailure()) return;
    }
    EXPECT_EQ(epochs.size(), kEpochs + 1);
  }
}

// --- Refusals: nothing staged, the serving epoch unchanged -------------------

// A matrix file of 3 pages and 100 bytes: its last page is short.
class ShortFile {
 public:
  ShortFile() : path_(std::filesystem::temp_directory_path() / ("pq-updates-" + std::to_string(::getpid()))) {
    std::mt19937_64 gen(3);
    Bytes bytes(3 * kPageBytes + 100);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(gen());
    std::ofstream(path_, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  ~ShortFile() { std::filesystem::remove(path_); }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

void expect_refused(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "accepted; expected a refusal naming '" << needle << "'";
  } catch (const UpdateError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

TEST(EngineUpdates, RefusedUpdatesLeaveTheEpochServing) {
  const ShortFile file;
  MatrixSpec spec;
  spec.file = file.str();
  spec.accumulate = Accumulate::Lop3;
  Engine engine(spec);
  Engine::Session session = engine.session();
  std::mt19937_64 gen(4);
  const auto keys = keys_for<DpfKey>(engine, gen);
  const Bytes before = session.answer(PolicyConfig{}, keys);
  Bytes page(kPageBytes, 0);
  page[99] = 1;  // inside the short page
  expect_refused([&] { engine.stage_page(4, page); }, "page 4: outside the matrix of 4 pages");
  expect_refused([&] { engine.stage_page(1, Bytes(4095, 1)); }, "4095 bytes, a page holds 4096");
  expect_refused([&] { engine.stage_diff(0, Bytes(4097, 1)); }, "4097 bytes");
  Bytes tail = page;
  tail[100] = 7;
  expect_refused([&] { engine.stage_page(3, tail); }, "byte 100 lies past the matrix's end");
  expect_refused([&] { engine.stage_diff(3, tail); }, "byte 100 lies past the matrix's end");
  EXPECT_EQ(engine.staged_pages(), 0u);
  EXPECT_EQ(engine.epoch(), 0u);
  EXPECT_EQ(session.answer(PolicyConfig{}, keys), before);
  engine.stage_page(3, page);  // the short page with zeros past the end is fine
  EXPECT_EQ(engine.advance_epoch(), 1u);
  EXPECT_NE(session.answer(PolicyConfig{}, keys), before);
}

TEST(EngineUpdates, AnAdvanceWithNothingStagedStillAdvances) {
  Engine engine(synthetic(Accumulate::Lop3));
  Engine::Session session = engine.session();
  std::mt19937_64 gen(9);
  const auto keys = keys_for<DpfKey>(engine, gen);
  const Bytes before = session.answer(PolicyConfig{}, keys);
  EXPECT_EQ(engine.advance_epoch(), 1u);
  EXPECT_EQ(session.answer(PolicyConfig{}, keys), before);
  EXPECT_EQ(session.last_epoch(), 1u);
}

}  // namespace
}  // namespace pagequery
