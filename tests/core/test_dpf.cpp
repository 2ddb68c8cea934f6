// Morphogen's ChaCha8 DPF: point-function correctness, key bytes, rejections,
// key generation against the reference algorithm, and the key RNG.
#include "pagequery/core/dpf.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using pagequery::Bits128;
using pagequery::DpfKey;
using pagequery::DpfKeyPair;
using pagequery::KeyError;
using pagequery::KeyRng;

const Bits128 kZero{{0, 0, 0, 0}};
const Bits128 kOnes{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}};

std::string hex(const Bits128& b) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x %08x %08x %08x", b.w[0], b.w[1], b.w[2], b.w[3]);
  return buf;
}

Bits128 point(const DpfKeyPair& pair, std::uint64_t i) {
  return pagequery::dpf_evaluate(pair.party0, i) ^ pagequery::dpf_evaluate(pair.party1, i);
}

void expect_point_function(const DpfKeyPair& pair, std::uint64_t target, std::uint64_t i) {
  const Bits128 got = point(pair, i);
  const Bits128& want = i == target ? kOnes : kZero;
  EXPECT_TRUE(got == want) << "d=" << int(pair.party0.domain_bits) << " target=" << target << " index=" << i << " got "
                           << hex(got);
}

void expect_same_key(const DpfKey& a, const DpfKey& b) {
  EXPECT_TRUE(a.root_seed == b.root_seed);
  EXPECT_EQ(a.root_t, b.root_t);
  EXPECT_EQ(a.party, b.party);
  ASSERT_EQ(a.domain_bits, b.domain_bits);
  for (int l = 0; l < a.domain_bits; ++l) {
    EXPECT_TRUE(a.cw[l].seed == b.cw[l].seed) << "level " << l;
    EXPECT_EQ(a.cw[l].t_left, b.cw[l].t_left) << "level " << l;
    EXPECT_EQ(a.cw[l].t_right, b.cw[l].t_right) << "level " << l;
  }
  EXPECT_TRUE(a.final_cw == b.final_cw);
}

// --- Point function -------------------------------------------------------

// Every index of every domain of 1..10 bits: all targets up to 6 bits, the
// extremes plus random targets above.
TEST(Dpf, PointFunctionFullDomainSmall) {
  KeyRng rng(1);
  std::mt19937_64 pick(7);
  for (int d = 1; d <= 10; ++d) {
    const std::uint64_t size = std::uint64_t{1} << d;
    std::vector<std::uint64_t> targets;
    if (d <= 6) {
      for (std::uint64_t x = 0; x < size; ++x) targets.push_back(x);
    } else {
      targets = {0, size - 1, size / 2, size / 2 - 1};
      for (int n = 0; n < 4; ++n) targets.push_back(pick() % size);
    }
    for (std::uint64_t x : targets) {
      const DpfKeyPair pair = pagequery::generate_dpf_keys(d, x, rng);
      for (std::uint64_t i = 0; i < size; ++i) expect_point_function(pair, x, i);
      if (::testing::Test::HasFailure()) return;  // one broken domain is enough output
    }
  }
}

// Random targets up to 20 bits (and the 25- and 32-bit extremes): the target,
// its neighbours, the domain's ends, the index differing in the top bit, and
// random indices.
TEST(Dpf, PointFunctionSpotChecksLargeDomains) {
  KeyRng rng(2);
  std::mt19937_64 pick(11);
  for (int d : {11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 25, 32}) {
    const std::uint64_t size = std::uint64_t{1} << d;
    for (int n = 0; n < 3; ++n) {
      const std::uint64_t x = n == 0 ? size - 1 : pick() % size;
      const DpfKeyPair pair = pagequery::generate_dpf_keys(d, x, rng);
      std::set<std::uint64_t> indices = {x, 0, size - 1, x ^ (size >> 1), x ^ 1};
      if (x > 0) indices.insert(x - 1);
      if (x + 1 < size) indices.insert(x + 1);
      for (int r = 0; r < 12; ++r) indices.insert(pick() % size);
      for (std::uint64_t i : indices) expect_point_function(pair, x, i);
    }
  }
}

