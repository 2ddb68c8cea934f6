#include "bench/runner.hpp"

#include "pagequery/core/dpf.hpp"
#include "pagequery/policies/policy_config.hpp"

#include <algorithm>

namespace pagequery::bench {

using namespace service;

namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Q random queries for one client, the same for every strategy of a (Q, C) and
// key format; both formats ask for the same pages.
KeyList make_queries(const Engine& engine, DpfFormat format, std::uint64_t pages, std::uint64_t seed, int queries,
                     int concurrency, int client) {
  std::uint64_t state =
      seed ^ (std::uint64_t(queries) << 40) ^ (std::uint64_t(concurrency) << 20) ^ std::uint64_t(client);
  KeyRng rng(splitmix64(state));
  KeyList keys;
  keys.format = format;
  for (int k = 0; k < queries * kKeysPerQuery; ++k) {
    const std::uint64_t target = splitmix64(state) % pages;
    if (format == DpfFormat::Packed)
      keys.packed.push_back(engine.make_packed_keys(target, rng).party0);
    else
      keys.morphogen.push_back(engine.make_keys(target, rng).party0);  // server A's keys
  }
  return keys;
}

CellRow cell_row(const Strategy& strategy, const Cell& cell, const Measurement& m, int warmup) {
  CellRow row;
  row.strategy = strategy.name;
  row.dpf = to_string(cell.dpf);
  row.mode = to_string(strategy.config.mode);
  row.streams = strategy.config.streams;
  row.cuda_graph = strategy.config.graph;
  row.tile = strategy.config.tile;
  row.threshold = strategy.config.threshold;
  row.queries = static_cast<std::uint32_t>(cell.queries);
  row.concurrency = static_cast<std::uint32_t>(cell.concurrency);
  row.iterations = static_cast<std::uint32_t>(m.batch_ms.size());  // fewer when interrupted
  row.warmup = static_cast<std::uint32_t>(warmup);
  row.single_ms = summarize(m.single_ms);
  row.batch_ms = summarize(m.batch_ms);
  row.batch_device_ms = summarize(m.batch_device_ms);
  row.update_pages = cell.update_pages;
  row.update_ms = summarize(m.update_ms);
  row.single_reduce_ms = summarize(m.single_reduce_ms).mean;
  row.batch_reduce_ms = summarize(m.batch_reduce_ms).mean;
  row.single_checksum = m.single_checksum;
  row.batch_checksum = m.batch_checksum;
  row.checksum_match = m.match;
  return row;
}

}  // namespace

Runner::Runner(const Plan& plan, Engine& engine, MpiContext& mpi) : plan_(plan), engine_(engine), mpi_(mpi) {
  // The same sets on every rank: the key seed is rank 0's. XORed with "updates" so
  // that the pages do not follow the queries' targets.
  if (plan.update_pages.back() > 0) updates_.emplace(engine, plan.update_zipf, plan.key_seed ^ 0x75706461746573ull);
}

// C == 1: the whole default instance; more: disjoint instances.
void Runner::open_sessions(int concurrency) {
  if (sessions_for_ == concurrency) return;
  single_sessions_.clear();
  batch_sessions_.clear();
  if (concurrency == 1) {
    single_sessions_.push_back(engine_.session());
    batch_sessions_.push_back(engine_.session());
  } else {
    single_sessions_ = engine_.sessions(concurrency);
    batch_sessions_ = engine_.sessions(concurrency);
  }
  for (Engine::Session& s : batch_sessions_) s.time_device(true);  // the batch's device time
  sessions_for_ = concurrency;
}

std::vector<Client> Runner::clients(const Cell& cell) {
  std::vector<Client> clients(static_cast<std::size_t>(cell.concurrency));
  open_sessions(cell.concurrency);
  for (int c = 0; c < cell.concurrency; ++c) {
    clients[c].single_session = &single_sessions_.at(c);
    clients[c].batch_session = &batch_sessions_.at(c);
    clients[c].channel = c;
    clients[c].keys =
        make_queries(engine_, cell.dpf, engine_.info().pages, plan_.key_seed, cell.queries, cell.concurrency, c);
  }
  return clients;
}

Measurement Runner::measure(const Cell& cell) {
  mpi_.open_channels(cell.concurrency);  // collective: outside the step below
  std::vector<Client> clients;
  mpi_.step([&] { clients = this->clients(cell); });
  MeasureSettings settings{plan_.strategies[cell.strategy].config, plan_.warmup, plan_.stop,
                           cell.update_pages ? &*updates_ : nullptr, cell.update_pages};
  if (plan_.cold) settings.evict = [this] { engine_.evict_caches(); };
  return bench::measure(clients, settings, mpi_);
}

void record_cell(RunRecord& run, const Plan& plan, const Cell& cell, const Measurement& m, std::uint64_t local_bytes) {
  CellRow row = cell_row(plan.strategies[cell.strategy], cell, m, plan.warmup);
  finish_row(row, local_bytes);
  const auto index = static_cast<std::uint32_t>(run.cells.size());
  run.cells.push_back(row);
  const std::vector<double> no_reduction(std::max(m.batch_device_ms.size(), m.update_ms.size()), 0.0);
  const std::vector<double>* paths[kSamplePaths][2] = {{&m.single_ms, &m.single_reduce_ms},
                                                       {&m.batch_ms, &m.batch_reduce_ms},
                                                       {&m.batch_device_ms, &no_reduction},
                                                       {&m.update_ms, &no_reduction}};
  for (int path = 0; path < kSamplePaths; ++path) {
    const auto& ms = *paths[path][0];
    const auto& reduce = *paths[path][1];
    for (std::size_t it = 0; it < ms.size(); ++it)
      run.samples.push_back(
          {index, static_cast<std::uint8_t>(path), static_cast<std::uint32_t>(it), ms[it], reduce[it]});
  }
}

}  // namespace pagequery::bench
