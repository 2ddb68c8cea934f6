#include "pagequery/policies/engine.hpp"

#include "pagequery/core/memory_budget.hpp"
#include "pagequery/core/page_matrix.hpp"
#include "pagequery/core/page_updates.hpp"
#include "pagequery/core/read_floor.hpp"
#include "pagequery/policies/instances.hpp"
#include "pagequery/policies/registry.hpp"
#include "pagequery/policies/runtime_env.hpp"

#include <Kokkos_Core.hpp>

#ifdef KOKKOS_ENABLE_OPENMP
#include <omp.h>
#endif
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <numeric>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

namespace pagequery {

namespace {
using Exec = Kokkos::DefaultExecutionSpace;
using Mem = Exec::memory_space;

// Where Auto becomes a mode: the device is known once Kokkos runs.
PageLayout layout_for(Accumulate accumulate) {
  if (accumulate == Accumulate::Auto) return mma_available<Exec>() ? PageLayout::BitSliced : PageLayout::Vectors;
  if (accumulate == Accumulate::Lop3) return PageLayout::Vectors;
  if (!mma_available<Exec>())
    throw ConfigError(std::string("--accumulate mma needs a CUDA GPU of compute capability 8.0 or newer; "
                                  "this build runs on ") +
                      Exec::name());
  return PageLayout::BitSliced;
}

// GPUs visible to this process; 0 on host backends.
int visible_gpus() {
#ifdef KOKKOS_ENABLE_CUDA
  if constexpr (std::is_same_v<Exec, Kokkos::Cuda>) {
    int n = 0;
    return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
  }
#endif
  return 0;
}

// Facts of this build and machine, read without initialising Kokkos (libgomp has
// parsed OMP_* when it loaded; asking it starts no thread).
RuntimeLimits runtime_limits() {
  RuntimeLimits l;
#ifdef KOKKOS_ENABLE_OPENMP
  l.openmp = true;
  l.thread_table = Kokkos::Impl::OpenMPTraits::MAX_THREAD_COUNT;
  l.openmp_threads = omp_get_max_threads();
  l.openmp_thread_limit = omp_get_thread_limit();
#endif
#ifdef KOKKOS_ENABLE_LIBDL
  l.tools = true;
#endif
  cpu_set_t cpus;
  l.cpus = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus)
                                                         : static_cast<int>(std::thread::hardware_concurrency());
  l.cpus = std::max(l.cpus, 1);
  l.host_memory = host_memory_available();
#ifdef KOKKOS_ENABLE_CUDA
  if constexpr (std::is_same_v<Exec, Kokkos::Cuda>) l.gpus = visible_gpus();
#endif
  return l;
}

// Points stdout at stderr for its lifetime (both C and C++ streams flushed first).
class StdoutToStderr {
 public:
  StdoutToStderr() {
    std::cout.flush();
    std::fflush(stdout);
    saved_ = ::dup(STDOUT_FILENO);
    if (saved_ >= 0) ::dup2(STDERR_FILENO, STDOUT_FILENO);
  }
  ~StdoutToStderr() {
    std::cout.flush();
    std::fflush(stdout);
    if (saved_ < 0) return;
    ::dup2(saved_, STDOUT_FILENO);
    ::close(saved_);
  }
  StdoutToStderr(const StdoutToStderr&) = delete;
  StdoutToStderr& operator=(const StdoutToStderr&) = delete;

 private:
  int saved_ = -1;
};
}  // namespace

std::string to_string(Accumulate accumulate) {
  if (accumulate == Accumulate::Lop3) return "lop3";
  return accumulate == Accumulate::Mma ? "mma" : "auto";
}

Accumulate parse_accumulate(const std::string& name) {
  for (Accumulate a : {Accumulate::Lop3, Accumulate::Mma, Accumulate::Auto})
    if (name == to_string(a)) return a;
  throw ConfigError("unknown accumulation '" + name + "' (expected lop3, mma or auto)");
}

