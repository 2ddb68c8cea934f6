#include "bench/measure.hpp"

#include "bench/signals.hpp"
#include "bench/stats.hpp"
#include "service/impl/test_hooks.hpp"
#include "pagequery/core/bits128.hpp"
#include "pagequery/policies/policy_config.hpp"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <barrier>
#include <chrono>
#include <climits>
#include <memory>
#include <new>
#include <thread>

namespace pagequery::bench {

using namespace service;

namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point t0, Clock::time_point t1) {
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

// Runs one path of one client; returns the milliseconds its MPI reductions took.
// Under MPI every answer is XOR-reduced into rank 0 as soon as it is computed (the
// single loop: each query alone; the batch: the whole batch), after a barrier on
// the client's channel, so the reduction time leaves out the wait for the slowest
// rank's local answer (the iteration time includes it). A failed answer does not
// skip the collectives (zero bytes stand in for it): every rank runs the same
// sequence, and the error is rethrown at the end of the path.
double run_path(Client& c, int path, const MeasureSettings& settings, const MpiContext& mpi) {
  std::exception_ptr error;
  double reduce_ms = 0;
  // Keys [first, first + count) of the client's.
  const auto answer = [&](Engine::Session& session, const PolicyConfig& config, std::size_t first, std::size_t count) {
    std::vector<std::uint8_t> out;
    if (!error) {
      try {
        out = c.keys.answer(session, config, first, count);
      } catch (...) {
        error = std::current_exception();
      }
    }
    if (out.size() != count * kPageBytes) out.assign(count * kPageBytes, 0);
    if (mpi.size() > 1) {
      mpi.barrier(c.channel);
      const auto t0 = Clock::now();
      mpi.reduce_xor(out, c.channel);
      reduce_ms += ms_between(t0, Clock::now());
    }
    return out;
  };
  if (path == 0) {
    const std::size_t queries = c.keys.size() / kKeysPerQuery;
    c.single_out.resize(queries);
    for (std::size_t q = 0; q < queries; ++q)
      c.single_out[q] = answer(*c.single_session, single_policy(), q * kKeysPerQuery, kKeysPerQuery);
  } else {
    c.batch_out = answer(*c.batch_session, settings.batch_config, 0, c.keys.size());
    c.device_ms = error ? 0 : c.batch_session->last_device_ms();
    // After the reduction (flipped on every rank, an even count would cancel).
    if (mpi.root() && !c.batch_out.empty() && Details::test_hooks().flip_batch_byte) c.batch_out[0] ^= 0x01;
  }
  if (error) std::rethrow_exception(error);
  return reduce_ms;
}

void hash_path(Client& c, int path) {
  if (path == 0) {
    std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(), XXH3_freeState);
    if (!state) throw std::bad_alloc();
    XXH3_64bits_reset(state.get());
    for (const auto& out : c.single_out) XXH3_64bits_update(state.get(), out.data(), out.size());
    c.single_hash.push_back(XXH3_64bits_digest(state.get()));
  } else {
    c.batch_hash.push_back(XXH3_64bits(c.batch_out.data(), c.batch_out.size()));
  }
}

// run_path with its failure kept in c.error (the first one); true when it failed.
// A path runs after a failure too, since its collectives must match the other ranks'.
bool path_failed(Client& c, int path, const MeasureSettings& settings, const MpiContext& mpi) {
  try {
    c.reduce_ms = run_path(c, path, settings, mpi);
  } catch (...) {
    if (!c.error) c.error = std::current_exception();
    return true;
  }
  return false;
}

// hash_path unless the client failed already, its failure kept in c.error; true
// when it failed.
bool hash_failed(Client& c, int path) {
  if (c.error) return false;
  try {
    hash_path(c, path);
  } catch (...) {
    c.error = std::current_exception();
    return true;
  }
  return false;
}

// The paths of an iteration in order: the single loop, then the batch; with
// updates the batch first, right after the epoch advance.
std::array<int, 2> path_order(const MeasureSettings& settings) {
  return settings.updates ? std::array{1, 0} : std::array{0, 1};
}

// Collective: stages the next update set (untimed host work), then applies it,
// timed from a barrier until every rank has patched its shard. A failure is kept
// in `error` (the first one); the barriers run anyway, as on the other ranks.
double apply_updates(const MeasureSettings& settings, const MpiContext& mpi, std::exception_ptr& error) {
  const auto attempt = [&error](auto&& step) {
    if (error) return;
    try {
      step();
    } catch (...) {
      error = std::current_exception();
    }
  };
  attempt([&] { settings.updates->stage(settings.update_pages); });
  mpi.barrier();
  const auto t0 = Clock::now();
  attempt([&] { settings.updates->apply(); });
  mpi.barrier();
  return ms_between(t0, Clock::now());
}

