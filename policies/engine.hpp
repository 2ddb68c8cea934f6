#pragma once
// The host API of pagequery: plain types only, so the CLI, JSON and HDF5 code
// never include Kokkos. Everything here runs on Kokkos's default execution space.
#include "pagequery/core/dpf.hpp"
#include "pagequery/core/dpf_packed.hpp"
#include "pagequery/core/matrix_shape.hpp"
#include "pagequery/core/tensor_kernel.hpp"
#include "pagequery/policies/policy_config.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace pagequery {

// Initialises Kokkos for the process lifetime of the object (one per process),
// after check_environment(). `device_index` (an MPI rank's local rank) picks the
// GPU: device_index modulo the GPUs this process sees (Kokkos device id); host
// backends ignore it. nullopt: Kokkos's own choice (KOKKOS_DEVICE_ID, or its
// default). Whatever Kokkos or a Kokkos tool prints to stdout while it initialises
// or finalises goes to stderr: stdout carries the command's output alone.
class Runtime {
 public:
  explicit Runtime(std::optional<int> device_index = std::nullopt);
  // Checks the environment Kokkos would start in (policies/runtime_env.hpp) without
  // starting it; throws ConfigError. Returns the most sessions an engine can run at
  // once: the OpenMP backend's threads (an instance needs one), else INT_MAX.
  static int check_environment();
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  static std::string backend();         // "Cuda", "OpenMP", "Serial"
  static std::string device();          // GPU name, or the host's CPU model
  static std::string kokkos_version();  // "4.6.1"
  static int concurrency();
  // GPUs this process sees (cudaGetDeviceCount), before or after initialisation;
  // 0 on host backends.
  static int visible_gpus();
  // What the engine's GPU timings depend on beyond device(): CUDA versions,
  // compute capability, peak clocks, L2, and (where the driver's NVML loads) the
  // clocks of this moment and why they are held down. Empty on host backends.
  struct DeviceFacts {
    std::vector<std::pair<std::string, std::string>> texts;     // "nvidia_driver", ...
    std::vector<std::pair<std::string, std::int64_t>> numbers;  // "gpu_l2_bytes", ...
    std::vector<std::pair<std::string, std::int64_t>> now;      // "gpu_sm_clock_mhz", ...: this moment's
  };
  static DeviceFacts device_facts();
};

// How the kernel sums page AND mask over the pages. Lop3: the portable kernel
// (integer AND/XOR, every backend). Mma: binary tensor-core products over a
// bit-sliced copy of the matrix (CUDA builds on sm_80 or newer); the matrix is
// stored that way, so every launch on the engine uses it. Auto: mma where the
// engine's device can, else lop3 (the engine decides; MatrixInfo::accumulate is
// never Auto). It is the user's choice, not the PageLayout it maps to.
enum class Accumulate { Lop3, Mma, Auto };
std::string to_string(Accumulate accumulate);
// "lop3", "mma" or "auto"; anything else is a ConfigError naming the value.
Accumulate parse_accumulate(const std::string& name);

// Auto's half that the command line decides, before any device is asked: a run
// that needs a lop3-only strategy (lop3_only: `answer`'s policy, any of a sweep's
// strategies, a group's members included) runs lop3, so that every strategy asked
// for runs, in one mode for the whole run, instead of being refused or left out.
// Otherwise auto stays Auto for the engine. Lop3 and Mma come back as asked (an
// explicit mma keeps its refusals, which are the callers').
Accumulate accumulate_for(Accumulate asked, std::span<const PolicyConfig> configs);

struct MatrixSpec {
  std::string file;                   // raw matrix file; empty: synthetic
  std::uint64_t synthetic_pages = 0;  // pages of the synthetic matrix
  SyntheticFill fill = SyntheticFill::Hash;
  std::uint64_t seed = 1;  // synthetic fill seed
  // A shard of the whole (its total_pages must be the whole's); nullopt: all pages.
  std::optional<PageRange> shard;
  Accumulate accumulate = Accumulate::Auto;
  // The tensor-core kernel of packed keys (under mma); wgmma needs compute capability 9.0.
  TensorKernel tensor_kernel = TensorKernel::Auto;
  int wgmma_cluster = 0;  // wgmma: blocks sharing each block's leaves (1, 2, 4); 0: by key count
};

struct MatrixInfo {
  std::uint64_t pages;        // pages of the whole matrix
  std::uint64_t local_first;  // this engine's shard
  std::uint64_t local_pages;
  int domain_bits;
  std::uint64_t size_bytes;       // pages * 4096
  std::uint64_t last_page_bytes;  // bytes of the last page inside the matrix (a file's short page); the rest is zero
  std::string source;
  Accumulate accumulate;  // what the engine runs: Lop3 or Mma
  // The kernel that scans packed keys: "portable" (lop3), "mma_sync", "wgmma", or
  // auto's rule where both run ("auto (wgmma above 96 keys, else mma_sync)").
  std::string packed_kernel;
};