Accumulate accumulate_for(Accumulate asked, std::span<const PolicyConfig> configs) {
  if (asked != Accumulate::Auto) return asked;
  const bool lop3_needed =
      std::any_of(configs.begin(), configs.end(), [](const PolicyConfig& c) { return lop3_only(c).has_value(); });
  return lop3_needed ? Accumulate::Lop3 : Accumulate::Auto;
}

int Runtime::check_environment() {
  // The check loads the tool library: what its constructor prints is not our output.
  const int threads = [] {
    StdoutToStderr quiet;
    return check_runtime_env(runtime_limits());
  }();
#ifdef KOKKOS_ENABLE_OPENMP
  if constexpr (std::is_same_v<Exec, Kokkos::OpenMP>) return threads;
#endif
  (void)threads;
  return INT_MAX;
}

// Kokkos's OMP_PROC_BIND advice would break the one-line error contract of the CLI.
Runtime::Runtime(std::optional<int> device_index) {
  check_environment();
  auto settings = Kokkos::InitializationSettings().set_disable_warnings(true);
  if (device_index && *device_index >= 0)
    if (const int gpus = visible_gpus(); gpus > 0) settings.set_device_id(*device_index % gpus);
  StdoutToStderr quiet;
  Kokkos::initialize(settings);
}
Runtime::~Runtime() {
  StdoutToStderr quiet;
  Kokkos::finalize();
}
std::string Runtime::backend() { return Exec::name(); }
int Runtime::concurrency() { return Exec().concurrency(); }
int Runtime::visible_gpus() { return pagequery::visible_gpus(); }  // the file's helper, not this member

std::string Runtime::kokkos_version() {
  return std::to_string(KOKKOS_VERSION_MAJOR) + "." + std::to_string(KOKKOS_VERSION_MINOR) + "." +
         std::to_string(KOKKOS_VERSION_PATCH);
}

std::string Runtime::device() {
#ifdef KOKKOS_ENABLE_CUDA
  if constexpr (std::is_same_v<Exec, Kokkos::Cuda>) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, Kokkos::Cuda().cuda_device()) == cudaSuccess) return prop.name;
  }
#endif
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.starts_with("model name")) return line.substr(line.find(':') + 2);
  return "host";
}

namespace {
PageMatrix<Mem> load(const MatrixSpec& spec, std::uint64_t total) {
  const PageRange range = spec.shard.value_or(PageRange{total, 0, total});
  if (range.total_pages != total)
    throw ConfigError("matrix shard of " + std::to_string(range.total_pages) + " pages, but the matrix has " +
                      std::to_string(total));
  const PageLayout layout = layout_for(spec.accumulate);
  if (spec.tensor_kernel == TensorKernel::Wgmma && (layout != PageLayout::BitSliced || !wgmma_available<Exec>()))
    throw ConfigError(
        "--tensor-kernel wgmma needs the tensor cores (--accumulate mma or auto) of a GPU of compute "
        "capability 9.0 (sm_90a code); this run has " +
        Runtime::device());
  PageMatrix<Mem> m = spec.file.empty() ? synthesize_page_matrix(Exec(), range, spec.fill, spec.seed, layout)
                                        : load_page_matrix(Exec(), spec.file, &range, layout);
  m.set_tensor_kernel(spec.tensor_kernel, spec.wgmma_cluster);
  return m;
}
// What scans packed keys on `m` (TensorCorePageQuery resolves it the same way, per launch).
std::string packed_kernel_of(const PageMatrix<Mem>& m) {
  if (m.layout() != PageLayout::BitSliced) return "portable";
  const TensorKernel asked = m.tensor_kernel();
  if (asked != TensorKernel::Auto) return to_string(asked);
  if (!wgmma_available<Exec>()) return to_string(TensorKernel::MmaSync);
  return "auto (wgmma above " + std::to_string(kWgmmaAutoKeys) + " keys, else mma_sync)";
}
std::uint64_t total_pages_of(const MatrixSpec& spec) {
  if (!spec.file.empty()) return page_count_of_file(spec.file);
  if (spec.synthetic_pages == 0) throw MatrixError("a synthetic matrix needs at least one page");
  return spec.synthetic_pages;
}
}  // namespace

