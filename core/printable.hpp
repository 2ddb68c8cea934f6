#pragma once
// Outside text (a flag, an env var, a path, file contents) as it may appear in a
// one-line message: control characters, DEL and bytes that are not UTF-8 become C
// escapes ("\n", "\t", "\x1b", "\xff"), so an error stays on one line of valid
// text and still shows what was given.
// Plain C++, header only: core, policies and apps all quote with it.
#include <string>
#include <string_view>

namespace pagequery {

// The length of the well-formed UTF-8 sequence at the start of `text` (0: none).
inline std::size_t utf8_sequence(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  const std::size_t n = lead < 0x80                   ? 1
                        : lead >= 0xc2 && lead < 0xe0 ? 2
                        : lead >= 0xe0 && lead < 0xf0 ? 3
                        : lead >= 0xf0 && lead < 0xf5 ? 4
                                                      : 0;
  if (n == 0 || n > text.size()) return 0;
  for (std::size_t i = 1; i < n; ++i)
    if ((byte(i) & 0xc0) != 0x80) return 0;
  if (n == 3 && ((lead == 0xe0 && byte(1) < 0xa0) || (lead == 0xed && byte(1) >= 0xa0)))
    return 0;  // overlong, surrogate
  if (n == 4 && ((lead == 0xf0 && byte(1) < 0x90) || (lead == 0xf4 && byte(1) >= 0x90)))
    return 0;  // overlong, > U+10FFFF
  return n;
}

inline std::string printable(std::string_view text) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    if (const std::size_t n = u >= 0x80 ? utf8_sequence(text.substr(i)) : 0; n > 0) {
      out.append(text.substr(i, n));  // a character of UTF-8 text
      i += n - 1;
    } else if (u >= 0x20 && u < 0x7f) {
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
