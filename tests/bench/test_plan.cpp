// The sweep's plan (bench/plan.hpp): axes into cells, and every refusal before
// anything is loaded. No Kokkos: a plan only reads the command line.
#include "bench/plan.hpp"
#include "service/errors.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pagequery::bench {

using namespace service;
namespace {

SweepOptions small() {
  SweepOptions o;
  o.synthetic_pages = "300";
  o.batch_sizes = "3,1";
  o.strategies = "fused,baseline_full_batch";
  o.concurrency = "2,1";
  o.seed = "7";
  o.output = "x.h5";
  return o;
}

std::string refusal(const SweepOptions& o) {
  try {
    make_plan(o);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "accepted";
}

TEST(Plan, CellsRunByConcurrencyFormatStrategyAndQ) {
  SweepOptions o = small();
  o.dpf = "packed,morphogen";
  const Plan plan = make_plan(o);
  EXPECT_EQ(plan.pages, 300u);
  EXPECT_EQ(plan.domain_bits, 9);
  EXPECT_EQ(plan.key_seed, 7u);
  EXPECT_TRUE(plan.key_seed_given);
  EXPECT_EQ(plan.max_concurrency(), 2);
  ASSERT_EQ(plan.cells.size(), 16u);
  const Cell& first = plan.cells.front();
  EXPECT_EQ(first.concurrency, 1);
  EXPECT_EQ(first.dpf, DpfFormat::Packed);
  EXPECT_EQ(plan.strategies[first.strategy].name, "fused");
  EXPECT_EQ(first.queries, 1);
  EXPECT_EQ(plan.cells[1].queries, 3);
  EXPECT_EQ(cell_name(plan, first), "fused (packed)");
  EXPECT_EQ(plan.cells.back().concurrency, 2);
  EXPECT_EQ(cell_name(plan, plan.cells.back()), "baseline_full_batch");
}

TEST(Plan, NumbersOfGibAndSecondsShareOneValidator) {
  SweepOptions o = small();
  o.synthetic_pages.reset();
  o.synthetic_gib = "0.5";
  o.checkpoint_seconds = "1.5";
  const Plan plan = make_plan(o);
  EXPECT_EQ(plan.pages, 131072u);
  EXPECT_EQ(plan.checkpoint_seconds, 1.5);
  for (const char* bad : {"0", "-1", "16385", "x", "inf", "nan", "1e9", ""}) {
    o.synthetic_gib = bad;
    EXPECT_EQ(refusal(o), std::string("--synthetic-gib must be a number of GiB in (0, 16384], got '") + bad + "'");
  }
  o.synthetic_gib = "1";
  for (const char* bad : {"-3", "x", "inf", ""}) {
    o.checkpoint_seconds = bad;
    EXPECT_EQ(refusal(o), std::string("--checkpoint-interval must be a number of seconds >= 0, got '") + bad + "'");
  }
}

TEST(Plan, MmaLeavesGroupsShortAndRefusesNames) {
  SweepOptions o = small();
  o.accumulate = Accumulate::Mma;
  o.strategies = "fused,cuda_graph_replay";  // graph replay captures the tensor-core launches
  EXPECT_EQ(make_plan(o).strategies.size(), 2u);
  o.strategies = "all";
  const Plan mma = make_plan(o);
  EXPECT_EQ(mma.spec.accumulate, Accumulate::Mma);
#ifdef PAGEQUERY_HAVE_KOKKOS_KERNELS
  EXPECT_EQ(accumulate_note(mma), " (kokkos_kernels_gemm left out: they run only with --accumulate lop3)");
  EXPECT_EQ(mma.strategies.size(), all_strategies().size() - 1);
  o.strategies = "fused,kokkos_kernels_gemm";
  EXPECT_EQ(refusal(o),
            "--strategies: kokkos_kernels_gemm: kokkos_kernels_gemm runs only with --accumulate lop3: "
            "its gemm reads pages as vectors");
#else
  EXPECT_EQ(accumulate_note(mma), "");
  EXPECT_EQ(mma.strategies.size(), all_strategies().size());
#endif
}

// Auto, the default, refuses and leaves out nothing: a lop3-only strategy in the
// list (named, or a group's member) makes the run lop3, and the note says which.
TEST(Plan, AutoKeepsEveryStrategyAndALop3OnlyOneMakesItLop3) {
  SweepOptions o = small();
  EXPECT_EQ(o.accumulate, Accumulate::Auto);
  const Plan plain = make_plan(o);
  EXPECT_EQ(plain.spec.accumulate, Accumulate::Auto);  // the engine decides
  EXPECT_EQ(accumulate_note(plain), " (auto)");
  o.strategies = "all";
  const Plan all = make_plan(o);
  EXPECT_TRUE(all.left_out.empty());
  EXPECT_EQ(all.strategies.size(), all_strategies().size());
  EXPECT_EQ(all.accumulate_asked, Accumulate::Auto);
#ifdef PAGEQUERY_HAVE_KOKKOS_KERNELS
  EXPECT_EQ(all.spec.accumulate, Accumulate::Lop3);
  o.strategies = "fused,kokkos_kernels_gemm";
  const Plan gemm = make_plan(o);
  EXPECT_EQ(gemm.spec.accumulate, Accumulate::Lop3);
  EXPECT_EQ(accumulate_note(gemm), " (auto: kokkos_kernels_gemm runs only with lop3)");
#endif
  o.accumulate = Accumulate::Lop3;
  EXPECT_EQ(accumulate_note(make_plan(o)), "");
}

TEST(Plan, UpdateCellsFollowEveryBaselineCell) {
  SweepOptions o = small();
  o.update_pages = {64, 16};  // no 0: the baseline is added
  const Plan plan = make_plan(o);
  EXPECT_EQ(plan.update_pages, (std::vector<std::uint64_t>{0, 16, 64}));
  ASSERT_EQ(plan.cells.size(), 24u);  // 8 cells x 3 values of U
  const std::uint64_t expected[] = {0, 16, 64};
  for (std::size_t i = 0; i < plan.cells.size(); ++i) EXPECT_EQ(plan.cells[i].update_pages, expected[i / 8]) << i;
  EXPECT_EQ(plan.cells[8].concurrency, 1);  // each U runs the whole C x format x strategy x Q grid again
  EXPECT_EQ(plan.cells[8].queries, 1);
  EXPECT_EQ(cell_name(plan, plan.cells[8]), "fused U=16");
  EXPECT_NE(canonical_text(plan).find("\nupdate pages 0,16,64, zipf 1\n"), std::string::npos) << canonical_text(plan);
  o.update_pages = {0, 300};  // every page of the matrix
  EXPECT_EQ(make_plan(o).cells.size(), 16u);
}

TEST(Plan, UpdatePagesAboveTheMatrixOrTwiceAreRefused) {
  SweepOptions o = small();
  o.update_pages = {0, 301};
  EXPECT_EQ(refusal(o), "--update-pages 301 exceeds the matrix's 300 pages");
  o.update_pages = {16, 0, 16};
  EXPECT_EQ(refusal(o), "--update-pages: 16 is listed twice");
}

TEST(Plan, RefusalsNameTheFlag) {
  const struct {
    std::string SweepOptions::*field;
    const char* value;
    const char* message;
  } cases[] = {
      {&SweepOptions::dpf, "packed,morphogen,packed", "--dpf: packed is listed twice"},
      {&SweepOptions::batch_sizes, "33", "--batch-sizes: each value must be an integer in 1..32, got '33'"},
      {&SweepOptions::concurrency, "0", "--concurrency: each value must be an integer in 1..64, got '0'"},
      {&SweepOptions::fill, "zeros", "--fill must be hash or morphogen, got 'zeros'"},
      {&SweepOptions::strategies, "fused,,seed", "--strategies: empty item in 'fused,,seed'"},
  };
  for (const auto& c : cases) {
    SweepOptions o = small();
    o.*c.field = c.value;
    EXPECT_EQ(refusal(o), c.message) << c.value;
  }
  SweepOptions o = small();
  o.output = "";
  EXPECT_EQ(refusal(o), "--output must not be empty");
}

}  // namespace
}  // namespace pagequery::bench
