// Packed DPF keys (issue 14): the point function over every leaf, party XOR =
// beta, pinned bytes from the independent Python derivation (data/make_fixture.py),
// round trips, every refusal, and format detection.
#include "pagequery/core/dpf_packed.hpp"
#include "pagequery/core/matrix_shape.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using pagequery::Bits128;
using pagequery::DpfFormat;
using pagequery::KeyError;
using pagequery::KeyRng;
using pagequery::PackedDpfKey;
using pagequery::PackedDpfKeyPair;

std::string hex(std::span<const std::uint8_t> bytes) {
  std::string out;
  char buf[3];
  for (std::uint8_t b : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    out += buf;
  }
  return out;
}

std::string hex(const Bits128& b) {
  std::vector<std::uint8_t> bytes;
  for (std::uint32_t w : b.w)
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<std::uint8_t>(w >> (8 * i)));
  return hex(bytes);
}

std::vector<std::uint8_t> from_hex(const std::string& h) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoul(h.substr(i, 2), nullptr, 16)));
  return out;
}

Bits128 beta(std::uint64_t page) {
  Bits128 b{{0, 0, 0, 0}};
  b.w[(page & 127) / 32] = 1u << (page % 32);
  return b;
}

// Every leaf of the domain: party 0 XOR party 1 is beta at the target's leaf and
// zero elsewhere; returns false at the first failure (reported).
bool point_function_everywhere(const PackedDpfKeyPair& pair, std::uint64_t page) {
  const int d = pair.party0.domain_bits;
  for (std::uint64_t leaf = 0; leaf < (std::uint64_t{1} << d); ++leaf) {
    const Bits128 got = pagequery::dpf_evaluate(pair.party0, leaf) ^ pagequery::dpf_evaluate(pair.party1, leaf);
    const Bits128 want = leaf == page >> 7 ? beta(page) : Bits128{{0, 0, 0, 0}};
    if (!(got == want)) {
      ADD_FAILURE() << "d=" << d << " page " << page << " leaf " << leaf << ": got " << hex(got) << ", want "
                    << hex(want);
      return false;
    }
  }
  return true;
}

// --- The point function ------------------------------------------------------

TEST(PackedDpf, PointFunctionOverEveryLeaf) {
  KeyRng rng(1);
  std::mt19937_64 pick(2);
  for (int d = 1; d <= 12; ++d) {
    const std::uint64_t pages = std::uint64_t{128} << d;
    std::vector<std::uint64_t> targets = {0, pages - 1, pages / 2, pages / 2 - 1, 127, 128};
    for (int n = 0; n < 4; ++n) targets.push_back(pick() % pages);
    for (std::uint64_t x : targets)
      if (!point_function_everywhere(pagequery::generate_packed_keys(d, x, rng), x)) return;
  }
}

// Every bit position of a leaf: beta has exactly the target's bit (little-endian words).
TEST(PackedDpf, PartiesXorToBetaForEveryBit) {
  KeyRng rng(3);
  for (std::uint64_t x = 0; x < 256; ++x) {
    const PackedDpfKeyPair pair = pagequery::generate_packed_keys(1, x, rng);
    const Bits128 leaf = pagequery::dpf_evaluate(pair.party0, x >> 7) ^ pagequery::dpf_evaluate(pair.party1, x >> 7);
    EXPECT_EQ(hex(leaf), hex(beta(x))) << "page " << x;
    for (std::uint64_t p = (x >> 7) << 7; p < ((x >> 7) + 1) << 7; ++p)
      EXPECT_EQ(pagequery::packed_selects(pair.party0, p) != pagequery::packed_selects(pair.party1, p), p == x)
          << "target " << x << " page " << p;
  }
}

TEST(PackedDpf, SharesLookRandomAndHeadersAreSet) {
  KeyRng rng(4);
  const PackedDpfKeyPair pair = pagequery::generate_packed_keys(8, 12345, rng);
  std::set<std::uint32_t> words;
  for (std::uint64_t leaf = 0; leaf < 256; ++leaf) words.insert(pagequery::dpf_evaluate(pair.party0, leaf).w[1]);
  EXPECT_GT(words.size(), 250u);
  EXPECT_EQ(pair.party0.root_t, 0);
  EXPECT_EQ(pair.party1.root_t, 1);
  EXPECT_EQ(pair.party0.party, 0);
  EXPECT_EQ(pair.party1.party, 1);
  EXPECT_EQ(pair.party0.domain_bits, 8);
  EXPECT_FALSE(pair.party0.root_seed == pair.party1.root_seed);
  // Half the pages of a share are selected, about.
  int selected = 0;
  for (std::uint64_t p = 0; p < 4096; ++p) selected += pagequery::packed_selects(pair.party0, p);
  EXPECT_GT(selected, 1800);
  EXPECT_LT(selected, 2300);
}