// The measured iterations' times (the warmup's are dropped).
class Recorder {
 public:
  Recorder(Measurement& m, int warmup) : m_(m), warmup_(warmup) {}
  void operator()(int it, int path, Clock::time_point t0, Clock::time_point t1, double reduce_ms, double device_ms) {
    if (it < warmup_) return;
    (path == 0 ? m_.single_ms : m_.batch_ms).push_back(ms_between(t0, t1));
    (path == 0 ? m_.single_reduce_ms : m_.batch_reduce_ms).push_back(reduce_ms);
    if (path == 1) m_.batch_device_ms.push_back(device_ms);
  }
  void update(int it, double ms) {
    if (it >= warmup_) m_.update_ms.push_back(ms);
  }

 private:
  Measurement& m_;
  int warmup_;
};

// Collective: the largest signal number seen on any rank, or INT_MAX when a rank failed.
int stop_reason(const MpiContext& mpi, bool failed) { return mpi.max(failed ? INT_MAX : pending_signal()); }

// The stopping rule over one measurement's iterations, the same answer on every
// rank. The noise is summarised again only after the samples grew by 1/16: a
// cell of fast batches takes thousands of samples.
class Iterations {
 public:
  Iterations(const MeasureSettings& settings, const Measurement& m, const MpiContext& mpi)
      : settings_(settings), m_(m), mpi_(mpi) {}

  // Collective: whether iteration `it` (warmup included) runs.
  bool more(int it) {
    if (it < settings_.warmup) return true;
    if (it == settings_.warmup) start_ = Clock::now();
    const double seconds = ms_between(start_, Clock::now()) / 1e3;
    const std::size_t n = m_.batch_ms.size();
    bool done = false;
    if (settings_.stop.iterations > 0 || n >= next_check_ || seconds >= settings_.stop.max_seconds) {
      done = enough(settings_.stop, m_, seconds);
      next_check_ = n + std::max<std::size_t>(1, n / 16);
    }
    return mpi_.max(done ? 1 : 0) == 0;
  }

 private:
  const MeasureSettings& settings_;
  const Measurement& m_;
  const MpiContext& mpi_;
  Clock::time_point start_;
  std::size_t next_check_ = 0;
};

// One client on the calling thread; returns why it stopped early (0: it did not).
int measure_one(Client& c, const MeasureSettings& settings, const MpiContext& mpi, Recorder& record,
                Iterations& iterations, std::exception_ptr& update_error) {
  for (int it = 0;; ++it) {
    if (const int stop = stop_reason(mpi, c.error || update_error); stop != 0) return stop;
    if (!iterations.more(it)) return 0;
    if (settings.updates) record.update(it, apply_updates(settings, mpi, update_error));
    for (const int path : path_order(settings)) {
      if (settings.evict) settings.evict();
      mpi.barrier();  // all ranks start the timed path together
      const auto t0 = Clock::now();
      path_failed(c, path, settings, mpi);
      const auto t1 = Clock::now();
      record(it, path, t0, t1, c.reduce_ms, c.device_ms);
      hash_failed(c, path);
    }
  }
}

// A client thread: every path of every iteration between the start and done
// barriers of the coordinator (measure_threads), until it is told to leave.
void client_thread(Client& c, const MeasureSettings& settings, const MpiContext& mpi, std::barrier<>& sync,
                   const std::atomic<bool>& leave, std::atomic<bool>& failed) {
  for (;;)
    for (const int path : path_order(settings)) {
      sync.arrive_and_wait();  // start
      if (leave.load()) return;
      if (path_failed(c, path, settings, mpi)) failed.store(true);
      sync.arrive_and_wait();  // done
      if (hash_failed(c, path)) failed.store(true);
    }
}

