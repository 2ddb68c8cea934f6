// pagequery sweep: the seed's batching benchmark as a matrix of cells
// (strategy x batch size Q x concurrency C). Every cell times Q queries one by
// one (the single loop, plain latency policy) against one batch of Q queries
// (the strategy), checks that both return the same bytes, and the whole run
// goes into an HDF5 results file (bench/results/) plus a markdown
// summary on stdout.
#include "apps/accumulate_flag.hpp"
#include "apps/commands.hpp"
#include "apps/crash_guard.hpp"
#include "bench/wire/hex.hpp"
#include "bench/key_list.hpp"
#include "apps/io_limits.hpp"
#include "bench/mpi_context.hpp"
#include "apps/policy_flags.hpp"
#include "bench/markdown_printer.hpp"
#include "bench/results/reader.hpp"
#include "bench/results/writer.hpp"
#include "bench/sweep_dpf.hpp"
#include "bench/stats.hpp"
#include "bench/text.hpp"

#include "core/dpf.hpp"
#include "core/matrix_shape.hpp"
#include "core/printable.hpp"
#include "policies/engine.hpp"
#include "policies/policy_config.hpp"

#include <nlohmann/json.hpp>
#include <xxhash.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <climits>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#ifndef PAGEQUERY_GIT_REVISION
#define PAGEQUERY_GIT_REVISION "unknown"
#endif
#ifndef PAGEQUERY_VERSION
#define PAGEQUERY_VERSION "unknown"
#endif

extern char** environ;

namespace pagequery::apps {

using namespace bench;

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kDefaultSyntheticPages = 4096;  // 16 MiB: runs anywhere in seconds
constexpr int kMaxConcurrency = 64;

struct SweepArgs {
  std::optional<std::string> matrix_file;
  std::optional<std::string> synthetic_gib;
  std::optional<std::string> synthetic_pages;
  std::string fill = "hash";
  std::string matrix_seed = "1";
  std::string batch_sizes = "1,2,4,8,16,32";
  std::string strategies = "default";
  std::string dpf = "morphogen";
  std::string concurrency = "1";
  std::string iterations = "5";
  std::string warmup = "1";
  std::optional<std::string> seed;
  std::string checkpoint_seconds = "60";
  std::optional<std::string> output;
  Accumulate accumulate = Accumulate::Lop3;
  bool dry_run = false;
};

struct Strategy {
  std::string name;
  PolicyConfig config;
};

struct Cell {
  std::size_t strategy;  // index into Plan::strategies
  int queries;
  int concurrency;
  DpfFormat dpf;
};

struct Plan {
  MatrixSpec spec;
  std::string matrix_text;  // for humans
  std::uint64_t pages = 0;
  int domain_bits = 0;
  std::vector<Strategy> strategies;
  std::vector<std::string> left_out;  // lop3-only strategies that the groups lose under mma
  std::vector<DpfFormat> formats;     // the --dpf axis
  std::vector<int> batch_sizes;
  std::vector<int> concurrency;
  int iterations = 0;
  int warmup = 0;
  std::uint64_t key_seed = 0;
  bool key_seed_given = false;
  double checkpoint_seconds = 60;
  std::string output;
  std::vector<Cell> cells;
};

// --------------------------------------------------------------- helpers

std::string utc_stamp(std::time_t t, bool compact) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string now_utc() { return utc_stamp(std::time(nullptr), false); }

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                        "@%_+=:,./-") == std::string::npos)
    return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The command line as typed (Linux: /proc/self/cmdline).
std::string command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string out;
  std::size_t start = 0;
  while (start < all.size()) {
    std::size_t end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    out += (out.empty() ? "" : " ") + shell_quote(all.substr(start, end - start));
    start = end + 1;
  }
  return out.empty() ? "pagequery sweep" : out;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::optional<std::string>(v) : std::nullopt;
}

// Environment variables that change how Kokkos, OpenMP or CUDA run.
std::string runtime_env() {
  std::vector<std::string> vars;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view kv(*e);
    if (kv.starts_with("OMP_") || kv.starts_with("KOKKOS_") || kv.starts_with("CUDA_VISIBLE_DEVICES=") ||
        kv.starts_with("CUDA_LAUNCH_BLOCKING=") || kv.starts_with("CUDA_DEVICE_MAX_CONNECTIONS="))
      vars.emplace_back(kv);
  }
  std::sort(vars.begin(), vars.end());
  std::string out;
  for (const std::string& v : vars) out += (out.empty() ? "" : " ") + v;
  return out;
}

std::string describe(const PolicyConfig& c) {
  return "policy=" + to_string(c.mode) + " streams=" + std::to_string(c.streams) +
         " graph=" + (c.graph ? "1" : "0") + " tile=" + std::to_string(c.tile) +
         " threshold=" + std::to_string(c.threshold);
}

template <class F>
auto as_input(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(std::string(what) + one_line(e.what()));
  }
}

// ------------------------------------------------------------- the plan

