#include "service/mpi_context.hpp"

#include "service/errors.hpp"

#ifdef PAGEQUERY_ENABLE_MPI
#include <mpi.h>
#endif

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace pagequery::service {

namespace {

long env_long(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return end && *end == '\0' && n > 0 ? n : 0;
}

// A Slurm srun step (not the batch script, whose step id is a reserved value).
bool in_srun_step() {
  const char* step = std::getenv("SLURM_STEP_ID");
  if (!step) step = std::getenv("SLURM_STEPID");
  if (!step || !*step) return false;
  char* end = nullptr;
  const unsigned long id = std::strtoul(step, &end, 10);
  return end && *end == '\0' && id < 0xfffffff0ul;
}

// Tasks a launcher started for this job step (0: none detected): Open MPI's
// mpirun, a PMI launcher (MPICH's hydra), or a Slurm srun step.
long launcher_tasks() {
  if (const long n = env_long("OMPI_COMM_WORLD_SIZE")) return n;
  if (const long n = env_long("PMI_SIZE")) return n;
  return in_srun_step() ? env_long("SLURM_STEP_NUM_TASKS") : 0;
}

// MPI starts only under a launcher: a process started by hand stays one rank and
// skips MPI_Init (a singleton Open MPI spawns a daemon: about 0.3 s per command).
// PAGEQUERY_MPI=1 forces MPI_Init, PAGEQUERY_MPI=0 prevents it.
[[maybe_unused]] bool start_mpi() {
  if (const char* force = std::getenv("PAGEQUERY_MPI"); force && *force) return std::string(force) != "0";
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK", "MV2_COMM_WORLD_SIZE",
                           "MPI_LOCALNRANKS", "PALS_RANKID", "ALPS_APP_PE", "JSM_NAMESPACE_SIZE", "FLUX_TASK_RANK"})
    if (const char* v = std::getenv(name); v && *v) return true;
  return in_srun_step();
}

void check_launch(int size) {
  const long tasks = launcher_tasks();
  if (tasks <= 1 || tasks == size) return;
  const std::string message =
      MpiContext::compiled()
          ? "launched as " + std::to_string(tasks) + " tasks, but MPI sees " + std::to_string(size) +
                " rank(s): the launcher and this MPI do not talk (srun --mpi=pmix or pmi2?)"
          : "launched as " + std::to_string(tasks) +
                " tasks, but this pagequery was built without MPI (PAGEQUERY_ENABLE_MPI=OFF): every task "
                "would answer the whole matrix alone";
  // The tasks cannot agree without MPI: the launcher's rank 0 alone reports.
  if (launcher_rank() != 0) throw RankFailed(2, message);
  throw InputError(message);
}

// A command line refused where the tasks cannot agree (no MPI): the launcher's
// rank 0 alone reports it, the others leave quietly with the same code.
[[noreturn]] void refuse_alone(const std::exception_ptr& refused) {
  if (launcher_rank() != 0) throw RankFailed(failure_of(refused).exit_code, "");
  std::rethrow_exception(refused);
}

}  // namespace

int launcher_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"})
    if (const char* v = std::getenv(name); v && *v) return static_cast<int>(env_long(name));
  return in_srun_step() ? static_cast<int>(env_long("SLURM_PROCID")) : 0;
}

namespace {
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at <= text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

// "rank 2 has 'iterations 3' where rank 0 has 'iterations 5'"
std::string first_difference(int rank, const std::string& mine, const std::string& root) {
  const std::vector<std::string> a = lines_of(mine), b = lines_of(root);
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  const auto item = [i](const std::vector<std::string>& v) { return i < v.size() ? "'" + v[i] + "'" : "nothing"; };
  return "rank " + std::to_string(rank) + " has " + item(a) + " where rank 0 has " + item(b);
}
}  // namespace

void MpiContext::agree_on(const std::string& subject, const std::string& text) const {
  std::string root = text;
  broadcast(root);
  step([&] {
    if (text != root)
      throw InputError("the MPI ranks disagree on the " + subject + ": " + first_difference(rank_, text, root) +
                       " (every rank must get the same command line and matrix)");
  });
}

// ------------------------------------------------------------------ MPI

#ifdef PAGEQUERY_ENABLE_MPI

struct MpiContext::Impl {
  bool finalize = false;  // this object initialised MPI
  std::vector<MPI_Comm> channels;
  int notional_channels = 0;  // one rank: no communicators needed
};

