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

// Text read from a results file as a CSV field (RFC 4180: quoted, quotes doubled,
// when it holds a comma, a quote or a line break).
std::string csv_field(std::string_view text);

}  // namespace pagequery::bench