// Each party's masks look random: the off-target masks of the two parties are
// equal to each other but not constant over the domain.
TEST(Dpf, SharesAreNotTrivial) {
  KeyRng rng(3);
  const DpfKeyPair pair = pagequery::generate_dpf_keys(8, 77, rng);
  std::set<std::uint32_t> first_words;
  for (std::uint64_t i = 0; i < 256; ++i) first_words.insert(pagequery::dpf_evaluate(pair.party0, i).w[0]);
  EXPECT_GT(first_words.size(), 250u);
  EXPECT_EQ(pair.party0.root_t, 0);
  EXPECT_EQ(pair.party1.root_t, 1);
  EXPECT_EQ(pair.party0.party, 0);
  EXPECT_EQ(pair.party1.party, 1);
  EXPECT_EQ(pair.party0.domain_bits, 8);
  EXPECT_EQ(pair.party1.domain_bits, 8);
  EXPECT_FALSE(pair.party0.root_seed == pair.party1.root_seed);
}

// Key generation is Morphogen's algorithm: recompute every correction word
// from the generated roots with the reference page's steps.
DpfKeyPair reference_keys(int d, std::uint64_t x, const Bits128& root0, const Bits128& root1) {
  DpfKeyPair p{};
  p.party0.root_seed = root0;
  p.party1.root_seed = root1;
  p.party0.root_t = 0;
  p.party1.root_t = 1;
  p.party0.party = 0;
  p.party1.party = 1;
  p.party0.domain_bits = p.party1.domain_bits = static_cast<std::uint8_t>(d);
  Bits128 s[2] = {root0, root1};
  std::uint8_t t[2] = {0, 1};
  for (int l = 0; l < d; ++l) {
    const int bit = static_cast<int>((x >> (d - 1 - l)) & 1);
    Bits128 keep[2], lose[2];
    std::uint8_t keep_t[2], lose_t[2];
    for (int q = 0; q < 2; ++q) {
      const pagequery::PrgChildren e = pagequery::prg_expand(s[q]);
      keep[q] = bit ? e.right : e.left;
      lose[q] = bit ? e.left : e.right;
      keep_t[q] = bit ? e.t_right : e.t_left;
      lose_t[q] = bit ? e.t_left : e.t_right;
    }
    const Bits128 seed_cw = lose[0] ^ lose[1];
    const std::uint8_t t_keep = keep_t[0] ^ keep_t[1] ^ t[0] ^ t[1];
    const std::uint8_t t_lose = lose_t[0] ^ lose_t[1] ^ t[0] ^ t[1] ^ 1;
    pagequery::CorrectionWord cw{seed_cw, bit ? t_lose : t_keep, bit ? t_keep : t_lose};
    p.party0.cw[l] = p.party1.cw[l] = cw;
    for (int q = 0; q < 2; ++q) {
      const std::uint8_t old_t = t[q];
      s[q] = keep[q];
      t[q] = keep_t[q];
      if (old_t) {
        s[q] = s[q] ^ seed_cw;
        t[q] ^= t_keep;
      }
    }
  }
  p.party0.final_cw = p.party1.final_cw = s[0] ^ s[1] ^ kOnes;
  return p;
}

TEST(Dpf, KeyGenerationFollowsMorphogen) {
  KeyRng rng(4);
  std::mt19937_64 pick(5);
  for (int d : {1, 2, 5, 13, 25, 32}) {
    for (int n = 0; n < 3; ++n) {
      const std::uint64_t x = pick() % (std::uint64_t{1} << d);
      const DpfKeyPair got = pagequery::generate_dpf_keys(d, x, rng);
      const DpfKeyPair want = reference_keys(d, x, got.party0.root_seed, got.party1.root_seed);
      expect_same_key(got.party0, want.party0);
      expect_same_key(got.party1, want.party1);
    }
  }
}

