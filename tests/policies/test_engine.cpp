// --accumulate auto (policies/engine.hpp): the parse, the rule that a lop3-only
// strategy makes it lop3, and the engine as the one place that resolves the rest.
#include "pagequery/policies/engine.hpp"

#include <Kokkos_Core.hpp>  // KOKKOS_ENABLE_CUDA
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace pagequery {
namespace {

TEST(Accumulate, ParsesEveryModeAndNamesThemInTheRefusal) {
  for (Accumulate a : {Accumulate::Lop3, Accumulate::Mma, Accumulate::Auto})
    EXPECT_EQ(parse_accumulate(to_string(a)), a) << to_string(a);
  EXPECT_EQ(parse_accumulate("auto"), Accumulate::Auto);
  try {
    parse_accumulate("Auto");
    ADD_FAILURE() << "'Auto' was accepted";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "unknown accumulation 'Auto' (expected lop3, mma or auto)");
  }
  EXPECT_EQ(MatrixSpec{}.accumulate, Accumulate::Auto);
}

TEST(Accumulate, AutoTurnsLop3WhenAStrategyRunsOnlyThere) {
  PolicyConfig gemm;
  gemm.mode = BatchMode::Gemm;  // lop3-only whatever the build (lop3_only)
  PolicyConfig fused;
  fused.mode = BatchMode::Fused;
  const std::vector<PolicyConfig> plain{fused, PolicyConfig{}};
  const std::vector<PolicyConfig> with_gemm{fused, gemm};
  EXPECT_EQ(accumulate_for(Accumulate::Auto, plain), Accumulate::Auto);  // the engine decides
  EXPECT_EQ(accumulate_for(Accumulate::Auto, {}), Accumulate::Auto);
  EXPECT_EQ(accumulate_for(Accumulate::Auto, with_gemm), Accumulate::Lop3);
  // Explicit modes stay: mma's refusal of gemm is the caller's, not a silent lop3.
  EXPECT_EQ(accumulate_for(Accumulate::Mma, with_gemm), Accumulate::Mma);
  EXPECT_EQ(accumulate_for(Accumulate::Lop3, plain), Accumulate::Lop3);
}

MatrixSpec synthetic(Accumulate accumulate) {
  MatrixSpec spec;
  spec.synthetic_pages = 40;
  spec.seed = 3;
  spec.accumulate = accumulate;
  return spec;
}

// Auto runs mma exactly where an explicit mma engine can be built, else lop3; the
// info never says auto. On host backends that is lop3.
TEST(Accumulate, TheEngineResolvesAutoByItsDevice) {
  Accumulate expected = Accumulate::Lop3;
  try {
    EXPECT_EQ(Engine(synthetic(Accumulate::Mma)).info().accumulate, Accumulate::Mma);
    expected = Accumulate::Mma;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--accumulate mma needs a CUDA GPU"), std::string::npos) << e.what();
  }
#ifndef KOKKOS_ENABLE_CUDA
  EXPECT_EQ(expected, Accumulate::Lop3);
#endif
  const Engine automatic(synthetic(Accumulate::Auto));
  EXPECT_EQ(automatic.info().accumulate, expected);
  EXPECT_EQ(Engine(synthetic(Accumulate::Lop3)).info().accumulate, Accumulate::Lop3);
}

TEST(TensorKernel, ParsesEveryKernelAndResolvesAutoByComputeCapability) {
  for (TensorKernel k : {TensorKernel::Auto, TensorKernel::MmaSync, TensorKernel::Wgmma})
    EXPECT_EQ(parse_tensor_kernel(to_string(k)), k);
  EXPECT_THROW(parse_tensor_kernel("wgmma_sm90"), std::invalid_argument);
  // Auto: wgmma above 96 keys where it runs; sm_90a code is compute capability 9.0's alone.
  EXPECT_EQ(resolve_tensor_kernel(TensorKernel::Auto, 9, 0, 97), TensorKernel::Wgmma);
  EXPECT_EQ(resolve_tensor_kernel(TensorKernel::Auto, 9, 0, 96), TensorKernel::MmaSync);
  EXPECT_EQ(resolve_tensor_kernel(TensorKernel::Auto, 8, 0, 384), TensorKernel::MmaSync);
  EXPECT_EQ(resolve_tensor_kernel(TensorKernel::Auto, 10, 0, 384), TensorKernel::MmaSync);
  EXPECT_EQ(resolve_tensor_kernel(TensorKernel::MmaSync, 9, 0, 384), TensorKernel::MmaSync);
  EXPECT_EQ(resolve_tensor_kernel(TensorKernel::Wgmma, 9, 0, 3), TensorKernel::Wgmma);
  EXPECT_THROW(resolve_tensor_kernel(TensorKernel::Wgmma, 8, 9, 384), std::invalid_argument);
}

// The engine names the kernel that scans packed keys, and refuses wgmma where it
// cannot run (lop3, or a device other than compute capability 9.0).
TEST(TensorKernel, TheEngineNamesThePackedKernelAndRefusesWgmmaWhereItCannotRun) {
  const MatrixInfo lop3 = Engine(synthetic(Accumulate::Lop3)).info();
  EXPECT_EQ(lop3.packed_kernel, "portable");
  MatrixSpec wgmma = synthetic(Accumulate::Lop3);
  wgmma.tensor_kernel = TensorKernel::Wgmma;
  EXPECT_THROW(Engine{wgmma}, ConfigError);
  const MatrixInfo automatic = Engine(synthetic(Accumulate::Auto)).info();
  if (automatic.accumulate == Accumulate::Lop3) {  // no tensor cores: no rate either
    EXPECT_EQ(automatic.packed_kernel, "portable");
    EXPECT_EQ(Engine(synthetic(Accumulate::Lop3)).tensor_rate(TensorKernel::MmaSync), 0.0);
    return;
  }
  const bool hopper = automatic.packed_kernel.starts_with("auto (wgmma above 96 keys");
  EXPECT_TRUE(hopper || automatic.packed_kernel == "mma_sync") << automatic.packed_kernel;
  wgmma.accumulate = Accumulate::Mma;
  if (hopper) {
    EXPECT_EQ(Engine(wgmma).info().packed_kernel, "wgmma");
    EXPECT_GT(Engine(wgmma).tensor_rate(TensorKernel::Wgmma), 1e14);
  } else {
    EXPECT_THROW(Engine{wgmma}, ConfigError);
  }
  EXPECT_GT(Engine(synthetic(Accumulate::Mma)).tensor_rate(TensorKernel::MmaSync), 1e14);
}

// The launches are timed (two fences an answer) only where a session asks: the
// sweep's batch sessions; a server's answers wait once, for their bytes.
TEST(Session, TimesItsLaunchesOnlyWhenAsked) {
  const Engine engine(synthetic(Accumulate::Lop3));
  KeyRng rng(5);
  std::vector<DpfKey> keys;
  for (std::uint64_t target : {1, 7, 30}) keys.push_back(engine.make_keys(target, rng).party0);
  Engine::Session session = engine.session();
  const std::vector<std::uint8_t> untimed = session.answer(PolicyConfig{}, keys);
  EXPECT_EQ(session.last_device_ms(), 0.0);
  session.time_device(true);
  EXPECT_EQ(session.answer(PolicyConfig{}, keys), untimed);
  EXPECT_GT(session.last_device_ms(), 0.0);
  session.time_device(false);
  EXPECT_EQ(session.last_device_ms(), 0.0);
}

}  // namespace
}  // namespace pagequery
