#pragma once
// --share-gpus, shared by `answer` and `sweep`: MPI ranks of one node may run on
// the same GPU (service/rank_device.hpp refuses that by default).
namespace CLI {
class App;
}

namespace pagequery::apps {

// Registers --share-gpus on `app`, writing into `target` (which must outlive the parse).
void add_share_gpus_flag(CLI::App* app, bool& target);

}  // namespace pagequery::apps
