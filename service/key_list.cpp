#include "service/key_list.hpp"

#include "pagequery/core/matrix_shape.hpp"
#include "pagequery/policies/policy_config.hpp"

#include <xxhash.h>

#include <cstdio>
#include <memory>

namespace pagequery::service {

namespace {
constexpr int kMaxPackedBatchQueries = 256;
}  // namespace

int max_batch_queries(DpfFormat format) {
  return format == DpfFormat::Packed ? kMaxPackedBatchQueries : kMaxBatchQueries;
}

DpfFormat parse_dpf_format(const std::string& name, const std::string& source) {
  if (name == "morphogen") return DpfFormat::Morphogen;
  if (name == "packed") return DpfFormat::Packed;
  throw ConfigError(source + ": unknown DPF key format '" + name + "' (expected morphogen or packed)");
}

void KeyList::add(std::span<const std::uint8_t> bytes, std::uint64_t pages, const std::string& matrix) {
  const DpfFormat got = key_format_of(bytes);
  if (size() == 0) format = got;
  if (got != format)
    throw KeyError("a " + to_string(got) + " key in a request of " + to_string(format) +
                   " keys: a request holds keys of one format");
  const std::string where = "the matrix '" + matrix + "' (" + std::to_string(pages) + " pages)";
  if (format == DpfFormat::Packed) {
    const PackedDpfKey key = packed_key_from_bytes(bytes);
    if (const int d = packed_domain_bits(pages); key.domain_bits != d)
      throw KeyError("packed DPF key has " + std::to_string(key.domain_bits) + " leaf bits but " + where + " needs " +
                     std::to_string(d));
    packed.push_back(key);
  } else {
    const DpfKey key = dpf_key_from_bytes(bytes);
    if (const int d = domain_bits_for(pages); key.domain_bits != d)
      throw KeyError("DPF key has " + std::to_string(key.domain_bits) + " domain bits but " + where + " has " +
                     std::to_string(d));
    morphogen.push_back(key);
  }
}

std::string KeyList::identity() const {
  const std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(), XXH3_freeState);
  XXH3_64bits_reset(state.get());
  const auto add = [&](const auto& keys) {
    for (const auto& key : keys) {
      const std::vector<std::uint8_t> bytes = to_bytes(key);
      XXH3_64bits_update(state.get(), bytes.data(), bytes.size());
    }
  };
  add(morphogen);
  add(packed);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits_digest(state.get())));
  return std::to_string(size()) + " " + to_string(format) + " keys, XXH3 " + hex;
}

std::vector<std::uint8_t> KeyList::answer(Engine::Session& session, const PolicyConfig& policy, std::size_t first,
                                          std::size_t count) const {
  if (format == DpfFormat::Packed) return session.answer(policy, std::span(packed).subspan(first, count));
  return session.answer(policy, std::span(morphogen).subspan(first, count));
}

}  // namespace pagequery::service