namespace {
MPI_Comm comm_of(const std::vector<MPI_Comm>& channels, int channel) {
  if (channel == MpiContext::kWorld) return MPI_COMM_WORLD;
  if (channel < 0 || static_cast<std::size_t>(channel) >= channels.size())
    throw std::logic_error("MpiContext: channel " + std::to_string(channel) + " is not open");
  return channels[static_cast<std::size_t>(channel)];
}
}  // namespace

bool MpiContext::compiled() { return true; }

bool MpiContext::will_start() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  return initialized || start_mpi();
}

std::string MpiContext::library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  if (MPI_Get_library_version(text, &length) != MPI_SUCCESS) return "MPI";
  std::string out(text, static_cast<std::size_t>(std::max(0, length)));
  out = out.substr(0, out.find('\n'));
  while (!out.empty() && (out.back() == '\0' || out.back() == ' ' || out.back() == '\r')) out.pop_back();
  return out.empty() ? "MPI" : out;
}

MpiContext::MpiContext(std::exception_ptr refused) : impl_(std::make_unique<Impl>()) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized && !start_mpi()) {
    if (refused) refuse_alone(refused);
    check_launch(1);  // one rank, MPI untouched
    return;
  }
  int provided = MPI_THREAD_SINGLE;
  if (!initialized) {
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
    impl_->finalize = true;
  } else {
    MPI_Query_thread(&provided);
  }
  thread_multiple_ = provided >= MPI_THREAD_MULTIPLE;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm node = MPI_COMM_NULL;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_size(node, &local_size_);
  MPI_Allreduce(&rank_, &node_, 1, MPI_INT, MPI_MIN, node);
  MPI_Comm_free(&node);
  // Every rank sees the same launcher variables, so all refuse alike; the agreement
  // keeps it to one line on stderr. A constructor that throws runs no destructor.
  try {
    step([&] {
      if (refused) std::rethrow_exception(refused);
      check_launch(size_);
    });
  } catch (...) {
    if (impl_->finalize) MPI_Finalize();
    throw;
  }
}

MpiContext::~MpiContext() {
  // Also in a context nested in main's (which does not finalize): its ranks wait.
  if (std::uncaught_exceptions() > 0 && !agreed_failure_ && size_ > 1) {
    // This rank fails alone; the others may wait in a collective forever.
    std::fprintf(stderr, "pagequery: rank %d failed outside a collective step; aborting all %d ranks\n", rank_, size_);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  for (MPI_Comm& c : impl_->channels) MPI_Comm_free(&c);
  if (impl_->finalize) MPI_Finalize();
}

void MpiContext::agree(std::exception_ptr local) const {
  if (size_ == 1) {
    if (local) std::rethrow_exception(local);
    return;
  }
  int mine = local ? rank_ : size_, first = size_;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (first == size_) return;
  // The first failing rank's code and message go to everyone. It prints its line
  // now, before the broadcast lets the others go: once a rank exits non-zero, the
  // launcher may kill the rest before they print (main() prints nothing for RankFailed).
  const Failure failure = rank_ == first ? failure_of(local) : Failure{0, ""};
  int code = failure.exit_code;
  std::string message = failure.message;
  if (rank_ == first) {
    const std::string line = "pagequery: " + message + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }
  MPI_Bcast(&code, 1, MPI_INT, first, MPI_COMM_WORLD);
  int length = static_cast<int>(std::min<std::size_t>(message.size(), 4096));
  MPI_Bcast(&length, 1, MPI_INT, first, MPI_COMM_WORLD);
  message.resize(static_cast<std::size_t>(length));
  MPI_Bcast(message.data(), length, MPI_CHAR, first, MPI_COMM_WORLD);
  agreed_failure_ = true;
  throw RankFailed(code, rank_ == first ? message : "rank " + std::to_string(first) + ": " + message);
}

int MpiContext::max(int local) const {
  if (size_ == 1) return local;
  int all = local;
  MPI_Allreduce(&local, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return all;
}

void MpiContext::broadcast(std::string& text) const {
  if (size_ == 1) return;
  unsigned long long length = text.size();
  MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
  text.resize(static_cast<std::size_t>(length));
  for (std::size_t done = 0; done < text.size();) {  // in pieces below INT_MAX
    const int n = static_cast<int>(std::min<std::size_t>(text.size() - done, INT_MAX / 2));
    MPI_Bcast(text.data() + done, n, MPI_CHAR, 0, MPI_COMM_WORLD);
    done += static_cast<std::size_t>(n);
  }
}

void MpiContext::broadcast(std::uint64_t& value) const {
  if (size_ == 1) return;
  MPI_Bcast(&value, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
}

std::vector<std::string> MpiContext::gather(const std::string& text) const {
  if (size_ == 1) return {text};
  // Short texts (GPU names, numbers): one int of length each is enough.
  const int mine = static_cast<int>(std::min<std::size_t>(text.size(), 4096));
  std::vector<int> lengths(static_cast<std::size_t>(size_)), offsets(static_cast<std::size_t>(size_));
  MPI_Allgather(&mine, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < size_; ++r) {
    offsets[static_cast<std::size_t>(r)] = total;
    total += lengths[static_cast<std::size_t>(r)];
  }
  std::string all(static_cast<std::size_t>(total), '\0');
  MPI_Allgatherv(text.data(), mine, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, MPI_COMM_WORLD);
  std::vector<std::string> out;
  for (int r = 0; r < size_; ++r)
    out.push_back(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                             static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)])));
  return out;
}

