#pragma once
// One run of a sweep as the results store holds it: its metadata (attributes, in
// the order they were set), its cells and its raw samples. What the runner fills,
// the writer appends, the reader returns and the printers print.
#include "bench/stats.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pagequery::bench {

using AttrValue =
    std::variant<std::string, std::int64_t, std::uint64_t, double, std::vector<std::int64_t>, std::vector<std::string>>;

struct Attribute {
  std::string name;
  AttrValue value;
};

struct RunRecord {
  std::string id;                     // before the first commit: the wanted id (a suffix is added if taken)
  std::vector<Attribute> attributes;  // in order
  std::vector<CellRow> cells;
  std::vector<Sample> samples;

  void set(std::string name, AttrValue value);  // replaces an attribute of that name
  const AttrValue* find(std::string_view name) const;
  // The attribute as text (numbers printed, lists comma-joined); `fallback` if absent.
  std::string text(std::string_view name, std::string_view fallback = "") const;
  // The attribute if it is a double; nullopt when absent or of another type.
  std::optional<double> real(std::string_view name) const;
};

// The run's `accumulate` attribute ("lop3" or "mma"); runs written before the
// option existed ran the lop3 kernel, the only one there was.
std::string accumulate_of(const RunRecord& run);

// The run's `read_floor_ms` attribute; runs written before it have none.
std::optional<double> read_floor_of(const RunRecord& run);

}  // namespace pagequery::bench
