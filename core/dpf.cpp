#include "dpf.hpp"
#include "dpf_tree.hpp"

#include <random>
#include <string>

namespace pagequery {

namespace {

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
  const Bits128 leaves = detail::generate_tree(pair.party0, pair.party1, domain_bits, target, rng);
  const Bits128 all_ones{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}};
  pair.party0.final_cw = pair.party1.final_cw = leaves ^ all_ones;
  return pair;
}

std::size_t dpf_key_size(int domain_bits) { return detail::tree_bytes(domain_bits); }

std::vector<std::uint8_t> to_bytes(const DpfKey& key) {
  std::vector<std::uint8_t> out;
  out.reserve(dpf_key_size(key.domain_bits));
  detail::put_tree(out, key);
  return out;
}

DpfKey dpf_key_from_bytes(std::span<const std::uint8_t> bytes) {
  return detail::get_tree<DpfKey>(bytes, 0, {"DPF key", "domain bits", kMaxDomainBits});
}

}  // namespace pagequery
