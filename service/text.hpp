#pragma once
// Text in and out: the numbers and comma lists of a command line, checked, and
// numbers as the printers write them. Plain C++: no Kokkos, no HDF5.
#include <cstdint>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pagequery::service {

// Malformed text; the message says what is wrong but not where the text came
// from (callers prefix that: "queries[1].keys[2]: ...").
class FormatError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A whole decimal unsigned integer ("42"; no sign, no spaces, no hex);
// `source` names the flag in the error: "--index must be ... got 'x'".
std::uint64_t parse_u64(std::string_view text, std::string_view source);

// The whole text as a finite number (std::stod's syntax: "1.5", "2e3", " 7");
// nullopt for anything else, infinities and NaN included. Callers say which
// range they take and refuse with their flag's name.
std::optional<double> parse_finite(const std::string& text);

// "a,b,c" -> {"a", "b", "c"} (spaces trimmed). Throws std::invalid_argument naming
// `flag` for an empty item.
std::vector<std::string> split_list(std::string_view text, std::string_view flag);
// "1,2,4" -> {1, 2, 4}; each value in [lo, hi]; duplicates refused. Throws
// std::invalid_argument naming `flag`.
std::vector<int> parse_int_list(std::string_view text, std::string_view flag, int lo, int hi);

// The text with every control character escaped ("\n", "\t", "\x1b";
// core/printable.hpp), so that an error message stays on one line.
std::string one_line(std::string_view text);

// Shortest round-trip text of a double ("0.1", "1e-05", "nan").
std::string number(double value);
// A fixed number of decimals ("30.14").
std::string fixed(double value, int decimals);
// "16.00 MiB", "64.20 GiB" (binary units, GiB from 1 GiB on)
std::string human_bytes(std::uint64_t bytes);
// "2026-12-02T02:27:57Z", or compact "20261202T022757Z" (run ids, file names).
std::string utc_stamp(std::time_t t, bool compact);

}  // namespace pagequery::service
