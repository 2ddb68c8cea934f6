// Which GPU an MPI rank takes (service/device_binding.hpp): the Slurm layouts, the
// launchers' local ranks, CUDA_VISIBLE_DEVICES, and the refusal of two ranks of
// a node on one GPU.
#include "service/device_binding.hpp"

#include "service/errors.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pagequery::service {
namespace {

using Vars = std::map<std::string, std::string>;

Env env_of(const Vars& vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

// The choice of the rank of local rank `local` among `ranks`, seeing `gpus`.
DeviceChoice choice(const Vars& vars, int local, int gpus, int ranks = 4) {
  return choose_device(binding_input(env_of(vars), local, ranks, gpus));
}

std::string refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(accepted)";
}

// Ranks 0..n-1 of one node (node 0) with the given choices.
std::vector<RankGpu> node_of(const std::vector<DeviceChoice>& choices, int node = 0, int first_rank = 0) {
  std::vector<RankGpu> out;
  for (const DeviceChoice& c : choices) out.push_back({first_rank + static_cast<int>(out.size()), node, c.gpu});
  return out;
}

TEST(DeviceBinding, HostBackendsBindNothing) {
  for (const Vars& vars : {Vars{}, Vars{{"CUDA_VISIBLE_DEVICES", "0"}, {"PAGEQUERY_GPU_LAYOUT", "per-task"}}}) {
    const DeviceChoice c = choice(vars, 3, 0);
    EXPECT_FALSE(c.index.has_value());
    EXPECT_EQ(c.gpu, "");
  }
  const std::vector<RankGpu> ranks{{0, 0, ""}, {1, 0, ""}};
  EXPECT_NO_THROW(check_sharing(ranks, false));
  EXPECT_EQ(binding_summary(ranks), "");
}

TEST(DeviceBinding, GpusPerTaskOneEachRankTakesItsOnlyGpu) {
  // srun --gpus-per-task=1: every task sees one GPU, its own.
  std::vector<DeviceChoice> choices;
  for (int local = 0; local < 4; ++local) {
    const Vars vars{{"CUDA_VISIBLE_DEVICES", std::to_string(4 + local)},
                    {"PAGEQUERY_GPU_LAYOUT", "per-task"},
                    {"SLURM_LOCALID", std::to_string(local)},
                    {"SLURM_STEP_NUM_TASKS", "4"}};
    choices.push_back(choice(vars, local, 1));
    EXPECT_EQ(choices.back().index, 0);
    EXPECT_EQ(choices.back().gpu, std::to_string(4 + local));
  }
  EXPECT_NO_THROW(check_sharing(node_of(choices), false));
  EXPECT_EQ(binding_summary(node_of(choices)), "rank 0 on GPU 4, rank 1 on GPU 5, rank 2 on GPU 6, rank 3 on GPU 7");
}

TEST(DeviceBinding, GpusPerNodeTheLocalRankPicks) {
  for (const char* visible : {"", "0,1,2,3", "GPU-aa,GPU-bb,GPU-cc,GPU-dd"}) {
    std::vector<DeviceChoice> choices;
    for (int local = 0; local < 4; ++local) {
      Vars vars{{"PAGEQUERY_GPU_LAYOUT", "per-node"}};
      if (*visible) vars["CUDA_VISIBLE_DEVICES"] = visible;
      choices.push_back(choice(vars, local, 4));
      EXPECT_EQ(choices.back().index, local);
    }
    EXPECT_NO_THROW(check_sharing(node_of(choices), false)) << visible;
    if (std::string(visible).starts_with("GPU"))
      EXPECT_EQ(choices[2].gpu, "GPU-cc");
    else
      EXPECT_EQ(choices[2].gpu, "2");
  }
}

TEST(DeviceBinding, EightGpusPerNodeOnTwoNodes) {
  // Two nodes of 8 GPUs, 8 ranks each: GPU numbers repeat across nodes, not within.
  std::vector<RankGpu> ranks;
  for (int node : {0, 8}) {
    std::vector<DeviceChoice> choices;
    for (int local = 0; local < 8; ++local) choices.push_back(choice({}, local, 8, 16));
    for (const RankGpu& r : node_of(choices, node, node)) ranks.push_back(r);
  }
  EXPECT_NO_THROW(check_sharing(ranks, false));
  EXPECT_TRUE(binding_summary(ranks).starts_with("rank 0 on node 0 GPU 0, rank 1 on node 0 GPU 1"));
  EXPECT_TRUE(binding_summary(ranks).ends_with("rank 15 on node 8 GPU 7"));
}

TEST(DeviceBinding, MoreRanksThanGpusIsRefusedUnlessShared) {
  std::vector<DeviceChoice> choices;
  for (int local = 0; local < 8; ++local) choices.push_back(choice({{"CUDA_VISIBLE_DEVICES", "0,1,2,3"}}, local, 4, 8));
  EXPECT_EQ(choices[4].index, 0);
  EXPECT_EQ(refusal([&] { check_sharing(node_of(choices), false); }),
            "ranks 0 and 4 would share GPU 0 of their node: give each rank a GPU of its own (srun "
            "--gpus-per-task=1, or no more ranks per node than GPUs), or pass --share-gpus");
  EXPECT_NO_THROW(check_sharing(node_of(choices), true));
}

TEST(DeviceBinding, SeveralRanksOnTheOneLentGpuNeedShareGpus) {
  std::vector<DeviceChoice> choices;
  for (int local = 0; local < 4; ++local)
    choices.push_back(choice({{"OMPI_COMM_WORLD_LOCAL_RANK", std::to_string(local)}}, local, 1));
  for (const DeviceChoice& c : choices) EXPECT_EQ(c.index, 0);
  EXPECT_EQ(refusal([&] { check_sharing(node_of(choices), false); }).substr(0, 35),
            "ranks 0 and 1 would share GPU 0 of ");
  EXPECT_NO_THROW(check_sharing(node_of(choices), true));
}

TEST(DeviceBinding, TheSameGpuHandedToEveryTaskIsRefused) {
  // A launcher that gave every task the same one-GPU CUDA_VISIBLE_DEVICES.
  std::vector<DeviceChoice> choices;
  for (int local = 0; local < 2; ++local) choices.push_back(choice({{"CUDA_VISIBLE_DEVICES", "3"}}, local, 1, 2));
  EXPECT_EQ(refusal([&] { check_sharing(node_of(choices), false); }).substr(0, 32), "ranks 0 and 1 would share GPU 3 ");
}

TEST(DeviceBinding, TheLaunchersLocalRankWinsWhereItStartedTheRanks) {
  // mpirun's local rank, before SLURM_LOCALID and MPI's.
  EXPECT_EQ(
      choice({{"OMPI_COMM_WORLD_LOCAL_RANK", "3"}, {"SLURM_LOCALID", "1"}, {"SLURM_STEP_NUM_TASKS", "4"}}, 2, 4).index,
      3);
  // srun started the 4 ranks: its task numbering.
  EXPECT_EQ(choice({{"SLURM_LOCALID", "1"}, {"SLURM_STEP_NUM_TASKS", "4"}}, 2, 4).index, 1);
  // mpirun inside a job: SLURM_LOCALID is its daemon's (a step of 1 task per node).
  EXPECT_EQ(choice({{"SLURM_LOCALID", "0"}, {"SLURM_STEP_NUM_TASKS", "1"}}, 2, 4).index, 2);
  EXPECT_EQ(choice({{"SLURM_LOCALID", "0"}}, 2, 4).index, 2);
  // Modulo the GPUs seen.
  EXPECT_EQ(choice({{"OMPI_COMM_WORLD_LOCAL_RANK", "5"}}, 5, 4, 8).index, 1);
}

TEST(DeviceBinding, RefusesWhatContradictsTheLayout) {
  EXPECT_EQ(refusal([] {
              choice({{"PAGEQUERY_GPU_LAYOUT", "per-task"}, {"CUDA_VISIBLE_DEVICES", "0,1"}}, 0, 2);
            }),
            "the GPU layout is per-task, but this rank sees 2 GPUs (CUDA_VISIBLE_DEVICES=0,1): the launcher did not "
            "give each task a GPU of its own (srun --gpus-per-task=1)");
  EXPECT_EQ(refusal([] {
              choice({{"PAGEQUERY_GPU_LAYOUT", "per-task"}}, 0, 4);
            }),
            "the GPU layout is per-task, but this rank sees 4 GPUs: the launcher did not give each task a GPU of "
            "its own (srun --gpus-per-task=1)");
  EXPECT_EQ(refusal([] {
              choice({{"PAGEQUERY_GPU_LAYOUT", "per-rank"}}, 0, 1);
            }),
            "PAGEQUERY_GPU_LAYOUT must be per-task or per-node, got 'per-rank'");
  EXPECT_EQ(refusal([] {
              choice({{"PAGEQUERY_GPU_LAYOUT", "per-rank"}}, 0, 0);
            }),
            "PAGEQUERY_GPU_LAYOUT must be per-task or per-node, got 'per-rank'");
}

TEST(DeviceBinding, RefusesMalformedVariables) {
  EXPECT_EQ(refusal([] {
              choice({{"CUDA_VISIBLE_DEVICES", "0"}}, 1, 2);
            }),
            "CUDA_VISIBLE_DEVICES=0 has no entry 1, but this rank sees 2 GPUs (CUDA_VISIBLE_DEVICES=0)");
  EXPECT_EQ(refusal([] {
              choice({{"CUDA_VISIBLE_DEVICES", "0,,2"}}, 1, 3);
            }).substr(0, 35),
            "CUDA_VISIBLE_DEVICES=0,,2 has no en");
  EXPECT_EQ(refusal([] {
              choice({{"OMPI_COMM_WORLD_LOCAL_RANK", "-1"}}, 0, 1);
            }),
            "OMPI_COMM_WORLD_LOCAL_RANK must be an unsigned decimal integer below 2^64, got '-1'");
  EXPECT_EQ(refusal([] {
              choice({{"SLURM_LOCALID", "x"}, {"SLURM_STEP_NUM_TASKS", "4"}}, 0, 1);
            }),
            "SLURM_LOCALID must be an unsigned decimal integer below 2^64, got 'x'");
  EXPECT_EQ(refusal([] {
              choice({{"OMPI_COMM_WORLD_LOCAL_RANK", "4294967296"}}, 0, 1);
            }),
            "OMPI_COMM_WORLD_LOCAL_RANK is too large: 4294967296");
}

TEST(DeviceBinding, VisibleDeviceList) {
  EXPECT_EQ(visible_device_list(""), std::vector<std::string>{});
  EXPECT_EQ(visible_device_list("3"), std::vector<std::string>{"3"});
  EXPECT_EQ(visible_device_list("0,MIG-1,"), (std::vector<std::string>{"0", "MIG-1", ""}));
}

}  // namespace
}  // namespace pagequery::service
