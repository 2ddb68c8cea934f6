#include "service/wire/json_strict.hpp"

#include "service/wire/hex.hpp"

#include <set>
#include <string>
#include <vector>

namespace pagequery::service {

nlohmann::json parse_strict_json(std::string_view text) {
  using json = nlohmann::json;
  if (const auto nul = text.find('\0'); nul != std::string_view::npos)
    throw FormatError("a NUL byte at offset " + std::to_string(nul) + " (JSON text has none)");
  std::vector<std::set<std::string>> keys;  // per open object, innermost last
  const json::parser_callback_t unique_keys = [&keys](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) keys.emplace_back();
    if (event == json::parse_event_t::object_end) keys.pop_back();
    if (event == json::parse_event_t::key && !keys.back().insert(parsed.get<std::string>()).second)
      throw FormatError("the key \"" + one_line(parsed.get<std::string>()) + "\" appears twice in one object");
    return true;
  };
  try {
    return json::parse(text, unique_keys);
  } catch (const json::parse_error& e) {
    throw FormatError(one_line(e.what()));
  }
}

}  // namespace pagequery::service