// Some strategies run on lop3 engines only (apps/accumulate_flag.hpp, lop3_only):
// under mma the groups leave them out (into `left_out`), and one named on its own
// is refused, all before the matrix is loaded.
std::vector<Strategy> resolve_strategies(const std::string& text, Accumulate accumulate,
                                         std::vector<std::string>& left_out) {
  std::vector<Strategy> out;
  const auto add = [&](const std::string& name, const PolicyConfig& config) {
    for (const Strategy& s : out)
      if (s.name == name) return;  // "seed,baseline_full_batch": listed once
    if (name.size() >= kStrategyChars)
      throw InputError("--strategies: the name '" + name + "' is too long");
    if (accumulate == Accumulate::Mma)
      if (const auto why = lop3_only(config))
        throw InputError("--strategies: " + name + (name == "env" ? " (" + std::string(kEnvGraph) + ")" : "") +
                         ": " + *why);
    out.push_back({name, config});
  };
  for (const std::string& item : as_input("", [&] { return split_list(text, "--strategies"); })) {
    if (item == "seed" || item == "default" || item == "all") {
      const auto group = item == "seed" ? seed_strategies() : item == "default" ? default_strategies() : all_strategies();
      for (const std::string& name : group) {
        const PolicyConfig config = strategy_config(name);
        if (accumulate == Accumulate::Mma && lop3_only(config)) {
          if (std::find(left_out.begin(), left_out.end(), name) == left_out.end()) left_out.push_back(name);
        } else {
          add(name, config);
        }
      }
    } else if (item == "env") {
      // The configuration Morphogen's MORPHOGEN_GPU_* switches select.
      add("env", as_input("", [] { return apply_env(PolicyConfig{}); }));
    } else {
      add(item, as_input("--strategies: ", [&] { return strategy_config(item); }));
    }
  }
  return out;
}

Plan make_plan(const SweepArgs& args) {
  Plan plan;
  // The matrix.
  if (args.matrix_file) {
    plan.spec.file = *args.matrix_file;
    plan.pages = as_input("--matrix-file: ", [&] { return page_count_of_file(*args.matrix_file); });
    plan.matrix_text = "file " + *args.matrix_file;
  } else {
    if (args.fill == "hash") plan.spec.fill = MatrixFill::Hash;
    else if (args.fill == "morphogen") plan.spec.fill = MatrixFill::Morphogen;
    else throw InputError("--fill must be hash or morphogen, got '" + args.fill + "'");
    plan.spec.seed = as_input("", [&] { return parse_u64(args.matrix_seed, "--matrix-seed"); });
    if (args.synthetic_pages) {
      plan.pages = as_input("", [&] { return parse_u64(*args.synthetic_pages, "--synthetic-pages"); });
    } else if (args.synthetic_gib) {
      double gibs = 0;
      std::size_t used = 0;
      try {
        gibs = std::stod(*args.synthetic_gib, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != args.synthetic_gib->size() || !std::isfinite(gibs) || gibs <= 0 || gibs > 16384)
        throw InputError("--synthetic-gib must be a number of GiB in (0, 16384], got '" +
                         *args.synthetic_gib + "'");
      plan.pages = static_cast<std::uint64_t>(std::ceil(gibs * (double(1ull << 30) / kPageBytes)));
    } else {
      plan.pages = kDefaultSyntheticPages;
    }
    if (plan.pages == 0) throw InputError("--synthetic-pages must be at least 1");
    plan.spec.synthetic_pages = plan.pages;
    plan.matrix_text = std::string("synthetic (fill ") + args.fill + ", seed " +
                       std::to_string(plan.spec.seed) + ")";
  }
  plan.domain_bits = as_input("matrix: ", [&] { return domain_bits_for(plan.pages); });

  // The axes.
  plan.spec.accumulate = args.accumulate;
  plan.strategies = resolve_strategies(args.strategies, args.accumulate, plan.left_out);
  plan.formats = parse_dpf_axis(args.dpf, args.accumulate);
  plan.batch_sizes = as_input("", [&] {
    return parse_int_list(args.batch_sizes, "--batch-sizes", 1, max_batch_queries(plan.formats));
  });
  plan.concurrency = as_input("", [&] {
    return parse_int_list(args.concurrency, "--concurrency", 1, kMaxConcurrency);
  });
  plan.iterations = parse_int_in(args.iterations, 1, 1000000, "--iterations");
  plan.warmup = parse_int_in(args.warmup, 0, 1000000, "--warmup");
  if (args.seed) {
    plan.key_seed = as_input("", [&] { return parse_u64(*args.seed, "--seed"); });
    plan.key_seed_given = true;
  } else {
    std::random_device rd;
    plan.key_seed = (std::uint64_t{rd()} << 32) ^ rd();
  }
  {
    std::size_t used = 0;
    double s = -1;
    try {
      s = std::stod(args.checkpoint_seconds, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != args.checkpoint_seconds.size() || !std::isfinite(s) || s < 0)
      throw InputError("--checkpoint-interval must be a number of seconds >= 0, got '" +
                       args.checkpoint_seconds + "'");
    plan.checkpoint_seconds = s;
  }
  plan.output = args.output ? *args.output
                            : "pagequery-sweep-" + utc_stamp(std::time(nullptr), true) + ".h5";
  if (plan.output.empty()) throw InputError("--output must not be empty");

  std::vector<int> concurrency = plan.concurrency;
  std::sort(concurrency.begin(), concurrency.end());
  std::vector<int> batch_sizes = plan.batch_sizes;
  std::sort(batch_sizes.begin(), batch_sizes.end());
  // Morphogen's batches stop at 32 queries: larger Q are packed cells only.
  // kokkos_kernels_gemm takes Morphogen keys only.
  for (int c : concurrency)
    for (DpfFormat f : plan.formats)
      for (std::size_t s = 0; s < plan.strategies.size(); ++s)
        for (int q : batch_sizes)
          if (q <= max_batch_queries(f) &&
              !(f == DpfFormat::Packed && plan.strategies[s].config.mode == BatchMode::Gemm))
            plan.cells.push_back({s, q, c, f});
  return plan;
}

std::string join(const std::vector<int>& v) {
  std::string out;
  for (int i : v) out += (out.empty() ? "" : ",") + std::to_string(i);
  return out;
}

// A cell's name in progress lines: the strategy, and the key format when packed.
std::string cell_name(const Plan& plan, const Cell& cell) {
  return column_label(plan.strategies[cell.strategy].name, to_string(cell.dpf));
}

std::string dpf_text(const Plan& plan) {
  std::string out;
  for (DpfFormat f : plan.formats) out += (out.empty() ? "" : ",") + to_string(f);
  const bool cut = std::any_of(plan.batch_sizes.begin(), plan.batch_sizes.end(),
                               [](int q) { return q > max_batch_queries(DpfFormat::Morphogen); });
  if (cut && std::count(plan.formats.begin(), plan.formats.end(), DpfFormat::Morphogen))
    out += " (morphogen cells stop at Q = " + std::to_string(max_batch_queries(DpfFormat::Morphogen)) + ")";
  const bool gemm = std::any_of(plan.strategies.begin(), plan.strategies.end(),
                                [](const Strategy& s) { return s.config.mode == BatchMode::Gemm; });
  if (gemm && std::count(plan.formats.begin(), plan.formats.end(), DpfFormat::Packed))
    out += " (kokkos_kernels_gemm takes Morphogen keys only)";
  return out;
}

// What --accumulate mma took out of the groups ("" when nothing).
std::string left_out_note(const Plan& plan) {
  if (plan.left_out.empty()) return "";
  std::string names;
  for (const std::string& name : plan.left_out) names += (names.empty() ? "" : ",") + name;
  return " (" + names + " left out: they run only with --accumulate lop3)";
}

void print_plan(const Plan& plan, std::ostream& out) {
  const std::uint64_t bytes = plan.pages * kPageBytes;
  out << "matrix: " << printable(plan.matrix_text) << ", " << plan.pages << " pages, d = " << plan.domain_bits
      << ", " << bytes << " bytes (" << human_bytes(bytes) << ")\n";
  std::string names;
  for (const Strategy& s : plan.strategies) names += (names.empty() ? "" : ",") + s.name;
  out << "axes: strategies " << names << "; batch sizes " << join(plan.batch_sizes)
      << "; concurrency " << join(plan.concurrency) << "\n";
  out << "accumulate: " << to_string(plan.spec.accumulate) << left_out_note(plan) << "\n";
  out << "dpf: " << dpf_text(plan) << "\n";
  out << "iterations " << plan.iterations << ", warmup " << plan.warmup << ", key seed "
      << plan.key_seed << (plan.key_seed_given ? "" : " (random)") << "\n";
  out << "cells: " << plan.cells.size() << "\n";
}

// -------------------------------------------------------------- progress

class Progress {
 public:
  // `enabled`: this process prints (under MPI, rank 0 only).
  Progress(const Plan& plan, bool enabled)
      : enabled_(enabled), tty_(isatty(STDERR_FILENO) == 1), start_(Clock::now()) {
    for (const Cell& c : plan.cells) total_ += weight(c);
  }
  void begin(std::size_t index, std::size_t n, const std::string& strategy, const Cell& cell) {
    if (!enabled_) return;
    std::string eta = "?";
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    if (done_ > 0) eta = std::to_string(static_cast<long>(std::lround(elapsed / done_ * (total_ - done_)))) + "s";
    const std::string line = "[cell " + std::to_string(index + 1) + "/" + std::to_string(n) + "] " +
                             strategy + " Q=" + std::to_string(cell.queries) +
                             " C=" + std::to_string(cell.concurrency) + " ETA " + eta;
    if (tty_) std::cerr << "\r" << line << "\x1b[K" << std::flush;
    else std::cerr << line << '\n' << std::flush;
    open_ = tty_;
  }
  void end(const Cell& cell) { done_ += weight(cell); }
  void finish() {
    if (open_) std::cerr << '\n' << std::flush;
    open_ = false;
  }
  ~Progress() { finish(); }

 private:
  static double weight(const Cell& c) { return 1.0 + double(c.queries) * c.concurrency; }
  bool enabled_;
  bool tty_;
  bool open_ = false;
  Clock::time_point start_;
  double total_ = 0, done_ = 0;
};

// ----------------------------------------------------------- interruption

std::atomic<int> g_signal{0};

extern "C" void on_signal(int sig) { g_signal.store(sig); }

// SIGINT/SIGTERM (Slurm's time limit) finish the current iteration, write the
// partial run and stop. A second SIGINT kills as usual (SA_RESETHAND); SIGTERM
// stays caught, because at the time limit srun forwards it to tasks that Slurm
// has just sent it to (Slurm's SIGKILL follows KillWait seconds later anyway).
class SignalGuard {
 public:
  SignalGuard() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term_);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, &old_int_);
  }
  ~SignalGuard() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

