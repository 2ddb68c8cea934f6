#include "bench/results/record.hpp"

#include "service/text.hpp"

namespace pagequery::bench {

using namespace service;

namespace {

// An attribute as text: numbers as printed, lists comma-joined.
struct AsText {
  std::string operator()(const std::string& s) const { return s; }
  std::string operator()(std::int64_t i) const { return std::to_string(i); }
  std::string operator()(std::uint64_t u) const { return std::to_string(u); }
  std::string operator()(double d) const { return number(d); }
  std::string operator()(const std::vector<std::int64_t>& list) const {
    std::string out;
    for (std::int64_t i : list) out += (out.empty() ? "" : ",") + std::to_string(i);
    return out;
  }
  std::string operator()(const std::vector<std::string>& list) const {
    std::string out;
    for (const std::string& s : list) out += (out.empty() ? "" : ",") + s;
    return out;
  }
};

}  // namespace

void RunRecord::set(std::string name, AttrValue value) {
  for (Attribute& a : attributes)
    if (a.name == name) {
      a.value = std::move(value);
      return;
    }
  attributes.push_back({std::move(name), std::move(value)});
}

const AttrValue* RunRecord::find(std::string_view name) const {
  for (const Attribute& a : attributes)
    if (a.name == name) return &a.value;
  return nullptr;
}

std::string RunRecord::text(std::string_view name, std::string_view fallback) const {
  const AttrValue* v = find(name);
  return v ? std::visit(AsText{}, *v) : std::string(fallback);
}

std::optional<double> RunRecord::real(std::string_view name) const {
  const AttrValue* v = find(name);
  if (!v || !std::holds_alternative<double>(*v)) return std::nullopt;
  return std::get<double>(*v);
}

std::string accumulate_of(const RunRecord& run) { return run.text("accumulate", "lop3"); }

std::optional<double> read_floor_of(const RunRecord& run) { return run.real("read_floor_ms"); }

}  // namespace pagequery::bench