// A known answer computed outside this code base: an independent Python port
// of Morphogen's generate_chacha_dpf_keys / ChaChaKey::eval / to_bytes, with
// roots 00 01 .. 0f (party 0) and 10 11 .. 1f (party 1), d = 4, target 11.
const char* const kGoldenKey0 =
    "000102030405060708090a0b0c0d0e0f000004316b3a3efda5711f12854874ead22aeb00010ebd203bb12003"
    "96b18c16025e7fffc00100d10118ae41ec106cda1c515df196571801006ad19ce4e04d48e55c6fb85046849e"
    "9f00014851b7628d26e0b555c2b40eea1e100d";
const char* const kGoldenKey1 =
    "101112131415161718191a1b1c1d1e1f010104316b3a3efda5711f12854874ead22aeb00010ebd203bb12003"
    "96b18c16025e7fffc00100d10118ae41ec106cda1c515df196571801006ad19ce4e04d48e55c6fb85046849e"
    "9f00014851b7628d26e0b555c2b40eea1e100d";

std::vector<std::uint8_t> from_hex(const std::string& h) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoul(h.substr(i, 2), nullptr, 16)));
  return out;
}

TEST(Dpf, GoldenKeyEvaluation) {
  const std::vector<std::uint8_t> b0 = from_hex(kGoldenKey0), b1 = from_hex(kGoldenKey1);
  ASSERT_EQ(b0.size(), pagequery::dpf_key_size(4));
  const DpfKey k0 = pagequery::dpf_key_from_bytes(b0);
  const DpfKey k1 = pagequery::dpf_key_from_bytes(b1);
  EXPECT_EQ(pagequery::to_bytes(k0), b0);
  EXPECT_EQ(pagequery::to_bytes(k1), b1);

  // The keys are exactly what generate_dpf_keys' algorithm gives for these roots.
  const DpfKeyPair want = reference_keys(4, 11, k0.root_seed, k1.root_seed);
  expect_same_key(k0, want.party0);
  expect_same_key(k1, want.party1);

  struct Row {
    std::uint64_t index;
    Bits128 mask0, mask1;
  };
  const Row rows[] = {
      {0,
       {{0xab841c2cu, 0x25b161e8u, 0x23fabf27u, 0x6176a076u}},
       {{0xab841c2cu, 0x25b161e8u, 0x23fabf27u, 0x6176a076u}}},
      {5,
       {{0xa5648365u, 0xbde5e3dcu, 0xa2a3d5f0u, 0xdf77ee40u}},
       {{0xa5648365u, 0xbde5e3dcu, 0xa2a3d5f0u, 0xdf77ee40u}}},
      {11,
       {{0x6d0cb72du, 0x07a80736u, 0x417f0e2du, 0x18a43e1au}},
       {{0x92f348d2u, 0xf857f8c9u, 0xbe80f1d2u, 0xe75bc1e5u}}},
      {15,
       {{0xe7b442d1u, 0x214ab62au, 0x4ec94515u, 0xd055b9afu}},
       {{0xe7b442d1u, 0x214ab62au, 0x4ec94515u, 0xd055b9afu}}},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(hex(pagequery::dpf_evaluate(k0, r.index)), hex(r.mask0)) << "index " << r.index;
    EXPECT_EQ(hex(pagequery::dpf_evaluate(k1, r.index)), hex(r.mask1)) << "index " << r.index;
  }
  for (std::uint64_t i = 0; i < 16; ++i) {
    const Bits128 x = pagequery::dpf_evaluate(k0, i) ^ pagequery::dpf_evaluate(k1, i);
    EXPECT_TRUE(x == (i == 11 ? kOnes : kZero)) << i;
  }
}

