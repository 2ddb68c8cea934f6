#include "dpf.hpp"

#include <random>
#include <string>

namespace pagequery {

namespace {

void put_seed(std::vector<std::uint8_t>& out, const Bits128& s) {
  for (std::uint32_t word : s.w)
    for (int b = 0; b < 4; ++b) out.push_back(static_cast<std::uint8_t>(word >> (8 * b)));
}

Bits128 get_seed(std::span<const std::uint8_t> in, std::size_t at) {
  Bits128 s{};
  for (int i = 0; i < 4; ++i)
    for (int b = 0; b < 4; ++b)
      s.w[i] |= static_cast<std::uint32_t>(in[at + 4 * i + b]) << (8 * b);
  return s;
}

std::uint8_t get_bit(std::span<const std::uint8_t> in, std::size_t at, const char* what) {
  if (in[at] > 1)
    throw KeyError(std::string("DPF key: ") + what + " byte must be 0 or 1, got " +
                   std::to_string(in[at]));
  return in[at];
}

void check_domain_bits(int domain_bits) {
  if (domain_bits < 1 || domain_bits > kMaxDomainBits)
    throw KeyError("DPF key: domain bits must be in 1..32, got " + std::to_string(domain_bits));
}

}  // namespace

KeyRng::KeyRng(std::optional<std::uint64_t> seed) {
  if (seed) {
    for (int i = 0; i < 8; ++i) key_[i] = static_cast<std::uint32_t>(*seed >> (32 * (i % 2))) ^ (0x9e3779b9u * i);
  } else {
    std::random_device os;
    for (std::uint32_t& k : key_) k = os();
  }
}

Bits128 KeyRng::next_seed() {
  Bits128 s;
  for (std::uint32_t& word : s.w) {
    if (used_ == 16) {
      const std::uint32_t nonce[3] = {0, 0, 0};
      chacha_block<20>(key_, counter_++, nonce, block_);
      used_ = 0;
    }
    word = block_[used_++];
  }
  return s;
}

DpfKeyPair generate_dpf_keys(int domain_bits, std::uint64_t target, KeyRng& rng) {
  check_domain_bits(domain_bits);
  if (domain_bits < 64 && target >> domain_bits)
    throw KeyError("DPF key: target " + std::to_string(target) + " is outside a domain of " +
                   std::to_string(domain_bits) + " bits");
  DpfKeyPair pair{};
  DpfKey& k0 = pair.party0;
  DpfKey& k1 = pair.party1;
  k0.root_seed = rng.next_seed();
  k1.root_seed = rng.next_seed();
  k0.root_t = 0;
  k1.root_t = 1;
  k0.party = 0;
  k1.party = 1;
  k0.domain_bits = k1.domain_bits = static_cast<std::uint8_t>(domain_bits);

  Bits128 s0 = k0.root_seed, s1 = k1.root_seed;
  std::uint8_t t0 = 0, t1 = 1;
  for (int level = 0; level < domain_bits; ++level) {
    const int bit = static_cast<int>((target >> (domain_bits - 1 - level)) & 1u);
    const PrgChildren e0 = prg_expand(s0);
    const PrgChildren e1 = prg_expand(s1);
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
  const Bits128 all_ones{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}};
  k0.final_cw = k1.final_cw = s0 ^ s1 ^ all_ones;
  return pair;
}

std::size_t dpf_key_size(int domain_bits) {
  return 19 + 18 * static_cast<std::size_t>(domain_bits) + 16;
}

std::vector<std::uint8_t> to_bytes(const DpfKey& key) {
  std::vector<std::uint8_t> out;
  out.reserve(dpf_key_size(key.domain_bits));
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
  return out;
}

DpfKey dpf_key_from_bytes(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 19)
    throw KeyError("DPF key: " + std::to_string(bytes.size()) +
                   " bytes is shorter than the 19-byte header");
  const int d = bytes[18];
  check_domain_bits(d);
  if (bytes.size() != dpf_key_size(d))
    throw KeyError("DPF key: expected " + std::to_string(dpf_key_size(d)) + " bytes for " +
                   std::to_string(d) + " domain bits, got " + std::to_string(bytes.size()));
  DpfKey key{};
  key.root_seed = get_seed(bytes, 0);
  key.root_t = get_bit(bytes, 16, "root t");
  key.party = get_bit(bytes, 17, "party");
  key.domain_bits = static_cast<std::uint8_t>(d);
  std::size_t at = 19;
  for (int level = 0; level < d; ++level, at += 18) {
    key.cw[level].seed = get_seed(bytes, at);
    key.cw[level].t_left = get_bit(bytes, at + 16, "t_cw_left");
    key.cw[level].t_right = get_bit(bytes, at + 17, "t_cw_right");
  }
  key.final_cw = get_seed(bytes, at);
  return key;
}

}  // namespace pagequery
