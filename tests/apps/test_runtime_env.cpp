// check_runtime_env(): the variables Kokkos 4.6 aborts or hangs on, refused with
// one line naming the variable, on made-up machines (the CLI tests run the binary
// on the real one).
#include "pagequery/policies/runtime_env.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace pagequery {
namespace {

using Vars = std::map<std::string, std::string>;

EnvLookup lookup(const Vars& vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// A 64-CPU OpenMP host that libgomp gives 8 threads.
RuntimeLimits openmp_host() {
  RuntimeLimits l;
  l.openmp = true;
  l.thread_table = 512;
  l.openmp_threads = 8;
  l.cpus = 64;
  l.tools = true;
  l.host_memory = std::uint64_t{64} << 30;
  return l;
}

// The message of the refusal, or "" when accepted.
std::string refusal(const RuntimeLimits& l, const Vars& vars) {
  try {
    check_runtime_env(l, lookup(vars));
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    return what;
  }
  return "";
}

TEST(RuntimeEnv, ThreadsOfTheHostBackend) {
  EXPECT_EQ(check_runtime_env(openmp_host(), lookup({})), 8);
  EXPECT_EQ(check_runtime_env(openmp_host(), lookup({{"KOKKOS_NUM_THREADS", "12"}})), 12);
  RuntimeLimits serial;
  EXPECT_EQ(check_runtime_env(serial, lookup({{"KOKKOS_NUM_THREADS", "99"}})), 1);  // Serial ignores it
}

TEST(RuntimeEnv, ThreadTableAndMachine) {
  RuntimeLimits l = openmp_host();
  l.openmp_threads = 513;  // OMP_NUM_THREADS=513 hangs Kokkos's OpenMP backend
  EXPECT_NE(refusal(l, {{"OMP_NUM_THREADS", "513"}}).find("OMP_NUM_THREADS='513': starts 513 threads; allowed: 1..512"),
            std::string::npos);
  l.openmp_threads = 100000000;
  EXPECT_NE(refusal(l, {}).find("one thread per CPU, 100000000; set OMP_NUM_THREADS in 1..512"), std::string::npos);
  // A 2-CPU machine: 16 threads per CPU at most.
  l = openmp_host();
  l.cpus = 2;
  EXPECT_NE(refusal(l, {{"KOKKOS_NUM_THREADS", "33"}}).find("KOKKOS_NUM_THREADS='33': must be an integer in 1..32"),
            std::string::npos);
  EXPECT_EQ(refusal(l, {{"KOKKOS_NUM_THREADS", "32"}}), "");
}

TEST(RuntimeEnv, KokkosNumThreadsGarbage) {
  for (const char* bad : {"abc", "0", "-1", "3x", " 3", "4294967297", ""})
    EXPECT_NE(refusal(openmp_host(), {{"KOKKOS_NUM_THREADS", bad}}).find("KOKKOS_NUM_THREADS="), std::string::npos)
        << bad;
  RuntimeLimits l = openmp_host();
  l.openmp_thread_limit = 2;
  EXPECT_NE(refusal(l, {{"KOKKOS_NUM_THREADS", "4"}}).find("exceeds OMP_THREAD_LIMIT (2)"), std::string::npos);
}

TEST(RuntimeEnv, KokkosBooleans) {
  for (const char* name : {"KOKKOS_DISABLE_WARNINGS", "KOKKOS_PRINT_CONFIGURATION", "KOKKOS_TUNE_INTERNALS"}) {
    EXPECT_NE(refusal(openmp_host(), {{name, "maybe"}}).find(std::string(name) + "='maybe': must be yes"),
              std::string::npos);
    for (const char* good : {"1", "0", "TRUE", "no", "Yes"}) EXPECT_EQ(refusal(openmp_host(), {{name, good}}), "");
  }
}

TEST(RuntimeEnv, DeviceIds) {
  EXPECT_NE(refusal(openmp_host(), {{"KOKKOS_DEVICE_ID", "x"}}).find("KOKKOS_DEVICE_ID='x'"), std::string::npos);
  EXPECT_NE(refusal(openmp_host(), {{"KOKKOS_DEVICE_ID", "-1"}}).find("must be an integer >= 0"), std::string::npos);
  EXPECT_EQ(refusal(openmp_host(), {{"KOKKOS_DEVICE_ID", "7"}}), "");  // a host build has no device to pick
  EXPECT_NE(refusal(openmp_host(), {{"KOKKOS_MAP_DEVICE_ID_BY", "foo"}}).find("must be mpi_rank or random"),
            std::string::npos);
  EXPECT_NE(refusal(openmp_host(), {{"KOKKOS_MAP_DEVICE_ID_BY", "random"}, {"KOKKOS_DEVICE_ID", "0"}}).find("both set"),
            std::string::npos);
  RuntimeLimits gpu;
  gpu.gpus = 4;
  EXPECT_EQ(refusal(gpu, {{"KOKKOS_DEVICE_ID", "3"}}), "");
  EXPECT_NE(refusal(gpu, {{"KOKKOS_DEVICE_ID", "4"}}).find("there are 4 visible GPUs (ids 0..3)"), std::string::npos);
  EXPECT_NE(refusal(gpu, {{"KOKKOS_DEVICE_ID", "2"}, {"KOKKOS_VISIBLE_DEVICES", "3,1"}}).find("2 visible GPUs"),
            std::string::npos);
  EXPECT_NE(refusal(gpu, {{"KOKKOS_VISIBLE_DEVICES", "0,4"}}).find("device ids in 0..3"), std::string::npos);
  EXPECT_NE(refusal(gpu, {{"KOKKOS_VISIBLE_DEVICES", ""}}).find("KOKKOS_VISIBLE_DEVICES"), std::string::npos);
  gpu.gpus = 0;
  EXPECT_NE(refusal(gpu, {}).find("none is visible"), std::string::npos);
}

TEST(RuntimeEnv, ToolsLibraries) {
  EXPECT_NE(refusal(openmp_host(), {{"KOKKOS_TOOLS_LIBS", "/nonexistent/libtool.so"}}).find("cannot load"),
            std::string::npos);
  EXPECT_NE(refusal(openmp_host(), {{"KOKKOS_TOOLS_LIBS", "a"}, {"KOKKOS_PROFILE_LIBRARY", "b"}})
                .find("differs from KOKKOS_PROFILE_LIBRARY='b'"),
            std::string::npos);
  RuntimeLimits no_tools = openmp_host();
  no_tools.tools = false;
  EXPECT_NE(refusal(no_tools, {{"KOKKOS_TOOLS_LIBS", "libc.so.6"}}).find("without tools support"), std::string::npos);
  EXPECT_EQ(refusal(openmp_host(), {{"KOKKOS_TOOLS_LIBS", ""}}), "");  // empty: nothing to load
}

TEST(RuntimeEnv, LauncherVariablesKokkosReadsWithStoi) {
  EXPECT_NE(refusal(openmp_host(), {{"OMPI_COMM_WORLD_LOCAL_SIZE", "x"}}).find("OMPI_COMM_WORLD_LOCAL_SIZE='x'"),
            std::string::npos);
  EXPECT_NE(refusal(openmp_host(), {{"SLURM_LOCALID", "x"}}).find("SLURM_LOCALID='x'"), std::string::npos);
  // Only the first variable set of each list is read: a later one does not matter.
  EXPECT_EQ(refusal(openmp_host(), {{"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"SLURM_LOCALID", "x"}}), "");
}

TEST(RuntimeEnv, StackSize) {
  EXPECT_NE(refusal(openmp_host(), {{"OMP_STACKSIZE", "100G"}}).find("OMP_STACKSIZE='100G': 8 threads of"),
            std::string::npos);
  EXPECT_EQ(refusal(openmp_host(), {{"OMP_STACKSIZE", "16M"}}), "");
  EXPECT_EQ(refusal(openmp_host(), {{"OMP_STACKSIZE", "4096"}}), "");  // K by default
}

TEST(RuntimeEnv, ValuesAreEscaped) {
  const std::string what = refusal(openmp_host(), {{"KOKKOS_DEVICE_ID", "1\n2"}});
  EXPECT_NE(what.find("KOKKOS_DEVICE_ID='1\\n2'"), std::string::npos) << what;
}

TEST(RuntimeEnv, ThreadCountsAreReadIn64Bits) {
  // libgomp hands OMP_NUM_THREADS on as an int: 4294967297 reads as 1 thread.
  RuntimeLimits l = openmp_host();
  l.openmp_threads = 1;
  for (const char* wrapped : {"4294967297", "4294967296", " 4294967297 ,2"})
    EXPECT_NE(refusal(l, {{"OMP_NUM_THREADS", wrapped}}).find("starts 4294967"), std::string::npos) << wrapped;
  EXPECT_EQ(refusal(l, {{"OMP_NUM_THREADS", "1"}}), "");
}

// libgomp 16's wording ("NAME=value: ..."); Debian 12's ("... variable NAME") runs in
// apps.hardening2.libgomp with the real libgomp.
TEST(RuntimeEnv, VariablesLibgompRejected) {
  note_openmp_warning("Invalid value for environment variable OMP_PROC_BIND=x: X");
  EXPECT_NE(refusal(openmp_host(), {{"OMP_PROC_BIND", "x"}}).find("OMP_PROC_BIND='x': not a valid OpenMP setting"),
            std::string::npos);
}

}  // namespace
}  // namespace pagequery