// The subtree helpers the kernel uses agree with the point evaluation.
TEST(Dpf, ChildrenAgreeWithEvaluate) {
  KeyRng rng(6);
  const DpfKeyPair pair = pagequery::generate_dpf_keys(6, 42, rng);
  for (const DpfKey* key : {&pair.party0, &pair.party1}) {
    // Breadth-first full-domain expansion with dpf_children.
    std::vector<pagequery::DpfNode> level{{key->root_seed, key->root_t}};
    for (int l = 0; l < 6; ++l) {
      std::vector<pagequery::DpfNode> next(level.size() * 2);
      for (std::size_t m = 0; m < level.size(); ++m)
        pagequery::dpf_children(*key, l, level[m], next[2 * m], next[2 * m + 1]);
      level = std::move(next);
    }
    for (std::uint64_t i = 0; i < 64; ++i)
      EXPECT_TRUE(pagequery::dpf_leaf_mask(*key, level[i]) == pagequery::dpf_evaluate(*key, i)) << i;
  }
}

// --- Key bytes ------------------------------------------------------------

TEST(DpfKeyBytes, SizeFormula) {
  for (int d = 1; d <= 32; ++d) EXPECT_EQ(pagequery::dpf_key_size(d), 19u + 18u * d + 16u);
  EXPECT_EQ(pagequery::dpf_key_size(25), 485u);
}

TEST(DpfKeyBytes, RoundTripAndLayout) {
  KeyRng rng(8);
  for (int d : {1, 2, 3, 10, 25, 32}) {
    const std::uint64_t x = (std::uint64_t{1} << d) - 1 - d;
    const DpfKeyPair pair = pagequery::generate_dpf_keys(d, x % (std::uint64_t{1} << d), rng);
    for (const DpfKey* key : {&pair.party0, &pair.party1}) {
      const std::vector<std::uint8_t> bytes = pagequery::to_bytes(*key);
      ASSERT_EQ(bytes.size(), 19u + 18u * d + 16u);
      // root seed little-endian words | root_t | party | d | (cw 16, t_l, t_r) x d | final
      for (int i = 0; i < 16; ++i)
        EXPECT_EQ(bytes[i], static_cast<std::uint8_t>(key->root_seed.w[i / 4] >> (8 * (i % 4))));
      EXPECT_EQ(bytes[16], key->root_t);
      EXPECT_EQ(bytes[17], key->party);
      EXPECT_EQ(bytes[18], d);
      for (int l = 0; l < d; ++l) {
        const std::size_t at = 19 + 18 * static_cast<std::size_t>(l);
        for (int i = 0; i < 16; ++i)
          EXPECT_EQ(bytes[at + i], static_cast<std::uint8_t>(key->cw[l].seed.w[i / 4] >> (8 * (i % 4))));
        EXPECT_EQ(bytes[at + 16], key->cw[l].t_left);
        EXPECT_EQ(bytes[at + 17], key->cw[l].t_right);
      }
      const std::size_t fin = bytes.size() - 16;
      for (int i = 0; i < 16; ++i)
        EXPECT_EQ(bytes[fin + i], static_cast<std::uint8_t>(key->final_cw.w[i / 4] >> (8 * (i % 4))));

      const DpfKey back = pagequery::dpf_key_from_bytes(bytes);
      expect_same_key(back, *key);
      EXPECT_EQ(pagequery::to_bytes(back), bytes);
      // A parsed key evaluates like the original.
      for (std::uint64_t i : {std::uint64_t{0}, x, (std::uint64_t{1} << d) - 1})
        EXPECT_TRUE(pagequery::dpf_evaluate(back, i) == pagequery::dpf_evaluate(*key, i));
    }
  }
}

std::vector<std::uint8_t> valid_key_bytes(int d, int party = 0) {
  KeyRng rng(9);
  const DpfKeyPair pair = pagequery::generate_dpf_keys(d, 1, rng);
  return pagequery::to_bytes(party ? pair.party1 : pair.party0);
}

void expect_key_error(const std::vector<std::uint8_t>& bytes, const char* what) {
  EXPECT_THROW(pagequery::dpf_key_from_bytes(bytes), KeyError) << what << " (" << bytes.size() << " bytes)";
}

