#pragma once
// Outside text (a flag, an env var, a path, file contents) as it may appear in a
// one-line message: control characters and DEL become C escapes ("\n", "\t",
// "\x1b"), so an error stays on one line and still shows what was given.
// Plain C++, header only: core, policies and apps all quote with it.
#include <string>
#include <string_view>

namespace pagequery {

inline std::string printable(std::string_view text) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += "\\x";
      out += kDigits[u >> 4];
      out += kDigits[u & 15];
    }
  }
  return out;
}

// 'text', escaped as above.
inline std::string quote(std::string_view text) { return "'" + printable(text) + "'"; }

}  // namespace pagequery
