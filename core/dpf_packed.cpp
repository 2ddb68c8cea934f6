#include "dpf_packed.hpp"

#include "dpf_tree.hpp"
#include "matrix_shape.hpp"

#include <algorithm>
#include <cstring>

namespace pagequery {

namespace {
constexpr char kMagic[kPackedMagicBytes] = {'P', 'Q', 'P', '1'};
}  // namespace

int packed_domain_bits(std::uint64_t pages) { return std::max(1, domain_bits_for(pages) - kPackedLeafLog2); }

PackedDpfKeyPair generate_packed_keys(int leaf_bits, std::uint64_t target, KeyRng& rng) {
  if (leaf_bits < 1 || leaf_bits > kMaxPackedDomainBits)
    throw KeyError("packed DPF key: leaf bits must be in 1.." + std::to_string(kMaxPackedDomainBits) + ", got " +
                   std::to_string(leaf_bits));
  if (target >> (leaf_bits + kPackedLeafLog2))
    throw KeyError("packed DPF key: page " + std::to_string(target) + " is outside the " +
                   std::to_string(std::uint64_t{1} << (leaf_bits + kPackedLeafLog2)) + " pages of " +
                   std::to_string(leaf_bits) + " leaf bits");
  PackedDpfKeyPair pair{};
  const Bits128 leaves = detail::generate_tree(pair.party0, pair.party1, leaf_bits, target >> kPackedLeafLog2, rng);
  Bits128 beta{{0, 0, 0, 0}};
  const int b = static_cast<int>(target & (kPackedLeafPages - 1));
  beta.w[b / 32] = 1u << (b % 32);
  pair.party0.final_cw = pair.party1.final_cw = leaves ^ beta;
  return pair;
}

std::size_t packed_key_size(int leaf_bits) { return kPackedMagicBytes + detail::tree_bytes(leaf_bits); }

std::vector<std::uint8_t> to_bytes(const PackedDpfKey& key) {
  std::vector<std::uint8_t> out(kMagic, kMagic + kPackedMagicBytes);
  out.reserve(packed_key_size(key.domain_bits));
  detail::put_tree(out, key);
  return out;
}

PackedDpfKey packed_key_from_bytes(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kPackedMagicBytes || std::memcmp(bytes.data(), kMagic, kPackedMagicBytes) != 0)
    throw KeyError("packed DPF key: does not start with the magic PQP1");
  return detail::get_tree<PackedDpfKey>(bytes, kPackedMagicBytes,
                                        {"packed DPF key", "leaf bits", kMaxPackedDomainBits});
}

DpfFormat key_format_of(std::span<const std::uint8_t> bytes) {
  switch (bytes.size() % 18) {
    case (kPackedMagicBytes + 35) % 18:
      return DpfFormat::Packed;
    case 35 % 18:
      return DpfFormat::Morphogen;
    default:
      return bytes.size() >= kPackedMagicBytes && std::memcmp(bytes.data(), kMagic, kPackedMagicBytes) == 0
                 ? DpfFormat::Packed
                 : DpfFormat::Morphogen;
  }
}

std::string to_string(DpfFormat format) { return format == DpfFormat::Packed ? "packed" : "morphogen"; }

std::vector<std::uint8_t> packed_reference_answer(std::span<const std::uint8_t> pages, std::uint64_t first_page,
                                                  const PackedDpfKey& key) {
  std::vector<std::uint8_t> answer(kPageBytes, 0);
  for (std::size_t i = 0; i < pages.size() / kPageBytes; ++i)
    if (packed_selects(key, first_page + i))
      for (int b = 0; b < kPageBytes; ++b) answer[b] ^= pages[i * kPageBytes + b];
  return answer;
}

}  // namespace pagequery