// The PRG is one ChaCha8 block of key seed || seed (values from the Python port).
TEST(PackedDpf, PrgIsOneChaCha8Block) {
  const pagequery::PrgChildren c = pagequery::packed_prg_expand(Bits128{{0, 1, 2, 3}});
  EXPECT_EQ(hex(c.left), hex(Bits128{{192225323u, 8649479u, 246964206u, 260589891u}}));
  EXPECT_EQ(hex(c.right), hex(Bits128{{1310625575u, 1496310400u, 2510473141u, 799648039u}}));
  EXPECT_EQ(c.t_left, 0);
  EXPECT_EQ(c.t_right, 0);
  std::uint32_t block[16];
  const std::uint32_t key[8] = {7, 8, 9, 10, 7, 8, 9, 10}, nonce[3] = {0, 0, 0};
  pagequery::chacha_block<8>(key, 0, nonce, block);
  const pagequery::PrgChildren d = pagequery::packed_prg_expand(Bits128{{7, 8, 9, 10}});
  EXPECT_EQ(d.t_left, block[8] & 1u);
  EXPECT_EQ(d.t_right, block[9] & 1u);
  EXPECT_EQ(d.left.w[0], block[0]);
  EXPECT_EQ(d.right.w[3], block[7]);
}

// Bytes of generate_packed_keys(2, 300, KeyRng(42)) and the leaves they evaluate
// to, from data/make_fixture.py (its own ChaCha, KeyRng and key generation).
TEST(PackedDpf, GoldenKeysFromTheIndependentDerivation) {
  const std::string golden0 =
      "505150319b9554490a4dd0e598a1c8163d439527000002574221f2f7db4b1e7b58499ced389d920101d95c31fb46bbfc5cd7e7"
      "461c262d23b20101cc650ad7332f2d4b585013c7c73e1d27";
  const std::string golden1 =
      "50515031ca4089567c61a44959319e1d6cf2eab1010102574221f2f7db4b1e7b58499ced389d920101d95c31fb46bbfc5cd7e7"
      "461c262d23b20101cc650ad7332f2d4b585013c7c73e1d27";
  KeyRng rng(42);
  const PackedDpfKeyPair pair = pagequery::generate_packed_keys(2, 300, rng);
  EXPECT_EQ(hex(pagequery::to_bytes(pair.party0)), golden0);
  EXPECT_EQ(hex(pagequery::to_bytes(pair.party1)), golden1);
  const char* const leaves0[4] = {"b3e6ae2f63da960393b6cfd9949dc8f7", "6593aeb2e00336be2ee967ac0cb78e65",
                                  "abd1bfcd69648acbe05f922a32fdda34", "c979e541f8c4a1e2dcaa2927ef62a415"};
  const PackedDpfKey k1 = pagequery::packed_key_from_bytes(from_hex(golden1));
  for (int leaf = 0; leaf < 4; ++leaf) {
    EXPECT_EQ(hex(pagequery::dpf_evaluate(pair.party0, leaf)), leaves0[leaf]) << leaf;
    std::string want1 = leaves0[leaf];
    if (leaf == 2) want1[10] = '7';  // bit 300 & 127 = 44: byte 5, bit 4
    EXPECT_EQ(hex(pagequery::dpf_evaluate(k1, leaf)), want1) << leaf;
  }
}

// --- Key bytes -----------------------------------------------------------------

TEST(PackedKeyBytes, SizeIsNeverAMorphogenSize) {
  for (int d = 1; d <= pagequery::kMaxPackedDomainBits; ++d) {
    EXPECT_EQ(pagequery::packed_key_size(d), 39u + 18u * d);
    for (int m = 1; m <= pagequery::kMaxDomainBits; ++m)
      EXPECT_NE(pagequery::packed_key_size(d), pagequery::dpf_key_size(m));
  }
}

