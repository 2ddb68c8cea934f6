#pragma once
// The sweep's live updates (--update-pages): synthetic sets of pages
// (service/updates.hpp) staged and applied as the engine's epochs.
#include "service/updates.hpp"

#include "pagequery/policies/engine.hpp"

#include <cstdint>

namespace pagequery::bench {

// A fresh synthetic set of pages staged on `engine` (host work, untimed), then
// applied as its next epoch (the timed part). Every MPI rank's stream draws the
// same sets from the same seed.
class SweepUpdates {
 public:
  SweepUpdates(Engine& engine, double zipf, std::uint64_t seed);
  void stage(std::uint64_t pages);  // the next set of `pages` distinct pages
  void apply() { engine_.advance_epoch(); }

 private:
  Engine& engine_;
  service::SyntheticUpdates source_;
};

}  // namespace pagequery::bench