TEST(DpfKeyBytes, RejectsWrongLength) {
  for (int d : {1, 4, 25, 32}) {
    std::vector<std::uint8_t> b = valid_key_bytes(d);
    EXPECT_NO_THROW(pagequery::dpf_key_from_bytes(b));
    std::vector<std::uint8_t> shorter(b.begin(), b.end() - 1);
    expect_key_error(shorter, "one byte short");
    std::vector<std::uint8_t> longer = b;
    longer.push_back(0);
    expect_key_error(longer, "one byte long");
    std::vector<std::uint8_t> no_final(b.begin(), b.end() - 16);
    expect_key_error(no_final, "final cw missing");
    std::vector<std::uint8_t> extra_level = b;
    extra_level.insert(extra_level.end(), 18, 0);
    expect_key_error(extra_level, "one level too many");
    // The length of another domain size is wrong for this header's d.
    std::vector<std::uint8_t> other = valid_key_bytes(d == 1 ? 2 : d - 1);
    other[18] = static_cast<std::uint8_t>(d);
    expect_key_error(other, "length of a smaller domain");
  }
}

TEST(DpfKeyBytes, RejectsShorterThanHeader) {
  const std::vector<std::uint8_t> b = valid_key_bytes(3);
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{16}, std::size_t{18}}) {
    const std::vector<std::uint8_t> cut(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
    expect_key_error(cut, "shorter than the header");
  }
  // Exactly the header: d = 3 needs 89 bytes.
  const std::vector<std::uint8_t> header(b.begin(), b.begin() + 19);
  expect_key_error(header, "header only");
  // A header plus final cw (Morphogen's minimum length) is still wrong for d >= 1.
  std::vector<std::uint8_t> header_final(b.begin(), b.begin() + 35);
  expect_key_error(header_final, "header and final cw only");
}

TEST(DpfKeyBytes, RejectsDomainBits) {
  // d = 0 with the length a 0-level key would have (35 bytes).
  std::vector<std::uint8_t> d0(35, 0);
  d0[16] = 0;
  d0[17] = 0;
  d0[18] = 0;
  expect_key_error(d0, "domain bits 0");
  // d = 33 with exactly the length 33 levels would have, and with other lengths.
  std::vector<std::uint8_t> d33(19 + 18 * 33 + 16, 0);
  d33[18] = 33;
  expect_key_error(d33, "domain bits 33");
  std::vector<std::uint8_t> d255(19 + 18 * 255 + 16, 0);
  d255[18] = 255;
  expect_key_error(d255, "domain bits 255");
  std::vector<std::uint8_t> d33_from_32 = valid_key_bytes(32);
  d33_from_32[18] = 33;
  expect_key_error(d33_from_32, "domain bits 33 in a 32-level key");
  // Both ends of the valid range parse.
  EXPECT_NO_THROW(pagequery::dpf_key_from_bytes(valid_key_bytes(1)));
  EXPECT_NO_THROW(pagequery::dpf_key_from_bytes(valid_key_bytes(32)));
}

TEST(DpfKeyBytes, RejectsNonBitBytes) {
  const int d = 5;
  for (int party = 0; party < 2; ++party) {
    const std::vector<std::uint8_t> good = valid_key_bytes(d, party);
    for (std::uint8_t bad : {std::uint8_t{2}, std::uint8_t{3}, std::uint8_t{0x80}, std::uint8_t{255}}) {
      std::vector<std::uint8_t> b = good;
      b[16] = bad;
      expect_key_error(b, "root t");
      b = good;
      b[17] = bad;
      expect_key_error(b, "party");
      for (int level : {0, 2, d - 1}) {
        const std::size_t at = 19 + 18 * static_cast<std::size_t>(level);
        b = good;
        b[at + 16] = bad;
        expect_key_error(b, "t_cw_left");
        b = good;
        b[at + 17] = bad;
        expect_key_error(b, "t_cw_right");
      }
    }
    // 0 and 1 are fine in every bit position (flipping changes the key, not validity).
    std::vector<std::uint8_t> b = good;
    b[16] ^= 1;
    b[17] ^= 1;
    b[19 + 16] ^= 1;
    b[19 + 17] ^= 1;
    EXPECT_NO_THROW(pagequery::dpf_key_from_bytes(b));
  }
}

