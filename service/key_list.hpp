#pragma once
// The keys of one batch in either format (core/dpf_packed.hpp): what `answer`
// parses from a request and what `sweep` generates. A list holds one format.
#include "pagequery/core/dpf.hpp"
#include "pagequery/core/dpf_packed.hpp"
#include "pagequery/policies/engine.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace pagequery::service {

// Queries a batch may hold: Morphogen keeps its MAX_BATCH_SIZE (32), packed 256.
int max_batch_queries(DpfFormat format);

// "morphogen" or "packed"; anything else is a ConfigError naming `source`.
DpfFormat parse_dpf_format(const std::string& name, const std::string& source);

struct KeyList {
  DpfFormat format = DpfFormat::Morphogen;
  std::vector<DpfKey> morphogen;
  std::vector<PackedDpfKey> packed;

  std::size_t size() const { return format == DpfFormat::Packed ? packed.size() : morphogen.size(); }

  // Parses key bytes of either format (key_format_of) and appends the key. The
  // first key sets the list's format and a key of the other is refused; its d
  // must be the one of a matrix of `pages` pages, named `matrix` in the message.
  // Throws std::invalid_argument with a one-line message.
  void add(std::span<const std::uint8_t> bytes, std::uint64_t pages, const std::string& matrix);

  // "12 morphogen keys, XXH3 <hex of their bytes>": what MPI ranks compare.
  std::string identity() const;

  // Answers keys [first, first + count) with `policy` on `session`.
  std::vector<std::uint8_t> answer(Engine::Session& session, const PolicyConfig& policy, std::size_t first,
                                   std::size_t count) const;
};

}  // namespace pagequery::service
