#include "service/text.hpp"

#include "pagequery/core/printable.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace pagequery::service {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::uint64_t parse_u64(std::string_view text, std::string_view source) {
  std::uint64_t value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(first, last, value, 10);
  if (text.empty() || ec != std::errc{} || end != last)
    throw FormatError(std::string(source) + " must be an unsigned decimal integer below 2^64, got '" + one_line(text) +
                      "'");
  return value;
}

std::optional<double> parse_finite(const std::string& text) {
  double value = 0;
  std::size_t used = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used != text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::vector<std::string> split_list(std::string_view text, std::string_view flag) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item =
        trim(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (item.empty()) throw std::invalid_argument(std::string(flag) + ": empty item in '" + std::string(text) + "'");
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::vector<int> parse_int_list(std::string_view text, std::string_view flag, int lo, int hi) {
  std::vector<int> out;
  for (const std::string& item : split_list(text, flag)) {
    int value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (ec != std::errc() || end != item.data() + item.size() || value < lo || value > hi)
      throw std::invalid_argument(std::string(flag) + ": each value must be an integer in " + std::to_string(lo) +
                                  ".." + std::to_string(hi) + ", got '" + item + "'");
    if (std::find(out.begin(), out.end(), value) != out.end())
      throw std::invalid_argument(std::string(flag) + ": " + item + " is listed twice");
    out.push_back(value);
  }
  return out;
}

std::string one_line(std::string_view text) { return printable(text); }

std::string number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return ec == std::errc() ? std::string(buf, end) : std::string("nan");
}

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string human_bytes(std::uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (bytes >= (1ull << 30)) return fixed(b / double(1ull << 30), 2) + " GiB";
  if (bytes >= (1ull << 20)) return fixed(b / double(1ull << 20), 2) + " MiB";
  if (bytes >= (1ull << 10)) return fixed(b / double(1ull << 10), 2) + " KiB";
  return std::to_string(bytes) + " B";
}

std::string utc_stamp(std::time_t t, bool compact) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace pagequery::service