// ------------------------------------------------------------ measuring

// One client: its own queries and, per path, its own session (so that a path
// keeps its buffer shapes, and graph replays stay valid between iterations).
struct Client {
  Engine::Session* single_session;
  Engine::Session* batch_session;
  KeyList keys;  // 3 Q keys
  std::vector<std::vector<std::uint8_t>> single_out;
  std::vector<std::uint8_t> batch_out;
  std::vector<std::uint64_t> single_hash, batch_hash;  // per iteration (warmup included)
  int channel = 0;         // MPI: the client's own communicator (MpiContext::open_channels)
  double reduce_ms = 0;    // MPI: the reduction time of the last path run
  std::exception_ptr error;
};

struct Measurement {
  std::vector<double> single_ms, batch_ms;  // measured iterations only (reductions included)
  std::vector<double> single_reduce_ms, batch_reduce_ms;  // their reduction part
  std::uint64_t single_checksum = 0, batch_checksum = 0;
  bool match = true;
  // A signal (on some rank: all ranks stop together) ended the cell early; the
  // iterations finished before it are kept (none when batch_ms is empty).
  int interrupted_by = 0;
};

const PolicyConfig& single_policy() {
  static const PolicyConfig latency = strategy_config("baseline_full_batch");
  return latency;
}

// Runs one path of one client; returns the milliseconds its MPI reductions took.
// Under MPI every answer is XOR-reduced into rank 0 as soon as it is computed (the
// single loop: each query alone; the batch: the whole batch), after a barrier on
// the client's channel, so the reduction time leaves out the wait for the slowest
// rank's local answer (the iteration time includes it). A failed answer does not
// skip the collectives (zero bytes stand in for it): every rank runs the same
// sequence, and the error is rethrown at the end of the path.
double run_path(Client& c, int path, const PolicyConfig& batch_config, bool flip_batch, const MpiContext& mpi) {
  std::exception_ptr error;
  double reduce_ms = 0;
  // Keys [first, first + count) of the client's.
  const auto answer = [&](Engine::Session& session, const PolicyConfig& config, std::size_t first,
                          std::size_t count) {
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
      reduce_ms += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    }
    return out;
  };
  if (path == 0) {
    const std::size_t queries = c.keys.size() / kKeysPerQuery;
    c.single_out.resize(queries);
    for (std::size_t q = 0; q < queries; ++q)
      c.single_out[q] = answer(*c.single_session, single_policy(), q * kKeysPerQuery, kKeysPerQuery);
  } else {
    c.batch_out = answer(*c.batch_session, batch_config, 0, c.keys.size());
    // Test hook, after the reduction (flipped on every rank, an even count would cancel).
    if (flip_batch && mpi.root() && !c.batch_out.empty()) c.batch_out[0] ^= 0x01;
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

// Runs warmup + iterations of both paths. C = clients.size(); with C > 1 every
// client runs on its own thread and an iteration is timed from the moment all
// start to the moment all are done. Under MPI all ranks run this in lockstep: a
// barrier starts every timed path, and before every iteration the ranks agree to
// go on; a signal on any rank stops all of them after the iteration they are in
// (Measurement::interrupted_by, the finished iterations kept), and a failure on
// any rank makes all throw (MpiContext::agree) once the threads are joined.
Measurement measure(std::vector<Client>& clients, const PolicyConfig& batch_config, int warmup,
                    int iterations, bool flip_batch, const MpiContext& mpi) {
  Measurement m;
  const int total = warmup + iterations;
  const auto record = [&](int it, int path, Clock::time_point t0, Clock::time_point t1, double reduce_ms) {
    if (it < warmup) return;
    (path == 0 ? m.single_ms : m.batch_ms).push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    (path == 0 ? m.single_reduce_ms : m.batch_reduce_ms).push_back(reduce_ms);
  };
  // Collective: the largest signal number seen on any rank, or -1 when a rank failed.
  const auto stop_reason = [&](bool failed) { return mpi.max(failed ? INT_MAX : g_signal.load()); };
  const auto first_error = [&] {
    for (const Client& c : clients)
      if (c.error) return c.error;
    return std::exception_ptr();
  };
  int stop = 0;

  if (clients.size() == 1) {
    Client& c = clients.front();
    for (int it = 0; it < total && stop == 0; ++it) {
      if ((stop = stop_reason(c.error != nullptr)) != 0) break;
      for (int path = 0; path < 2; ++path) {
        mpi.barrier();  // all ranks start the timed path together
        const auto t0 = Clock::now();
        try {
          c.reduce_ms = run_path(c, path, batch_config, flip_batch, mpi);
        } catch (...) {
          if (!c.error) c.error = std::current_exception();
        }
        const auto t1 = Clock::now();
        record(it, path, t0, t1, c.reduce_ms);
        if (!c.error) {
          try {
            hash_path(c, path);
          } catch (...) {
            c.error = std::current_exception();
          }
        }
      }
    }
  } else {
    std::barrier sync(static_cast<std::ptrdiff_t>(clients.size()) + 1);
    std::atomic<bool> leave{false}, failed{false};
    std::vector<std::thread> threads;
    threads.reserve(clients.size());
    for (Client& c : clients) {
      threads.emplace_back([&, client = &c] {
        for (int it = 0; it < total; ++it)
          for (int path = 0; path < 2; ++path) {
            sync.arrive_and_wait();  // start
            if (leave.load()) return;
            // Runs after a failure too: its collectives must match the other ranks'.
            try {
              client->reduce_ms = run_path(*client, path, batch_config, flip_batch, mpi);
            } catch (...) {
              if (!client->error) client->error = std::current_exception();
              failed.store(true);
            }
            sync.arrive_and_wait();  // done
            if (!client->error) {
              try {
                hash_path(*client, path);
              } catch (...) {
                client->error = std::current_exception();
                failed.store(true);
              }
            }
          }
      });
    }
    for (int it = 0; it < total; ++it) {
      if ((stop = stop_reason(failed.load())) != 0) {
        leave.store(true);
        sync.arrive_and_wait();  // releases the workers, which see `leave` and return
        break;
      }
      for (int path = 0; path < 2; ++path) {
        mpi.barrier();
        sync.arrive_and_wait();
        const auto t0 = Clock::now();
        sync.arrive_and_wait();
        const auto t1 = Clock::now();
        double reduce_ms = 0;
        for (const Client& c : clients) reduce_ms += c.reduce_ms;
        record(it, path, t0, t1, reduce_ms / static_cast<double>(clients.size()));
      }
    }
    for (std::thread& t : threads) t.join();
  }
  // Every rank, every time: errors raised after the last check are caught here too.
  mpi.agree(first_error());
  if (stop > 0) {
    m.interrupted_by = stop;
    if (m.batch_ms.empty()) return m;  // no measured iteration finished: no checksums either
  }

  // Both paths, every iteration, every client: the bytes of the first single loop.
  std::vector<std::uint64_t> single_sums, batch_sums;
  for (const Client& c : clients) {
    const std::uint64_t reference = c.single_hash.front();
    std::uint64_t single = reference, batch = c.batch_hash.front();
    for (std::uint64_t h : c.single_hash)
      if (h != reference) m.match = false, single = h;
    for (std::uint64_t h : c.batch_hash)
      if (h != reference) m.match = false, batch = h;
    single_sums.push_back(single);
    batch_sums.push_back(batch);
  }
  if (clients.size() == 1) {
    m.single_checksum = single_sums.front();
    m.batch_checksum = batch_sums.front();
  } else {  // XXH3 of the clients' checksums (u64 little-endian, client order)
    const auto combine = [](const std::vector<std::uint64_t>& sums) {
      std::vector<unsigned char> bytes;
      for (std::uint64_t s : sums)
        for (int b = 0; b < 8; ++b) bytes.push_back(static_cast<unsigned char>(s >> (8 * b)));
      return XXH3_64bits(bytes.data(), bytes.size());
    };
    m.single_checksum = combine(single_sums);
    m.batch_checksum = combine(batch_sums);
  }
  return m;
}

// Q random queries for one client, the same for every strategy of a (Q, C) and
// key format; both formats ask for the same pages.
KeyList make_queries(const Engine& engine, DpfFormat format, std::uint64_t pages, std::uint64_t seed, int queries,
                     int concurrency, int client) {
  std::uint64_t state = seed ^ (std::uint64_t(queries) << 40) ^ (std::uint64_t(concurrency) << 20) ^
                        std::uint64_t(client);
  KeyRng rng(splitmix64(state));
  KeyList keys;
  keys.format = format;
  for (int k = 0; k < queries * kKeysPerQuery; ++k) {
    const std::uint64_t target = splitmix64(state) % pages;
    if (format == DpfFormat::Packed) keys.packed.push_back(engine.make_packed_keys(target, rng).party0);
    else keys.morphogen.push_back(engine.make_keys(target, rng).party0);  // server A's keys
  }
  return keys;
}

// ---------------------------------------------------------------- the run

void set_static_attributes(RunRecord& run, const Plan& plan, const MatrixInfo& info,
                           const std::string& started, const MpiContext& mpi, const std::vector<Shard>& layout) {
  run.set("status", std::string("incomplete"));
  run.set("cells_planned", std::uint64_t(plan.cells.size()));
  run.set("cells_done", std::uint64_t(0));
  run.set("started_utc", started);
  run.set("updated_utc", started);
  run.set("pagequery_version", std::string(PAGEQUERY_VERSION));
  run.set("git_revision", std::string(PAGEQUERY_GIT_REVISION));
  run.set("command_line", command_line());
  run.set("host", host_name());
  if (auto v = env("SLURM_JOB_ID")) run.set("slurm_job_id", *v);
  if (auto v = env("SLURM_JOB_NODELIST")) run.set("slurm_job_nodelist", *v);
  run.set("device", Runtime::device());
  run.set("kokkos_version", Runtime::kokkos_version());
  run.set("kokkos_backend", Runtime::backend());
  run.set("kokkos_concurrency", std::int64_t(Runtime::concurrency()));
  run.set("matrix_source", info.source);
  run.set("accumulate", to_string(info.accumulate));  // what the engine runs, not only what was asked
  run.set("matrix", plan.matrix_text);
  if (!plan.spec.file.empty()) {
    run.set("matrix_file", plan.spec.file);
  } else {
    run.set("matrix_fill", std::string(plan.spec.fill == MatrixFill::Hash ? "hash" : "morphogen"));
    run.set("matrix_seed", plan.spec.seed);
  }
  run.set("pages", info.pages);
  run.set("domain_bits", std::int64_t(info.domain_bits));
  run.set("size_bytes", info.size_bytes);
  run.set("local_first_page", info.local_first);
  run.set("local_pages", info.local_pages);
  run.set("mpi_ranks", std::int64_t(mpi.size()));
  run.set("shard_layout", shard_layout_json(layout));
  if (MpiContext::compiled()) run.set("mpi_library", MpiContext::library_version());
  run.set("iterations", std::int64_t(plan.iterations));
  run.set("warmup", std::int64_t(plan.warmup));
  run.set("seed", plan.key_seed);
  run.set("batch_sizes", std::vector<std::int64_t>(plan.batch_sizes.begin(), plan.batch_sizes.end()));
  std::vector<std::string> names;
  nlohmann::ordered_json configs = nlohmann::ordered_json::object();
  for (const Strategy& s : plan.strategies) {
    names.push_back(s.name);
    configs[s.name] = {{"mode", to_string(s.config.mode)}, {"streams", s.config.streams},
                       {"cuda_graph", s.config.graph}, {"tile", s.config.tile},
                       {"threshold", s.config.threshold}};
  }
  run.set("strategies", names);
  std::vector<std::string> formats;
  for (DpfFormat f : plan.formats) formats.push_back(to_string(f));
  run.set("dpf", formats);
  run.set("strategy_configs", configs.dump());
  run.set("concurrency", std::vector<std::int64_t>(plan.concurrency.begin(), plan.concurrency.end()));
  run.set("single_policy", describe(single_policy()));
  run.set("checkpoint_seconds", plan.checkpoint_seconds);
  std::string switches;
  for (const std::string& s : env_switches()) switches += (switches.empty() ? "" : " ") + s;
  run.set("env_switches", switches);
  for (const std::string& s : env_switches()) {
    const auto eq = s.find('=');
    run.set(s.substr(0, eq), s.substr(eq + 1));
  }
  run.set("runtime_env", runtime_env());
}

void run_sweep(const SweepArgs& args) {
  // Under MPI all ranks run the same plan in lockstep: the same cells, the same
  // queries (the key seed is rank 0's), each answering over its own shard; the
  // answers are XOR-reduced into rank 0, which alone prints, checks checksums and
  // writes the HDF5 run. Every step that may fail ends in an agreement, so all
  // ranks stop together with one line on stderr.
  MpiContext mpi;
  const std::time_t started_at = std::time(nullptr);
  Plan plan;
  mpi.step([&] {
    plan = make_plan(args);
    const int max_c = *std::max_element(plan.concurrency.begin(), plan.concurrency.end());
    if (mpi.size() > 1 && max_c > 1 && !mpi.thread_multiple())
      throw InputError("--concurrency " + std::to_string(max_c) +
                       " with several MPI ranks needs MPI_THREAD_MULTIPLE, which this MPI does not provide");
  });
  mpi.broadcast(plan.key_seed);  // a random seed: rank 0's
  const std::vector<Shard> layout = shard_layout(plan.pages, mpi.size());
  // Everything a run would refuse is refused here, before anything is printed or
  // measured; a dry run stops after it (it leaves out what only the device tells:
  // memory, and whether it runs --accumulate mma).
  std::vector<std::string> switches;
  std::optional<std::uint64_t> fail_after;  // test hook: abort() in the middle of a commit
  bool flip_batch = false;                  // test hook
  mpi.step([&] {
    if (mpi.root()) as_input("--output ", [&] { check_results_target(plan.output, run_guarded); return 0; });
    switches = env_switches();
    as_input("", [] { return apply_env(PolicyConfig{}); });  // refuse unparsable MORPHOGEN_GPU_* values
    const int sessions = Runtime::check_environment();  // the KOKKOS_* / OMP_* variables
    const int max_c = *std::max_element(plan.concurrency.begin(), plan.concurrency.end());
    if (max_c > sessions)
      throw InputError("--concurrency " + std::to_string(max_c) + " needs as many threads of the OpenMP backend, which " +
                       "will run " + std::to_string(sessions) + " (set OMP_NUM_THREADS or KOKKOS_NUM_THREADS)");
    if (auto v = env("PAGEQUERY_TEST_FAIL_AFTER_CELLS"))
      fail_after = as_input("", [&] { return parse_u64(*v, "PAGEQUERY_TEST_FAIL_AFTER_CELLS"); });
    flip_batch = env("PAGEQUERY_TEST_FLIP_BATCH_BYTE").has_value();
  });
  if (args.dry_run) {
    mpi.step([&] {
      if (!mpi.root()) return;
      std::cout << "pagequery sweep: dry run (nothing is measured or written)\n";
      print_plan(plan, std::cout);
      if (mpi.size() > 1)
        std::cout << "ranks: " << mpi.size() << " (MPI), shards [first, count] " << shard_layout_json(layout)
                  << "\n";
      for (std::size_t i = 0; i < plan.cells.size(); ++i) {
        const Cell& c = plan.cells[i];
        const Strategy& s = plan.strategies[c.strategy];
        std::cout << "  [cell " << i + 1 << "/" << plan.cells.size() << "] " << cell_name(plan, c) << " Q=" << c.queries
                  << " C=" << c.concurrency << " (" << describe(s.config) << ")\n";
      }
      std::error_code ec;
      std::cout << "output: " << printable(plan.output)
                << (std::filesystem::exists(plan.output, ec)
                        ? " (appends; " + std::to_string(list_runs(plan.output).size()) + " runs there)"
                        : std::string(" (a new file)"))
                << "\n";
      flush_stdout("sweep");
    });
    return;
  }

  std::optional<Runtime> runtime;
  std::optional<Engine> engine;
  mpi.step([&] {
    runtime.emplace(mpi.size() > 1 ? std::optional<int>(mpi.local_rank()) : std::nullopt);
    MatrixSpec spec = plan.spec;
    if (mpi.size() > 1) {
      spec.first_page = layout[static_cast<std::size_t>(mpi.rank())].first;
      spec.page_count = layout[static_cast<std::size_t>(mpi.rank())].count;
    }
    engine.emplace(spec);
  });
  const MatrixInfo info = engine->info();  // this rank's shard
  const std::uint64_t local_bytes = info.local_pages * kPageBytes;
  if (mpi.root()) {
    std::cerr << "pagequery sweep: " << plan.cells.size() << " cells on " << Runtime::device() << " ("
              << Runtime::backend() << ", Kokkos " << Runtime::kokkos_version() << "); matrix " << info.pages
              << " pages (" << human_bytes(info.size_bytes) << ")";
    if (mpi.size() > 1)
      std::cerr << " over " << mpi.size() << " MPI ranks, shards [first, count] " << shard_layout_json(layout);
    std::cerr << "; accumulate " << to_string(info.accumulate) << left_out_note(plan) << "; writing "
              << printable(plan.output) << "\n";
    if (!switches.empty()) {
      std::cerr << "pagequery sweep: recorded, not applied (strategies fix their settings; `env` runs them):";
      for (const std::string& s : switches) std::cerr << ' ' << printable(s);
      std::cerr << '\n';
    }
  }

  const std::string started = utc_stamp(started_at, false);
  RunRecord run;
  run.id = utc_stamp(started_at, true);
  set_static_attributes(run, plan, info, started, mpi, layout);
  const ReadFloor floor = measure_read_floor(*engine, mpi);
  run.set("read_floor_ms", floor.ms);
  run.set("read_floor_gbs", floor.gbs);
  run.set("read_floor_repetitions", std::int64_t{floor.repetitions});
  if (mpi.root())
    std::cerr << "pagequery sweep: read floor " << fixed(floor.ms, 3) << " ms (" << fixed(floor.gbs, 1)
              << " GB/s): a plain streaming read of the matrix, the fastest of " << floor.repetitions << "\n";
  ResultsWriter writer(plan.output);  // rank 0 alone commits
  const auto commit = [&](const std::string& status) {
    run.set("status", status);
    run.set("cells_done", std::uint64_t(run.cells.size()));
    run.set("updated_utc", now_utc());
    writer.commit(run);
  };

  SignalGuard signals;
  Progress progress(plan, mpi.root());
  auto last_commit = Clock::now();
  int sessions_for = 0;
  std::vector<Engine::Session> single_sessions, batch_sessions;
  std::size_t mismatches = 0;
  int interrupted_by = 0;  // the signal that stopped the sweep (0: none)
  bool interrupted = false;
  try {
    for (std::size_t i = 0; i < plan.cells.size(); ++i) {
      if (const int sig = mpi.max(g_signal.load()); sig != 0) {
        interrupted = true;
        interrupted_by = sig;
        break;
      }
      const Cell& cell = plan.cells[i];
      const Strategy& strategy = plan.strategies[cell.strategy];
      progress.begin(i, plan.cells.size(), cell_name(plan, cell), cell);
      mpi.open_channels(cell.concurrency);  // collective: outside the step below
      std::vector<Client> clients(static_cast<std::size_t>(cell.concurrency));
      mpi.step([&] {
        if (sessions_for != cell.concurrency) {  // C == 1: the whole default instance
          single_sessions.clear();
          batch_sessions.clear();
          if (cell.concurrency == 1) {
            single_sessions.push_back(engine->session());
            batch_sessions.push_back(engine->session());
          } else {
            single_sessions = engine->sessions(cell.concurrency);
            batch_sessions = engine->sessions(cell.concurrency);
          }
          sessions_for = cell.concurrency;
        }
        for (int c = 0; c < cell.concurrency; ++c) {
          clients[c].single_session = &single_sessions.at(c);
          clients[c].batch_session = &batch_sessions.at(c);
          clients[c].channel = c;
          clients[c].keys =
              make_queries(*engine, cell.dpf, info.pages, plan.key_seed, cell.queries, cell.concurrency, c);
        }
      });
      const Measurement m = measure(clients, strategy.config, plan.warmup, plan.iterations, flip_batch, mpi);
      if (m.interrupted_by) {
        interrupted = true;
        interrupted_by = m.interrupted_by;
        if (m.batch_ms.empty()) break;
      }
      progress.end(cell);

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
      row.warmup = static_cast<std::uint32_t>(plan.warmup);
      row.single_ms = summarize(m.single_ms);
      row.batch_ms = summarize(m.batch_ms);
      row.single_reduce_ms = summarize(m.single_reduce_ms).mean;
      row.batch_reduce_ms = summarize(m.batch_reduce_ms).mean;
      row.single_checksum = m.single_checksum;
      row.batch_checksum = m.batch_checksum;
      row.checksum_match = m.match;
      finish_row(row, local_bytes);
      if (!m.match) ++mismatches;
      const auto index = static_cast<std::uint32_t>(run.cells.size());
      run.cells.push_back(row);
      for (int path = 0; path < 2; ++path) {
        const auto& ms = path == 0 ? m.single_ms : m.batch_ms;
        const auto& reduce = path == 0 ? m.single_reduce_ms : m.batch_reduce_ms;
        for (std::size_t it = 0; it < ms.size(); ++it)
          run.samples.push_back({index, static_cast<std::uint8_t>(path), static_cast<std::uint32_t>(it), ms[it],
                                 reduce[it]});
      }
      if (interrupted) break;  // the partial cell is in; the final commit writes it

      // Checkpoint: after the first cell, then every --checkpoint-interval seconds.
      mpi.step([&] {
        if (!mpi.root()) return;
        const bool last = i + 1 == plan.cells.size();
        const bool hook = fail_after && run.cells.size() == *fail_after;
        if (hook) {
          progress.finish();
          writer.abort_midway = true;
        }
        if (!last && (hook || run.cells.size() == 1 ||
                      std::chrono::duration<double>(Clock::now() - last_commit).count() >= plan.checkpoint_seconds)) {
          commit("incomplete");
          last_commit = Clock::now();
        }
      });
    }
  } catch (const std::exception& e) {
    // Every rank gets here together (the failure went through an agreement).
    progress.finish();
    const bool commit_failed = dynamic_cast<const StoreError*>(&e) != nullptr;  // a full disk: no second try
    if (mpi.root() && !run.cells.empty() && !commit_failed) {
      try {
        commit("failed: " + one_line(e.what()));
        std::cerr << "pagequery sweep: the " << run.cells.size() << " cells measured before the failure are in run "
                  << run.id << " of " << printable(plan.output) << "\n";
      } catch (const std::exception& e2) {
        std::cerr << "pagequery sweep: could not write the partial run: " << one_line(e2.what()) << "\n";
      }
    }
    throw;
  }
  progress.finish();
  single_sessions.clear();
  batch_sessions.clear();

  // Rank 0 decides the outcome (only it holds the reduced answers); the others
  // leave with its exit code.
  mpi.step([&] {
    if (!mpi.root()) return;
    std::string status = "complete";
    if (interrupted) status = std::string("interrupted by ") + (interrupted_by == SIGINT ? "SIGINT" : "SIGTERM");
    else if (mismatches) status = "checksum_mismatch";
    if (run.cells.empty())
      throw CheckFailed("sweep " + status + " before its first measured iteration finished; nothing written");
    commit(status);

    MarkdownPrinter(std::cout).print_run(run);
    flush_stdout("sweep");
    std::cerr << "pagequery sweep: run " << run.id << " (" << run.cells.size() << " cells) written to "
              << printable(plan.output) << "\n";
    if (interrupted) {
      const std::uint32_t last = run.cells.back().iterations;
      throw CheckFailed("sweep " + status + " after " + std::to_string(run.cells.size()) + " of " +
                        std::to_string(plan.cells.size()) + " cells" +
                        (last < static_cast<std::uint32_t>(plan.iterations)
                             ? " (the last with " + std::to_string(last) + " of " + std::to_string(plan.iterations) +
                                   " iterations)"
                             : "") +
                        "; the partial run " + run.id + " is in " + plan.output);
    }
    if (mismatches)
      throw CheckFailed("checksum mismatch between the single loop and the batch in " +
                        std::to_string(mismatches) + " of " + std::to_string(run.cells.size()) +
                        " cells (run " + run.id + " in " + plan.output + ")");
  });
}

}  // namespace