void MpiContext::open_channels(int count) {
  if (size_ == 1) {  // nothing to talk to (and maybe no MPI_Init): channels stay notional
    impl_->notional_channels = std::max(impl_->notional_channels, count);
    return;
  }
  while (static_cast<int>(impl_->channels.size()) < count) {
    MPI_Comm c = MPI_COMM_NULL;
    MPI_Comm_dup(MPI_COMM_WORLD, &c);
    impl_->channels.push_back(c);
  }
}

int MpiContext::channels() const {
  return std::max(static_cast<int>(impl_->channels.size()), impl_->notional_channels);
}

void MpiContext::barrier(int channel) const {
  if (size_ == 1) return;
  MPI_Barrier(comm_of(impl_->channels, channel));
}

void MpiContext::reduce_xor(std::span<std::uint8_t> bytes, int channel) const {
  if (size_ == 1) return;
  const MPI_Comm comm = comm_of(impl_->channels, channel);
  // MPI_BXOR is defined on integer types, not on MPI_BYTE: 64-bit words, and
  // bytes for a tail (answers are 4096-byte pages, so there is none).
  const std::size_t words = bytes.size() / 8;
  const auto reduce = [&](void* data, std::size_t count, MPI_Datatype type) {
    for (std::size_t at = 0; at < count;) {
      const int n = static_cast<int>(std::min<std::size_t>(count - at, INT_MAX / 2));
      void* p = static_cast<std::uint8_t*>(data) + at * (type == MPI_UINT64_T ? 8 : 1);
      if (rank_ == 0)
        MPI_Reduce(MPI_IN_PLACE, p, n, type, MPI_BXOR, 0, comm);
      else
        MPI_Reduce(p, nullptr, n, type, MPI_BXOR, 0, comm);
      at += static_cast<std::size_t>(n);
    }
  };
  if (words) reduce(bytes.data(), words, MPI_UINT64_T);
  if (words * 8 < bytes.size()) reduce(bytes.data() + words * 8, bytes.size() - words * 8, MPI_UINT8_T);
}

#else  // ------------------------------------------------ one rank, no MPI

struct MpiContext::Impl {
  int channels = 0;
};

bool MpiContext::compiled() { return false; }
bool MpiContext::will_start() { return false; }
std::string MpiContext::library_version() { return ""; }

MpiContext::MpiContext(std::exception_ptr refused) : impl_(std::make_unique<Impl>()) {
  if (refused) refuse_alone(refused);
  check_launch(1);
}
MpiContext::~MpiContext() = default;

void MpiContext::agree(std::exception_ptr local) const {
  if (local) std::rethrow_exception(local);
}
int MpiContext::max(int local) const { return local; }
void MpiContext::broadcast(std::string&) const {}
void MpiContext::broadcast(std::uint64_t&) const {}
std::vector<std::string> MpiContext::gather(const std::string& text) const { return {text}; }
void MpiContext::open_channels(int count) { impl_->channels = std::max(impl_->channels, count); }
int MpiContext::channels() const { return impl_->channels; }
void MpiContext::barrier(int) const {}
void MpiContext::reduce_xor(std::span<std::uint8_t>, int) const {}

#endif

}  // namespace pagequery::service
