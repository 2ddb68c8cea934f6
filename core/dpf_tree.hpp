#pragma once
// Host-only internals shared by both key formats (core/dpf.cpp, core/dpf_packed.cpp):
// Morphogen's level-by-level key generation and the key bytes after the format's
// prefix. A key type picks its PRG through tree_expand (core/dpf.hpp).
#include "dpf.hpp"

#include <string>

namespace pagequery::detail {

// Draws both roots and fills both keys' correction words for `target`
// (Morphogen's construction, with the key type's PRG). Returns s0 XOR s1, the
// XOR of the two parties' seeds at the target leaf; the caller sets final_cw.
template <class Key>
Bits128 generate_tree(Key& k0, Key& k1, int bits, std::uint64_t target, KeyRng& rng) {
  k0.root_seed = rng.next_seed();
  k1.root_seed = rng.next_seed();
  k0.root_t = 0;
  k1.root_t = 1;
  k0.party = 0;
  k1.party = 1;
  k0.domain_bits = k1.domain_bits = static_cast<std::uint8_t>(bits);

  Bits128 s0 = k0.root_seed, s1 = k1.root_seed;
  std::uint8_t t0 = 0, t1 = 1;
  for (int level = 0; level < bits; ++level) {
    const int bit = static_cast<int>((target >> (bits - 1 - level)) & 1u);
    const PrgChildren e0 = tree_expand(k0, s0);
    const PrgChildren e1 = tree_expand(k1, s1);
    const Bits128 keep0 = bit ? e0.right : e0.left, lose0 = bit ? e0.left : e0.right;
    const Bits128 keep1 = bit ? e1.right : e1.left, lose1 = bit ? e1.left : e1.right;
    const std::uint8_t keep_t0 = bit ? e0.t_right : e0.t_left;
    const std::uint8_t lose_t0 = bit ? e0.t_left : e0.t_right;
    const std::uint8_t keep_t1 = bit ? e1.t_right : e1.t_left;
    const std::uint8_t lose_t1 = bit ? e1.t_left : e1.t_right;

    const Bits128 seed_cw = lose0 ^ lose1;
    const std::uint8_t t_cw_keep = keep_t0 ^ keep_t1 ^ t0 ^ t1;
    const std::uint8_t t_cw_lose = lose_t0 ^ lose_t1 ^ t0 ^ t1 ^ 1;
    const CorrectionWord cw{seed_cw, bit ? t_cw_lose : t_cw_keep, bit ? t_cw_keep : t_cw_lose};
    k0.cw[level] = k1.cw[level] = cw;

    const Bits128 next0 = t0 ? keep0 ^ seed_cw : keep0;
    const Bits128 next1 = t1 ? keep1 ^ seed_cw : keep1;
    const std::uint8_t next_t0 = t0 ? keep_t0 ^ t_cw_keep : keep_t0;
    const std::uint8_t next_t1 = t1 ? keep_t1 ^ t_cw_keep : keep_t1;
    s0 = next0;
    s1 = next1;
    t0 = next_t0;
    t1 = next_t1;
  }
  return s0 ^ s1;
}

inline void put_seed(std::vector<std::uint8_t>& out, const Bits128& s) {
  for (std::uint32_t word : s.w)
    for (int b = 0; b < 4; ++b) out.push_back(static_cast<std::uint8_t>(word >> (8 * b)));
}

inline Bits128 get_seed(std::span<const std::uint8_t> in, std::size_t at) {
  Bits128 s{};
  for (int i = 0; i < 4; ++i)
    for (int b = 0; b < 4; ++b) s.w[i] |= static_cast<std::uint32_t>(in[at + 4 * i + b]) << (8 * b);
  return s;
}

// The tree part of the key bytes (ChaChaKey::to_bytes): root_seed | root_t |
// party | d | d x (seed_cw, t_cw_left, t_cw_right) | final_cw; 35 + 18 d bytes.
inline std::size_t tree_bytes(int bits) { return 19 + 18 * static_cast<std::size_t>(bits) + 16; }

template <class Key>
void put_tree(std::vector<std::uint8_t>& out, const Key& key) {
  put_seed(out, key.root_seed);
  out.push_back(key.root_t);
  out.push_back(key.party);
  out.push_back(key.domain_bits);
  for (int level = 0; level < key.domain_bits; ++level) {
    put_seed(out, key.cw[level].seed);
    out.push_back(key.cw[level].t_left);
    out.push_back(key.cw[level].t_right);
  }
  put_seed(out, key.final_cw);
}

// How a format names itself and its depth in refusals ("DPF key", "domain bits").
struct TreeBytesFormat {
  std::string what;
  const char* bits_name;
  int max_bits;
};

// Parses the tree part that starts at byte `at` (after the format's prefix) and
// ends the key. Throws KeyError, the message starting with format.what.
template <class Key>
Key get_tree(std::span<const std::uint8_t> bytes, std::size_t at, const TreeBytesFormat& format) {
  const auto refuse = [&](const std::string& why) { throw KeyError(format.what + ": " + why); };
  if (bytes.size() < at + 19)
    refuse(std::to_string(bytes.size()) + " bytes is shorter than the " + std::to_string(at + 19) + "-byte header");
  const int d = bytes[at + 18];
  if (d < 1 || d > format.max_bits)
    refuse(std::string(format.bits_name) + " must be in 1.." + std::to_string(format.max_bits) + ", got " +
           std::to_string(d));
  if (bytes.size() != at + tree_bytes(d))
    refuse("expected " + std::to_string(at + tree_bytes(d)) + " bytes for " + std::to_string(d) + " " +
           format.bits_name + ", got " + std::to_string(bytes.size()));
  const auto bit = [&](std::size_t i, const char* name) {
    if (bytes[i] > 1) refuse(std::string(name) + " byte must be 0 or 1, got " + std::to_string(bytes[i]));
    return bytes[i];
  };
  Key key{};
  key.root_seed = get_seed(bytes, at);
  key.root_t = bit(at + 16, "root t");
  key.party = bit(at + 17, "party");
  key.domain_bits = static_cast<std::uint8_t>(d);
  at += 19;
  for (int level = 0; level < d; ++level, at += 18) {
    key.cw[level].seed = get_seed(bytes, at);
    key.cw[level].t_left = bit(at + 16, "t_cw_left");
    key.cw[level].t_right = bit(at + 17, "t_cw_right");
  }
  key.final_cw = get_seed(bytes, at);
  return key;
}

}  // namespace pagequery::detail
