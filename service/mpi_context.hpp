#pragma once
// Scale-out over MPI ranks: every rank holds one contiguous shard of the page
// matrix (service/shard.hpp), answers the keys over its shard only, and the per-key
// answers are XOR-reduced into rank 0 (the shards' answers XOR to the whole answer).
//
// Host-only, and only here: core/ and policies/ never see MPI. Built with
// PAGEQUERY_ENABLE_MPI the context wraps MPI_Init_thread/MPI_Finalize; without
// it the same interface is one rank and every collective is a no-op, so
// `answer` and `sweep` have one code path. No MPI type appears in this header.
//
// Collectives: every rank calls them in the same order. Failures go through
// agree(): a rank that throws outside agree() while others wait in a collective
// would hang them, so the destructor aborts the job (MPI_Abort) when an
// exception leaves it that the ranks did not agree on.
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace pagequery::service {

// This process's rank as its launcher's environment tells it (mpirun, a PMI
// launcher, a Slurm srun step), before or without MPI; 0 when none says. main()
// uses it so that a command line refused before MPI starts is reported once.
int launcher_rank();

class MpiContext {
 public:
  // MPI_Init_thread (MPI_THREAD_MULTIPLE requested), or one rank without MPI.
  // MPI starts only when a launcher started this process (mpirun/mpiexec, srun, a
  // PMI/PMIx launcher: their environment variables), or PAGEQUERY_MPI=1; by hand,
  // or with PAGEQUERY_MPI=0, the process is one rank and MPI_Init is skipped.
  // Refuses (InputError) a launch whose task count the ranks do not match: N
  // tasks of a build without MPI, or an MPI that sees 1 rank under a launcher
  // that started N (srun without the PMI plugin of this MPI).
  // `refused`: this rank's command line was refused before the context existed
  // (main's parse error). It joins the ranks' first agreement as this rank's
  // failure, so a command line refused on any rank ends every rank with exit 2
  // and one line, whether or not the other ranks' command lines parsed.
  explicit MpiContext(std::exception_ptr refused = nullptr);
  ~MpiContext();
  MpiContext(const MpiContext&) = delete;
  MpiContext& operator=(const MpiContext&) = delete;

  static bool compiled();  // built with PAGEQUERY_ENABLE_MPI
  // A context made now would start MPI (or join it): a launcher started this process.
  static bool will_start();
  static std::string library_version();  // MPI_Get_library_version's first line; "" without MPI

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }
  // Rank among the ranks of this node (MPI_Comm_split_type SHARED): the GPU index.
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  // The node's number: the lowest world rank among the ranks of this node.
  int node() const { return node_; }
  // Several client threads may reduce at once (MPI_THREAD_MULTIPLE provided).
  bool thread_multiple() const { return thread_multiple_; }

  // The collective outcome of a step every rank ran locally. No failure: returns.
  // One rank: rethrows `local` (main prints it). Several: the lowest failing rank
  // prints its message ("pagequery: ..." on stderr) and every rank throws RankFailed
  // with that rank's exit code and message (main prints nothing), so all ranks
  // leave together with one line on stderr.
  void agree(std::exception_ptr local) const;
  // Runs `step` on this rank, then agree()s on its outcome.
  template <class F>
  void step(F&& f) const {
    std::exception_ptr error;
    try {
      f();
    } catch (...) {
      error = std::current_exception();
    }
    agree(error);
  }

  // Every rank's `text` (a canonical description of what it is about to do, one
  // item a line) must be rank 0's: a rank whose text differs fails through agree()
  // with the first line that differs, `subject` naming what the text describes.
  // Ranks that ran different plans would run different collectives: a crash or a
  // hang, or, worse, a complete run on mismatched shards.
  void agree_on(const std::string& subject, const std::string& text) const;

  // The largest `local` over all ranks, on every rank.
  int max(int local) const;
  // True on every rank when `local` is true on any rank.
  bool any(bool local) const { return max(local ? 1 : 0) != 0; }
  void broadcast(std::string& text) const;  // from rank 0
  void broadcast(std::uint64_t& value) const;
  // Every rank's `text` (short: each is cut at 4096 bytes), in rank order, on every
  // rank (MPI_Allgatherv).
  std::vector<std::string> gather(const std::string& text) const;

  // Communicators of their own for concurrent client threads: channel c is a
  // duplicate of the world communicator. Collective; channels are only added.
  void open_channels(int count);
  int channels() const;
  static constexpr int kWorld = -1;  // the world communicator (the main thread's)

  void barrier(int channel = kWorld) const;
  // XOR of every rank's `bytes` (all the same length) into rank 0's `bytes`, in
  // place (MPI_Reduce, MPI_BXOR on 64-bit words). Other ranks' bytes are left as
  // they were. One rank: nothing happens.
  void reduce_xor(std::span<std::uint8_t> bytes, int channel = kWorld) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1, node_ = 0;
  bool thread_multiple_ = true;
  mutable bool agreed_failure_ = false;
};

}  // namespace pagequery::service