namespace Details {

// What answers and epoch advances share (docs/live-updates.md): an answer holds
// the lock shared from its keys' upload to its answers' download, an advance holds
// it exclusive while it patches, so an answer sees one epoch whole.
struct EpochState {
  std::shared_mutex lock;
  std::atomic<std::uint64_t> epoch{0};  // written under the exclusive lock
  std::string broken;                   // why the matrix cannot serve; under the lock
};

// Staged pages, in pinned host memory from the moment they are staged, so that an
// advance copies them to the device in one run. Row r holds page pages[r].
struct UpdateStaging {
  using Rows = Kokkos::View<Bits128**, Kokkos::LayoutRight, Kokkos::SharedHostPinnedSpace>;
  Rows rows;
  std::vector<std::uint64_t> pages;
  std::vector<std::uint8_t> replace;  // 1: new bytes, 0: an XOR diff
  std::unordered_map<std::uint64_t, std::uint32_t> row_of;

  std::uint8_t* row(std::uint32_t r) { return reinterpret_cast<std::uint8_t*>(&rows(r, 0)); }

  // The row of `page`, a new one if it has none (the staging grows by doubling).
  std::pair<std::uint32_t, bool> row_for(std::uint64_t page) {
    if (const auto it = row_of.find(page); it != row_of.end()) return {it->second, false};
    const std::size_t n = pages.size();
    if (n == rows.extent(0)) {
      Rows bigger(Kokkos::view_alloc(Kokkos::WithoutInitializing, "pagequery::update_staging"),
                  std::max<std::size_t>(64, 2 * n), kVectorsPerPage);
      if (n) std::memcpy(bigger.data(), rows.data(), n * kPageBytes);
      rows = bigger;
    }
    pages.reserve(n + 1);
    replace.reserve(n + 1);
    row_of.emplace(page, static_cast<std::uint32_t>(n));  // the last call that may throw
    pages.push_back(page);
    replace.push_back(0);
    return {static_cast<std::uint32_t>(n), true};
  }

  void clear() {
    pages.clear();
    replace.clear();
    row_of.clear();
  }
};

// The staged pages on the device, sorted by page, ready to patch (PagePatch).
struct DevicePatch {
  Kokkos::View<std::uint64_t*, Mem> pages;
  Kokkos::View<std::uint32_t*, Mem> rows, groups;
  Kokkos::View<std::uint8_t*, Mem> replace;
  Kokkos::View<Bits128**, Kokkos::LayoutRight, Mem> data;

  PagePatch<Mem> view() const { return {pages, rows, replace, data, groups}; }
};

template <class T>
Kokkos::View<T*, Mem> to_device(const Exec& exec, const std::vector<T>& host, const char* label) {
  Kokkos::View<T*, Mem> out(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, std::string(label)), host.size());
  Kokkos::deep_copy(
      exec, out,
      Kokkos::View<const T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(host.data(), host.size()));
  return out;
}

// `dst` is `src` where the device reads the staging's memory space itself (host
// backends), else a device copy of it: the one host-to-device copy of the pages.
template <class Dst, class Src>
void take_or_copy(const Exec& exec, Dst& dst, const Src& src) {
  if constexpr (std::is_same_v<typename Dst::memory_space, typename Src::memory_space>) {
    dst = src;
  } else {
    dst = Dst(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "pagequery::patch_data"), src.extent(0),
              src.extent(1));
    Kokkos::deep_copy(exec, dst, src);
  }
}