void add_sweep(CLI::App& app) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sweep",
      "Benchmark batching strategies: for every (strategy, Q, concurrency) cell, time Q queries\n"
      "one by one against one batch of Q, check both return the same bytes, append the run to\n"
      "an HDF5 results file and print the seed's markdown tables.");
  const auto opt = [&](const char* name, std::string& target, const char* help) {
    return cmd->add_option(name, target, help)->capture_default_str();
  };
  const auto optional_opt = [&](const char* name, std::optional<std::string>& target, const char* help) {
    return cmd->add_option_function<std::string>(name, [&target](const std::string& v) { target = v; }, help);
  };
  auto* file = optional_opt("--matrix-file", args->matrix_file, "raw matrix file (pages of 4096 bytes)")
                   ->type_name("PATH");
  auto* gib_opt = optional_opt("--synthetic-gib", args->synthetic_gib,
                               "synthetic matrix of ceil(GIB * 2^30 / 4096) pages (64.2: mainnet volume)")
                      ->type_name("GIB");
  auto* pages_opt = optional_opt("--synthetic-pages", args->synthetic_pages,
                                 "synthetic matrix of N pages (default 4096 = 16 MiB)")
                        ->type_name("N");
  file->excludes(gib_opt)->excludes(pages_opt);
  gib_opt->excludes(pages_opt);
  opt("--fill", args->fill, "synthetic fill: hash | morphogen (page i = byte i & 0xFF)")
      ->type_name("KIND")->excludes(file);
  opt("--matrix-seed", args->matrix_seed, "seed of the hash fill")->type_name("N")->excludes(file);
  opt("--batch-sizes", args->batch_sizes, "Q axis: queries per batch, 1..32 (1..256 with --dpf packed)")
      ->type_name("LIST");
  opt("--strategies", args->strategies,
      "strategy axis: names (baseline_full_batch, adaptive_micro_batch, throughput, multi_stream_N,\n"
      "cuda_graph_replay, tiled_tile4, fused, kokkos_kernels_gemm), `seed` (the seed's five),\n"
      "`default` (seed + fused), `all`, or `env` (what the MORPHOGEN_GPU_* variables select);\n"
      "with --accumulate mma, the groups leave out cuda_graph_replay and kokkos_kernels_gemm")
      ->type_name("LIST");
  opt("--dpf", args->dpf,
      "key-format axis: morphogen (Morphogen's keys), packed (docs/packed-dpf.md), or both;\n"
      "packed cells take Q up to 256, Morphogen's stop at 32")
      ->type_name("LIST");
  opt("--concurrency", args->concurrency, "client threads submitting at once, each with its own session")
      ->type_name("LIST");
  opt("--iterations", args->iterations, "measured iterations per cell and path")->type_name("N");
  opt("--warmup", args->warmup, "unmeasured iterations first (graph capture, allocation)")->type_name("N");
  optional_opt("--seed", args->seed, "seed of the query keys and targets (default: random, recorded)")
      ->type_name("N");
  optional_opt("--output", args->output,
               "results file; runs are appended (default pagequery-sweep-<UTC>.h5 in the cwd)")
      ->type_name("PATH");
  opt("--checkpoint-interval", args->checkpoint_seconds,
      "write the measured cells at most every SECONDS (0: after every cell)")
      ->type_name("SECONDS");
  add_accumulate_flag(cmd, args->accumulate);
  cmd->add_flag("--dry-run", args->dry_run,
                "check what a run checks (but the device's memory and mma support), print the cells and\n"
                "the matrix size; measure nothing");
  cmd->footer(
      "Per cell: single = Q queries one by one (3 keys each, latency policy); batch = one call with\n"
      "3Q keys (the strategy). With concurrency C, C threads run the same shape at once and an\n"
      "iteration lasts from the common start to the last finish: QPS = C*Q / mean ms,\n"
      "speedup = single mean / batch mean. Checksums: XXH3-64 of the answer bytes.\n"
      "Before the cells, the run times its read floor: a plain streaming read of the same matrix on\n"
      "the same device (an XOR over every word, the fastest of 5 or more; attribute read_floor_ms); `report`\n"
      "prints every cell's batch time as a multiple of it.\n"
      "Progress goes to stderr, the markdown summary to stdout, the data to the HDF5 file\n"
      "(layout: data/README.md). SIGINT/SIGTERM stop after the current iteration and write the\n"
      "partial run, the finished iterations of the current cell included. Everything a run refuses\n"
      "(flags, MORPHOGEN_GPU_*, KOKKOS_* and OMP_* variables, --concurrency above the OpenMP threads,\n"
      "an unusable --output) is refused before the first measurement, and by --dry-run too.\n"
      "Exit codes: 0 ok, 1 checksum mismatch or interrupted (all measured data written), 2 refused\n"
      "input or a failed write to stdout.\n"
      "MPI (a PAGEQUERY_ENABLE_MPI build under mpirun/srun): all ranks run the cells in lockstep, each\n"
      "over its shard of the matrix; every answer is XOR-reduced into rank 0, which checks, prints and\n"
      "writes (mpi_ranks, shard_layout). Times include the reduction, also reported alone\n"
      "(single_reduce_ms, batch_reduce_ms).\n");
  cmd->callback([args] { run_sweep(*args); });
}

}  // namespace pagequery::apps