// A page update refused before anything was staged: a page outside the matrix,
// not 4096 bytes, or bytes past the matrix's end that are not zero.
class UpdateError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Checks one page update (new bytes or a diff) for a matrix of `total_pages`
// whose last page holds `last_page_bytes` bytes (a file's short last page; the
// rest must stay zero). Throws UpdateError naming the page.
void check_page_update(std::uint64_t total_pages, std::uint64_t last_page_bytes, std::uint64_t page,
                       std::span<const std::uint8_t> bytes);

// An epoch advance that failed. applied() false: nothing was touched, the current
// epoch still serves and the staged pages stay staged (a device allocation or
// copy failed). applied() true: the device failed while patching the matrix in
// place; the engine refuses every later answer and advance (docs/live-updates.md).
class EpochError : public std::runtime_error {
 public:
  EpochError(const std::string& what, bool applied) : std::runtime_error(what), applied_(applied) {}
  bool applied() const { return applied_; }

 private:
  bool applied_;
};

// A loaded matrix plus reusable device buffers. answer() is synchronous and
// returns host bytes: keys.size() answers of 4096 bytes, in key order.
class Engine {
 public:
  explicit Engine(const MatrixSpec& spec);
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;

  MatrixInfo info() const;

  // A client of the engine with its own execution-space instance, buffers and
  // policies (graph replays are cached per session). Sessions may run from
  // different threads at once. A batch holds keys of one format: Morphogen's, or
  // packed ones (their leaf bits must be the matrix's packed_domain_bits).
  class Session {
   public:
    ~Session();
    Session(Session&&) noexcept;
    std::vector<std::uint8_t> answer(const PolicyConfig& policy, std::span<const DpfKey> keys);
    std::vector<std::uint8_t> answer(const PolicyConfig& policy, std::span<const PackedDpfKey> keys);
    // The epoch the last answer of this session was computed against, whole.
    std::uint64_t last_epoch() const;
    // Times the launches of every later answer (time_device(true)): a fence after the
    // keys' upload and one after the last launch, two waits an answer that a server
    // does not need; off by default.
    void time_device(bool on);
    // Milliseconds the last answer's launches took on the session's instance, fence
    // to fence (no copies); 0 unless time_device(true).
    double last_device_ms() const;

   private:
    friend class Engine;
    struct Impl;
    template <class Key>
    std::vector<std::uint8_t> answer_any(const PolicyConfig& policy, std::span<const Key> keys);
    explicit Session(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
  };

  // `count` sessions on disjoint instances of the default execution space.
  std::vector<Session> sessions(int count) const;
  Session session() const;

  // Live updates (docs/live-updates.md). The matrix serves epoch 0 when loaded.
  // Staged pages change nothing until advance_epoch(); a later stage of the same
  // page composes with the earlier one (new bytes win, diffs XOR in). `page` is a
  // global index: pages outside this engine's shard are checked, then ignored.
  // Both throw UpdateError and stage nothing for a bad page; not thread-safe
  // against each other or advance_epoch() (one updater), safe beside answers.
  void stage_page(std::uint64_t page, std::span<const std::uint8_t> bytes);
  void stage_diff(std::uint64_t page, std::span<const std::uint8_t> diff);
  std::size_t staged_pages() const;  // staged pages of this shard
  // Applies the staged pages as the next epoch and returns it: waits for the
  // answers in flight, patches the matrix in place, and lets answers resume on
  // the new epoch. Every engine of a sharded matrix advances alike, changes or
  // not. Throws EpochError.
  std::uint64_t advance_epoch();
  std::uint64_t epoch() const;

  // Keys for pages of this matrix's domain.
  DpfKeyPair make_keys(std::uint64_t target, KeyRng& rng) const;
  PackedDpfKeyPair make_packed_keys(std::uint64_t target, KeyRng& rng) const;

  // One plain streaming read of this engine's matrix (an XOR over all its words,
  // padding included), synchronous: the sweep times it as the read floor, the
  // physical limit of a one-pass scan. Returns the XOR, so the read is not elided.
  std::uint64_t read_all() const;

  // Evicts the engine's matrix and every session's keys from the device's caches
  // (a write of twice its last-level cache; the first call allocates that), and
  // waits for it: the sweep's --cold runs it before every timed path. Not
  // thread-safe against itself.
  void evict_caches() const;

  // The rate of the binary MMA `kernel` (MmaSync or Wgmma) on the engine's
  // device, in m*n*k AND-popc per second (a few milliseconds of MMAs); 0 where it
  // cannot run. A scan of K keys over P pages needs K x P x 32,768 of them.
  double tensor_rate(TensorKernel kernel) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pagequery