// Everything an advance needs on the device, copied before the matrix is touched.
DevicePatch upload(const Exec& exec, UpdateStaging& staged, PageLayout layout) {
  const std::size_t n = staged.pages.size();
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return staged.pages[a] < staged.pages[b]; });
  std::vector<std::uint64_t> pages(n);
  std::vector<std::uint8_t> replace(n);
  for (std::size_t k = 0; k < n; ++k) {
    pages[k] = staged.pages[order[k]];
    replace[k] = staged.replace[order[k]];
  }
  DevicePatch p{to_device(exec, pages, "pagequery::patch_pages"),
                to_device(exec, order, "pagequery::patch_rows"),
                to_device(exec, layout == PageLayout::BitSliced ? slice_groups(pages) : std::vector<std::uint32_t>{},
                          "pagequery::patch_groups"),
                to_device(exec, replace, "pagequery::patch_replace"),
                {}};
  take_or_copy(exec, p.data, Kokkos::subview(staged.rows, std::make_pair(std::size_t{0}, n), Kokkos::ALL));
  exec.fence("pagequery::Engine: update uploaded");
  return p;
}

}  // namespace Details

struct Engine::Impl {
  PageMatrix<Mem> matrix;
  std::uint64_t total_pages;
  std::uint64_t last_page_bytes;  // bytes of the last page inside the matrix; the rest is zero
  std::shared_ptr<Details::EpochState> state = std::make_shared<Details::EpochState>();
  Details::UpdateStaging staging;
  Kokkos::View<std::uint64_t*, Mem> eviction;  // evict_caches(): twice the last-level cache
  std::uint64_t evictions = 0;

  void stage(std::uint64_t page, std::span<const std::uint8_t> bytes, bool replace);
};

void check_page_update(std::uint64_t total_pages, std::uint64_t last_page_bytes, std::uint64_t page,
                       std::span<const std::uint8_t> bytes) {
  const std::string what = "page update of page " + std::to_string(page);
  if (page >= total_pages)
    throw UpdateError(what + ": outside the matrix of " + std::to_string(total_pages) + " pages");
  if (bytes.size() != static_cast<std::size_t>(kPageBytes))
    throw UpdateError(what + ": " + std::to_string(bytes.size()) + " bytes, a page holds " +
                      std::to_string(kPageBytes));
  if (page + 1 != total_pages) return;
  const auto tail = bytes.subspan(last_page_bytes);
  if (const auto nz = std::find_if(tail.begin(), tail.end(), [](std::uint8_t b) { return b != 0; }); nz != tail.end())
    throw UpdateError(what + ": byte " + std::to_string(last_page_bytes + (nz - tail.begin())) +
                      " lies past the matrix's end (" + std::to_string(last_page_bytes) +
                      " bytes in its last page) and is not zero");
}

void Engine::Impl::stage(std::uint64_t page, std::span<const std::uint8_t> bytes, bool replace) {
  check_page_update(total_pages, last_page_bytes, page, bytes);
  if (page < matrix.first_page() || page - matrix.first_page() >= matrix.pages()) return;  // another shard's
  const auto [r, fresh] = staging.row_for(page);
  std::uint8_t* row = staging.row(r);
  if (replace || fresh) {
    std::memcpy(row, bytes.data(), kPageBytes);
    staging.replace[r] = replace;
  } else {
    for (std::size_t i = 0; i < bytes.size(); ++i) row[i] ^= bytes[i];  // composes with new bytes or a diff
  }
}

namespace {
std::uint64_t last_page_bytes_of(const MatrixSpec& spec, std::uint64_t total) {
  if (spec.file.empty()) return kPageBytes;
  return std::filesystem::file_size(spec.file) - (total - 1) * kPageBytes;
}
}  // namespace

Engine::Engine(const MatrixSpec& spec) {
  const std::uint64_t total = total_pages_of(spec);
  const std::uint64_t last = last_page_bytes_of(spec, total);
  impl_ = std::make_unique<Impl>(Impl{load(spec, total), total, last});
  Exec().fence("pagequery::Engine: matrix ready");
}

void Engine::stage_page(std::uint64_t page, std::span<const std::uint8_t> bytes) { impl_->stage(page, bytes, true); }
void Engine::stage_diff(std::uint64_t page, std::span<const std::uint8_t> diff) { impl_->stage(page, diff, false); }
std::size_t Engine::staged_pages() const { return impl_->staging.pages.size(); }
std::uint64_t Engine::epoch() const { return impl_->state->epoch.load(); }