// C > 1 clients, one thread each, timed from the common start to the last finish;
// returns why they stopped early (0: they did not). Updates are applied here,
// while the clients wait at the start barrier.
int measure_threads(std::vector<Client>& clients, const MeasureSettings& settings, const MpiContext& mpi,
                    Recorder& record, Iterations& iterations, std::exception_ptr& update_error) {
  std::barrier<> sync(static_cast<std::ptrdiff_t>(clients.size()) + 1);
  std::atomic<bool> leave{false}, failed{false};
  std::vector<std::thread> threads;
  threads.reserve(clients.size());
  for (Client& c : clients)
    threads.emplace_back([&, client = &c] { client_thread(*client, settings, mpi, sync, leave, failed); });
  int stop = 0;
  for (int it = 0; (stop = stop_reason(mpi, failed.load() || update_error)) == 0 && iterations.more(it); ++it) {
    if (settings.updates) record.update(it, apply_updates(settings, mpi, update_error));
    for (const int path : path_order(settings)) {
      if (settings.evict) settings.evict();  // the clients wait at the start barrier meanwhile
      mpi.barrier();
      sync.arrive_and_wait();
      const auto t0 = Clock::now();
      sync.arrive_and_wait();
      const auto t1 = Clock::now();
      double reduce_ms = 0, device_ms = 0;
      for (const Client& c : clients) reduce_ms += c.reduce_ms, device_ms = std::max(device_ms, c.device_ms);
      record(it, path, t0, t1, reduce_ms / static_cast<double>(clients.size()), device_ms);
    }
  }
  leave.store(true);
  sync.arrive_and_wait();  // releases the workers, which see `leave` and return
  for (std::thread& t : threads) t.join();
  return stop;
}

// XXH3 of the clients' checksums (u64 little-endian, client order).
std::uint64_t combine_checksums(const std::vector<std::uint64_t>& sums) {
  std::vector<unsigned char> bytes;
  for (std::uint64_t s : sums)
    for (int b = 0; b < 8; ++b) bytes.push_back(static_cast<unsigned char>(s >> (8 * b)));
  return XXH3_64bits(bytes.data(), bytes.size());
}

// Both paths, every iteration, every client: the bytes of the first single loop;
// with updates, where every iteration scans a new epoch, those of the same
// iteration's single loop. A path's checksum is one that differs from its
// reference, if any, else its first.
void check_checksums(const std::vector<Client>& clients, bool per_iteration, Measurement& m) {
  std::vector<std::uint64_t> single_sums, batch_sums;
  for (const Client& c : clients) {
    std::uint64_t single = c.single_hash.front(), batch = c.batch_hash.front();
    for (std::size_t i = 0; i < c.single_hash.size(); ++i) {
      const std::uint64_t reference = c.single_hash[per_iteration ? i : 0];
      if (c.single_hash[i] != reference) m.match = false, single = c.single_hash[i];
      if (i < c.batch_hash.size() && c.batch_hash[i] != reference) m.match = false, batch = c.batch_hash[i];
    }
    single_sums.push_back(single);
    batch_sums.push_back(batch);
  }
  const bool one = clients.size() == 1;
  m.single_checksum = one ? single_sums.front() : combine_checksums(single_sums);
  m.batch_checksum = one ? batch_sums.front() : combine_checksums(batch_sums);
}

std::exception_ptr first_error(const std::vector<Client>& clients) {
  for (const Client& c : clients)
    if (c.error) return c.error;
  return nullptr;
}

}  // namespace

const PolicyConfig& single_policy() {
  static const PolicyConfig latency = strategy_config("baseline_full_batch");
  return latency;
}

bool enough(const StoppingRule& rule, const Measurement& m, double seconds) {
  const std::size_t n = m.batch_ms.size();
  if (rule.iterations > 0) return n >= static_cast<std::size_t>(rule.iterations);
  if (n > 0 && seconds >= rule.max_seconds) return true;
  if (n < static_cast<std::size_t>(rule.min_samples) || seconds < rule.min_seconds) return false;
  return std::max(summarize(m.single_ms).noise_pct, summarize(m.batch_ms).noise_pct) <= rule.max_noise_pct;
}

Measurement measure(std::vector<Client>& clients, const MeasureSettings& settings, const MpiContext& mpi) {
  Measurement m;
  Recorder record(m, settings.warmup);
  Iterations iterations(settings, m, mpi);
  std::exception_ptr update_error;
  const int stop = clients.size() == 1 ? measure_one(clients.front(), settings, mpi, record, iterations, update_error)
                                       : measure_threads(clients, settings, mpi, record, iterations, update_error);
  // Every rank, every time: errors raised after the last check are caught here too.
  mpi.agree(update_error ? update_error : first_error(clients));
  if (stop > 0) {
    m.interrupted_by = stop;
    if (m.batch_ms.empty()) return m;  // no measured iteration finished: no checksums either
  }
  check_checksums(clients, settings.updates != nullptr, m);
  return m;
}

}  // namespace pagequery::bench