TEST(PackedKeyBytes, RoundTripAndLayout) {
  KeyRng rng(5);
  for (int d : {1, 2, 7, 18, 25}) {
    const std::uint64_t x = (std::uint64_t{128} << d) - 1 - d;
    const PackedDpfKeyPair pair = pagequery::generate_packed_keys(d, x, rng);
    for (const PackedDpfKey* key : {&pair.party0, &pair.party1}) {
      const std::vector<std::uint8_t> bytes = pagequery::to_bytes(*key);
      ASSERT_EQ(bytes.size(), 39u + 18u * d);
      EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "PQP1");
      for (int i = 0; i < 16; ++i)
        EXPECT_EQ(bytes[4 + i], static_cast<std::uint8_t>(key->root_seed.w[i / 4] >> (8 * (i % 4))));
      EXPECT_EQ(bytes[20], key->root_t);
      EXPECT_EQ(bytes[21], key->party);
      EXPECT_EQ(bytes[22], d);
      for (int l = 0; l < d; ++l) {
        const std::size_t at = 23 + 18 * static_cast<std::size_t>(l);
        EXPECT_EQ(bytes[at], static_cast<std::uint8_t>(key->cw[l].seed.w[0]));
        EXPECT_EQ(bytes[at + 16], key->cw[l].t_left);
        EXPECT_EQ(bytes[at + 17], key->cw[l].t_right);
      }
      EXPECT_EQ(bytes[bytes.size() - 1], static_cast<std::uint8_t>(key->final_cw.w[3] >> 24));
      const PackedDpfKey back = pagequery::packed_key_from_bytes(bytes);
      EXPECT_EQ(pagequery::to_bytes(back), bytes);
      for (std::uint64_t leaf : {std::uint64_t{0}, x >> 7, (std::uint64_t{1} << d) - 1})
        EXPECT_TRUE(pagequery::dpf_evaluate(back, leaf) == pagequery::dpf_evaluate(*key, leaf));
    }
  }
}

std::vector<std::uint8_t> valid_bytes(int d) {
  KeyRng rng(6);
  return pagequery::to_bytes(pagequery::generate_packed_keys(d, 1, rng).party1);
}

void expect_refused(const std::vector<std::uint8_t>& bytes, const std::string& message) {
  try {
    pagequery::packed_key_from_bytes(bytes);
    ADD_FAILURE() << "accepted " << bytes.size() << " bytes; expected: " << message;
  } catch (const KeyError& e) {
    EXPECT_EQ(std::string(e.what()), message);
  }
}

TEST(PackedKeyBytes, EveryRefusal) {
  const std::vector<std::uint8_t> good = valid_bytes(3);  // 93 bytes
  ASSERT_NO_THROW(pagequery::packed_key_from_bytes(good));
  auto with = [&](std::size_t at, std::uint8_t value) {
    std::vector<std::uint8_t> b = good;
    b[at] = value;
    return b;
  };
  const std::string magic = "packed DPF key: does not start with the magic PQP1";
  expect_refused({}, magic);
  expect_refused({'P', 'Q', 'P'}, magic);
  expect_refused(with(0, 'p'), magic);
  expect_refused(with(3, '2'), magic);
  expect_refused({'P', 'Q', 'P', '1'}, "packed DPF key: 4 bytes is shorter than the 23-byte header");
  expect_refused(std::vector<std::uint8_t>(good.begin(), good.begin() + 22),
                 "packed DPF key: 22 bytes is shorter than the 23-byte header");
  expect_refused(with(22, 0), "packed DPF key: leaf bits must be in 1..25, got 0");
  expect_refused(with(22, 26), "packed DPF key: leaf bits must be in 1..25, got 26");
  expect_refused(with(22, 4), "packed DPF key: expected 111 bytes for 4 leaf bits, got 93");
  expect_refused(std::vector<std::uint8_t>(good.begin(), good.end() - 1),
                 "packed DPF key: expected 93 bytes for 3 leaf bits, got 92");
  std::vector<std::uint8_t> longer = good;
  longer.push_back(0);
  expect_refused(longer, "packed DPF key: expected 93 bytes for 3 leaf bits, got 94");
  expect_refused(with(20, 2), "packed DPF key: root t byte must be 0 or 1, got 2");
  expect_refused(with(21, 255), "packed DPF key: party byte must be 0 or 1, got 255");
  expect_refused(with(23 + 16, 2), "packed DPF key: t_cw_left byte must be 0 or 1, got 2");
  expect_refused(with(23 + 2 * 18 + 17, 7), "packed DPF key: t_cw_right byte must be 0 or 1, got 7");
}

TEST(PackedKeyBytes, GenerationRefusals) {
  KeyRng rng(7);
  EXPECT_THROW(pagequery::generate_packed_keys(0, 0, rng), KeyError);
  EXPECT_THROW(pagequery::generate_packed_keys(26, 0, rng), KeyError);
  EXPECT_THROW(pagequery::generate_packed_keys(1, 256, rng), KeyError);
  EXPECT_THROW(pagequery::generate_packed_keys(25, std::uint64_t{1} << 32, rng), KeyError);
  EXPECT_NO_THROW(pagequery::generate_packed_keys(25, (std::uint64_t{1} << 32) - 1, rng));
  EXPECT_NO_THROW(pagequery::generate_packed_keys(1, 255, rng));
}