std::uint64_t Engine::advance_epoch() {
  Impl& e = *impl_;
  Details::EpochState& state = *e.state;
  const std::uint64_t next = state.epoch.load() + 1;
  Details::DevicePatch patch;
  try {
    patch = Details::upload(Exec(), e.staging, e.matrix.layout());
  } catch (const std::exception& ex) {
    throw EpochError("epoch " + std::to_string(next) + " not applied, epoch " + std::to_string(next - 1) +
                         " still serves: " + ex.what(),
                     false);
  }
  std::unique_lock lock(state.lock);
  if (!state.broken.empty()) throw EpochError(state.broken, true);
  try {
    patch_pages(Exec(), e.matrix, patch.view());
    Exec().fence("pagequery::Engine: epoch patched");
  } catch (const std::exception& ex) {
    state.broken = "the matrix is inconsistent: patching epoch " + std::to_string(next) + " failed: " + ex.what();
    throw EpochError(state.broken, true);
  }
  e.staging.clear();
  state.epoch.store(next);
  return next;
}
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

MatrixInfo Engine::info() const {
  const auto& m = impl_->matrix;
  return {impl_->total_pages,
          m.first_page(),
          m.pages(),
          m.domain_bits(),
          impl_->total_pages * kPageBytes,
          impl_->last_page_bytes,
          m.source(),
          m.layout() == PageLayout::BitSliced ? Accumulate::Mma : Accumulate::Lop3,
          packed_kernel_of(m)};
}

double Engine::tensor_rate(TensorKernel kernel) const {
  const double rate = pagequery::tensor_rate(Exec(), kernel);
  Exec().fence("pagequery::Engine: tensor rate");
  return rate;
}

DpfKeyPair Engine::make_keys(std::uint64_t target, KeyRng& rng) const {
  return generate_dpf_keys(impl_->matrix.domain_bits(), target, rng);
}

PackedDpfKeyPair Engine::make_packed_keys(std::uint64_t target, KeyRng& rng) const {
  return generate_packed_keys(packed_domain_bits(impl_->total_pages), target, rng);
}

std::uint64_t Engine::read_all() const {
  std::shared_lock lock(impl_->state->lock);
  return read_all_words(Exec(), impl_->matrix);
}

void Engine::evict_caches() const {
  const Exec exec;
  if (impl_->eviction.size() == 0)
    impl_->eviction =
        Kokkos::View<std::uint64_t*, Mem>(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "pagequery::eviction"),
                                          2 * last_level_cache_bytes(exec) / sizeof(std::uint64_t));
  pagequery::evict_caches(exec, impl_->eviction, ++impl_->evictions);
}

struct Engine::Session::Impl {
  Exec exec;
  PageMatrix<Mem> matrix;
  std::uint64_t total_pages;
  Kokkos::View<DpfKey*, Mem> keys;
  Kokkos::View<PackedDpfKey*, Mem> packed_keys;
  AnswerView<Mem> answers;
  std::map<std::string, std::unique_ptr<BatchPolicy<Exec>>> policies;  // by strategy name
  std::shared_ptr<Details::EpochState> state;
  std::uint64_t last_epoch = 0;
  bool timed = false;    // time_device()
  double device_ms = 0;  // the last answer's launches, fence to fence

  BatchPolicy<Exec>& policy(const PolicyConfig& config) {
    auto& p = policies[strategy_name(config)];
    if (!p) p = make_policy<Exec>(config);
    return *p;
  }
};

Engine::Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::Session::~Session() = default;
std::uint64_t Engine::Session::last_epoch() const { return impl_->last_epoch; }
Engine::Session::Session(Session&&) noexcept = default;

std::vector<std::uint8_t> Engine::Session::answer(const PolicyConfig& config, std::span<const DpfKey> keys) {
  return answer_any(config, keys);
}

std::vector<std::uint8_t> Engine::Session::answer(const PolicyConfig& config, std::span<const PackedDpfKey> keys) {
  return answer_any(config, keys);
}

