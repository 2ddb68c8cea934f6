// Strings read from a results file, written as CSV fields and markdown.
#include "bench/sweep_stats.hpp"

#include <gtest/gtest.h>

namespace pagequery::bench {
namespace {

TEST(ReportText, CsvFieldsFollowRfc4180) {
  EXPECT_EQ(csv_field("fused"), "fused");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
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
  EXPECT_NE(csv.find("\n\"run,1\",lop3,2.5,\"x|y,\"\"z\"\"\n\",morphogen,latency,"), std::string::npos) << csv;
}

}  // namespace
}  // namespace pagequery::bench
