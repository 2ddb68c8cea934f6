// Strings read from a results file, written as CSV fields and markdown, and the
// printers that write them (bench/printer.hpp).
#include "bench/csv_printer.hpp"
#include "bench/markdown_printer.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace pagequery::bench {
namespace {

TEST(ReportText, CsvFieldsFollowRfc4180) {
  EXPECT_EQ(csv_field("fused"), "fused");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "two\\nlines");  // escaped: one line per row (issue 26)
  EXPECT_EQ(csv_field(""), "");
}

TEST(ReportText, MarkdownStaysOneCellOnOneLine) {
  EXPECT_EQ(markdown_text("fused"), "fused");
  EXPECT_EQ(markdown_text("a|b"), "a\\|b");
  EXPECT_EQ(markdown_text("a\nb\tc"), "a\\nb\\tc");
}

TEST(ReportText, TablesAndCsvEscapeStrategyNames) {
  CellRow row;
  row.strategy = "x|y,\"z\"\n";
  row.dpf = "morphogen";
  row.mode = "latency";
  row.queries = 1;
  row.concurrency = 1;
  row.checksum_match = true;
  const std::string md = markdown_tables({row});
  EXPECT_NE(md.find("| Q | x\\|y,\"z\"\\n |"), std::string::npos) << md;
  const std::string csv = csv_rows({row}, "run,1", "lop3", 2.5);
  EXPECT_NE(csv.find("\n\"run,1\",lop3,2.5,\"x|y,\"\"z\"\"\\n\",morphogen,latency,"), std::string::npos) << csv;
}

RunRecord one_cell_run() {
  RunRecord run;
  run.id = "r|1";
  run.set("device", std::string("cpu"));
  run.set("status", std::string("complete"));
  run.set("cells_planned", std::uint64_t{2});
  CellRow row;
  row.strategy = "fused";
  row.mode = "fused";
  row.queries = 4;
  row.concurrency = 1;
  row.batch_ms.mean = 2;
  row.speedup = 1.5;
  row.checksum_match = true;
  run.cells.push_back(row);
  return run;
}

TEST(Printers, MarkdownPrintsTheHeaderThenTheTables) {
  std::ostringstream out;
  MarkdownPrinter(out).print_run(one_cell_run());
  const std::string md = out.str();
  EXPECT_EQ(md.rfind("## pagequery sweep r\\|1\n\n- device: cpu\n- accumulate: lop3\n- dpf: morphogen\n"
                     "- read floor: n/a (run written before the read floor was measured)\n",
                     0),
            0u)
      << md;
  EXPECT_NE(md.find("- status: complete (1 of 2 cells)\n\n### Verdict"), std::string::npos) << md;
  EXPECT_NE(md.find("| 4 | 1.50x |"), std::string::npos) << md;
  EXPECT_NE(md.find("### Read-floor multiple (n/a"), std::string::npos) << md;
  EXPECT_EQ(md.find("MPI reduction"), std::string::npos) << md;  // one rank
}

TEST(Printers, CsvPrintsOneRowPerCell) {
  std::ostringstream out;
  const RunRecord run = one_cell_run();
  CsvPrinter(out).print_run(run);
  EXPECT_EQ(out.str(), csv_rows(run.cells, run.id, "lop3", std::nullopt));
  EXPECT_NE(out.str().find("\nr|1,lop3,,fused,morphogen,fused,1,0,16,4,4,1,"), std::string::npos) << out.str();
}

TEST(Printers, TheRunListIsTheHumanFormatsOnly) {
  std::ostringstream md, csv;
  const std::vector<RunRecord> runs = {one_cell_run()};
  MarkdownPrinter(md).print_run_list(runs);
  CsvPrinter(csv).print_run_list(runs);
  EXPECT_EQ(md.str(), "r|1  complete  1 cells  lop3  cpu\n");
  EXPECT_EQ(csv.str(), "");
}

}  // namespace
}  // namespace pagequery::bench