TEST(PackedKeyBytes, FormatDetection) {
  KeyRng rng(8);
  for (int d = 1; d <= 25; ++d) {
    const std::vector<std::uint8_t> packed = pagequery::to_bytes(pagequery::generate_packed_keys(d, 0, rng).party0);
    const std::vector<std::uint8_t> morphogen = pagequery::to_bytes(pagequery::generate_dpf_keys(d, 0, rng).party0);
    EXPECT_EQ(pagequery::key_format_of(packed), DpfFormat::Packed) << d;
    EXPECT_EQ(pagequery::key_format_of(morphogen), DpfFormat::Morphogen) << d;
    // A Morphogen key whose root happens to start with "PQP1" is still Morphogen (its length says so).
    std::vector<std::uint8_t> lookalike = morphogen;
    std::copy(packed.begin(), packed.begin() + 4, lookalike.begin());
    EXPECT_EQ(pagequery::key_format_of(lookalike), DpfFormat::Morphogen) << d;
    // Truncated keys: the magic decides, so the right parser explains the length.
    EXPECT_EQ(pagequery::key_format_of(std::span(packed).first(packed.size() - 1)), DpfFormat::Packed);
    EXPECT_EQ(pagequery::key_format_of(std::span(morphogen).first(morphogen.size() - 1)), DpfFormat::Morphogen);
  }
  // A packed length with a broken magic goes to the packed parser, which names the magic.
  std::vector<std::uint8_t> broken = valid_bytes(2);
  broken[0] = 'X';
  EXPECT_EQ(pagequery::key_format_of(broken), DpfFormat::Packed);
  EXPECT_EQ(pagequery::key_format_of({}), DpfFormat::Morphogen);
  EXPECT_EQ(pagequery::to_string(DpfFormat::Packed), "packed");
  EXPECT_EQ(pagequery::to_string(DpfFormat::Morphogen), "morphogen");
}

// --- Domain -------------------------------------------------------------------

TEST(PackedDpf, LeafBitsOfAMatrix) {
  const auto formula = [](std::uint64_t pages) {
    const std::uint64_t leaves = (pages + 127) / 128;
    int d = 0;
    while ((std::uint64_t{1} << d) < leaves) ++d;
    return std::max(1, d);
  };
  for (std::uint64_t n : {1ull, 2ull, 6ull, 127ull, 128ull, 129ull, 255ull, 256ull, 257ull, 512ull, 4096ull, 4097ull,
                          16'830'000ull, (1ull << 31) + 1, 1ull << 32})
    EXPECT_EQ(pagequery::packed_domain_bits(n), formula(n)) << n;
  EXPECT_EQ(pagequery::packed_domain_bits(1ull << 32), 25);
  EXPECT_EQ(pagequery::packed_domain_bits(16'830'000ull), 18);
  EXPECT_THROW(pagequery::packed_domain_bits(0), pagequery::MatrixError);
  EXPECT_THROW(pagequery::packed_domain_bits((1ull << 32) + 1), pagequery::MatrixError);
}

TEST(PackedDpf, ReferenceAnswerIsTheXorOfSelectedPages) {
  KeyRng rng(9);
  std::vector<std::uint8_t> pages(300 * pagequery::kPageBytes);
  std::mt19937_64 fill(10);
  for (std::uint8_t& b : pages) b = static_cast<std::uint8_t>(fill());
  const PackedDpfKeyPair pair = pagequery::generate_packed_keys(2, 257, rng);
  const auto a = pagequery::packed_reference_answer(pages, 0, pair.party0);
  const auto b = pagequery::packed_reference_answer(pages, 0, pair.party1);
  for (int i = 0; i < pagequery::kPageBytes; ++i) ASSERT_EQ(a[i] ^ b[i], pages[257 * pagequery::kPageBytes + i]) << i;
  // A shard starting at page 256 holds the target as its page 1.
  const std::vector<std::uint8_t> shard(pages.begin() + 256 * pagequery::kPageBytes, pages.end());
  const auto sa = pagequery::packed_reference_answer(shard, 256, pair.party0);
  const auto sb = pagequery::packed_reference_answer(shard, 256, pair.party1);
  for (int i = 0; i < pagequery::kPageBytes; ++i) ASSERT_EQ(sa[i] ^ sb[i], shard[pagequery::kPageBytes + i]) << i;
}

}  // namespace