void Engine::Session::time_device(bool on) {
  impl_->timed = on;
  impl_->device_ms = 0;
}
double Engine::Session::last_device_ms() const { return impl_->device_ms; }

template <class Key>
std::vector<std::uint8_t> Engine::Session::answer_any(const PolicyConfig& config, std::span<const Key> keys) {
  Impl& s = *impl_;
  constexpr bool packed = std::is_same_v<Key, PackedDpfKey>;
  const int d = packed ? packed_domain_bits(s.total_pages) : s.matrix.domain_bits();
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (keys[i].domain_bits != d)
      throw KeyError("key " + std::to_string(i) + " has " + std::to_string(keys[i].domain_bits) +
                     (packed ? " leaf bits, the matrix needs " : " domain bits, the matrix has ") + std::to_string(d));
  if (keys.empty() || keys.size() % kKeysPerQuery != 0)
    throw ConfigError("a batch holds 3 keys per query, got " + std::to_string(keys.size()));
  Kokkos::View<Key*, Mem>& device_keys = [&]() -> Kokkos::View<Key*, Mem>& {
    if constexpr (packed)
      return s.packed_keys;
    else
      return s.keys;
  }();
  if (device_keys.extent(0) != keys.size())  // same shape: same buffers, so graphs replay
    device_keys = Kokkos::View<Key*, Mem>(Kokkos::view_alloc(s.exec, "pagequery::keys"), keys.size());
  if (s.answers.extent(0) != keys.size())
    s.answers = AnswerView<Mem>(Kokkos::view_alloc(s.exec, "pagequery::answers"), keys.size(), kVectorsPerPage);
  Kokkos::View<const Key*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> host_keys(keys.data(),
                                                                                                 keys.size());
  std::shared_lock epoch_lock(s.state->lock);  // one epoch, from the keys' upload to the answers' download
  if (!s.state->broken.empty()) throw EpochError(s.state->broken, true);
  Kokkos::deep_copy(s.exec, device_keys, host_keys);
  // Timed: fenced on both sides so that the timer sees the launches alone, not the copies.
  if (s.timed) s.exec.fence("pagequery::Session::answer: keys on the device");
  Kokkos::Timer timer;
  s.policy(config).run(s.exec, s.matrix, device_keys, s.answers);
  if (s.timed) {
    s.exec.fence("pagequery::Session::answer: launches done");
    s.device_ms = timer.seconds() * 1e3;
  }

  std::vector<std::uint8_t> bytes(keys.size() * kPageBytes);
  Kokkos::View<Bits128**, Kokkos::LayoutRight, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> host_answers(
      reinterpret_cast<Bits128*>(bytes.data()), keys.size(), kVectorsPerPage);
  Kokkos::deep_copy(s.exec, host_answers, s.answers);
  s.exec.fence("pagequery::Session::answer: answers on the host");
  s.last_epoch = s.state->epoch.load();
  return bytes;
}

std::vector<Engine::Session> Engine::sessions(int count) const {
  std::vector<Session> out;
  if (count <= 1) {
    out.push_back(session());
    return out;
  }
#ifdef KOKKOS_ENABLE_OPENMP
  if constexpr (std::is_same_v<Exec, Kokkos::OpenMP>) {
    const int threads = Exec().impl_thread_pool_size();
    if (count > threads)  // an OpenMP partition needs a thread of its own
      throw ConfigError(std::to_string(count) + " concurrent sessions need as many OpenMP threads, " +
                        "the backend has " + std::to_string(threads) + " (raise OMP_NUM_THREADS)");
  }
#endif
  for (const Exec& exec : disjoint_instances(Exec(), count))
    out.push_back(Session(std::make_unique<Session::Impl>(
        Session::Impl{exec, impl_->matrix, impl_->total_pages, {}, {}, {}, {}, impl_->state})));
  return out;
}

Engine::Session Engine::session() const {
  return Session(std::make_unique<Session::Impl>(
      Session::Impl{Exec(), impl_->matrix, impl_->total_pages, {}, {}, {}, {}, impl_->state}));
}

}  // namespace pagequery
