#pragma once
// The machine format: one CSV row per cell of a run (header first), every number
// in full (shortest round-trip text), checksums in hex.
#include "bench/printer.hpp"
#include "bench/stats.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagequery::bench {

class CsvPrinter : public Printer {
 public:
  using Printer::Printer;

 private:
  void do_print_run(const RunRecord& run) override;
};

// One CSV line per row (header first); `run`, `accumulate` and `read_floor_ms`
// (the run's; empty when the run has none) fill the first three columns.
std::string csv_rows(const std::vector<CellRow>& rows, std::string_view run, std::string_view accumulate,
                     std::optional<double> read_floor_ms);

// Text read from a results file as a CSV field: escaped as core/printable.hpp does
// (control characters, line breaks included, and bytes that are not UTF-8 become C
// escapes, so a row stays one line of valid text), then quoted as RFC 4180 says
// (quotes doubled) when it holds a comma or a quote.
std::string csv_field(std::string_view text);

}  // namespace pagequery::bench
