#include "bench/sweep_updates.hpp"

#include <span>

namespace pagequery::bench {

SweepUpdates::SweepUpdates(Engine& engine, double zipf, std::uint64_t seed)
    : engine_(engine), source_(engine.info().pages, engine.info().last_page_bytes, zipf, seed) {}

void SweepUpdates::stage(std::uint64_t pages) {
  source_.next_set(pages,
                   [&](std::uint64_t page, std::span<const std::uint8_t> bytes) { engine_.stage_page(page, bytes); });
}

}  // namespace pagequery::bench
