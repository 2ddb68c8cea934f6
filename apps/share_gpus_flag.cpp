#include "apps/share_gpus_flag.hpp"

#include <CLI/CLI.hpp>

namespace pagequery::apps {

void add_share_gpus_flag(CLI::App* app, bool& target) {
  app->add_flag("--share-gpus", target,
                "MPI: let ranks of one node run on the same GPU (several ranks on one GPU, on purpose);\n"
                "without it, two ranks of a node on one GPU are refused (docs/scale-out.md)");
}

}  // namespace pagequery::apps