TEST(DpfKeyBytes, KeyErrorIsInvalidArgument) {
  try {
    pagequery::dpf_key_from_bytes(std::vector<std::uint8_t>(3, 0));
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).size(), 0u);
  }
}

// --- Key generation arguments ----------------------------------------------

TEST(DpfKeyGeneration, RejectsBadArguments) {
  KeyRng rng(10);
  EXPECT_THROW(pagequery::generate_dpf_keys(0, 0, rng), KeyError);
  EXPECT_THROW(pagequery::generate_dpf_keys(33, 0, rng), KeyError);
  EXPECT_THROW(pagequery::generate_dpf_keys(-1, 0, rng), KeyError);
  EXPECT_THROW(pagequery::generate_dpf_keys(64, 0, rng), KeyError);
  for (int d : {1, 2, 4, 10, 25, 31, 32}) {
    const std::uint64_t size = std::uint64_t{1} << d;
    EXPECT_THROW(pagequery::generate_dpf_keys(d, size, rng), KeyError) << d;
    EXPECT_THROW(pagequery::generate_dpf_keys(d, size + 1, rng), KeyError) << d;
    EXPECT_THROW(pagequery::generate_dpf_keys(d, ~std::uint64_t{0}, rng), KeyError) << d;
    EXPECT_NO_THROW(pagequery::generate_dpf_keys(d, size - 1, rng)) << d;
    EXPECT_NO_THROW(pagequery::generate_dpf_keys(d, 0, rng)) << d;
  }
}

// --- Key RNG ----------------------------------------------------------------

std::vector<Bits128> draws(KeyRng& rng, int n) {
  std::vector<Bits128> out;
  for (int i = 0; i < n; ++i) out.push_back(rng.next_seed());
  return out;
}

bool same(const std::vector<Bits128>& a, const std::vector<Bits128>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i])) return false;
  return true;
}

TEST(KeyRng, SameSeedIsDeterministic) {
  for (std::uint64_t seed : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{0xdeadbeefcafef00dull}}) {
    KeyRng a(seed), b(seed);
    // 9 draws of 4 words cross two 16-word ChaCha blocks.
    EXPECT_TRUE(same(draws(a, 9), draws(b, 9))) << seed;
    // Whole key pairs too.
    KeyRng c(seed), d(seed);
    const DpfKeyPair p = pagequery::generate_dpf_keys(12, 1234, c);
    const DpfKeyPair q = pagequery::generate_dpf_keys(12, 1234, d);
    EXPECT_EQ(pagequery::to_bytes(p.party0), pagequery::to_bytes(q.party0));
    EXPECT_EQ(pagequery::to_bytes(p.party1), pagequery::to_bytes(q.party1));
  }
}

TEST(KeyRng, DifferentSeedsDiffer) {
  const std::uint64_t seeds[] = {0,
                                 1,
                                 2,
                                 std::uint64_t{1} << 32,
                                 (std::uint64_t{1} << 32) | 1,
                                 0xffffffffull,
                                 0xffffffff00000000ull,
                                 ~std::uint64_t{0}};
  std::vector<std::vector<Bits128>> streams;
  for (std::uint64_t s : seeds) {
    KeyRng rng(s);
    streams.push_back(draws(rng, 5));
  }
  for (std::size_t i = 0; i < streams.size(); ++i)
    for (std::size_t j = i + 1; j < streams.size(); ++j)
      for (int n = 0; n < 5; ++n)
        EXPECT_FALSE(streams[i][n] == streams[j][n]) << seeds[i] << " vs " << seeds[j] << " draw " << n;
}

TEST(KeyRng, DrawsDoNotRepeat) {
  KeyRng rng(77);
  const std::vector<Bits128> d = draws(rng, 64);
  for (std::size_t i = 0; i < d.size(); ++i)
    for (std::size_t j = i + 1; j < d.size(); ++j) EXPECT_FALSE(d[i] == d[j]) << i << " " << j;
}

TEST(KeyRng, OsSeededInstancesDiffer) {
  KeyRng a, b;
  EXPECT_FALSE(same(draws(a, 2), draws(b, 2)));
}

}  // namespace
