// pagequery answer: one server's side of Morphogen's POST /query/page/gpu/batch.
#include "apps/accumulate_flag.hpp"
#include "apps/commands.hpp"
#include "apps/io_limits.hpp"
#include "apps/policy_flags.hpp"
#include "apps/share_gpus_flag.hpp"
#include "service/key_list.hpp"
#include "service/mpi_context.hpp"
#include "service/policy_text.hpp"
#include "service/rank_device.hpp"
#include "service/shard.hpp"
#include "service/text.hpp"
#include "service/updates.hpp"
#include "service/wire/request.hpp"
#include "service/wire/response.hpp"

#include "pagequery/core/dpf.hpp"
#include "pagequery/core/matrix_shape.hpp"
#include "pagequery/policies/engine.hpp"

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pagequery::apps {

using namespace service;

namespace {

// The largest Morphogen request (32 queries, d = 32) is about 120 KB; the largest
// packed one (256 queries, 25 leaf bits) about 0.75 MB.
constexpr std::uint64_t kDefaultMaxRequestBytes = std::uint64_t{1} << 20;

struct AnswerArgs {
  std::optional<std::string> matrix_file;
  std::string request = "-";
  std::string max_request_bytes = std::to_string(kDefaultMaxRequestBytes);
  PolicyFlags policy;
  Accumulate accumulate = Accumulate::Auto;
  TensorKernel tensor_kernel = TensorKernel::Auto;
  std::optional<std::string> updates;
  bool share_gpus = false;
};

// What `answer` checks before Kokkos starts and the matrix is loaded (a mainnet
// matrix is 64 GiB): the policy, the matrix file's shape, and the request text.
struct Checked {
  PolicyConfig config;
  Accumulate accumulate = Accumulate::Auto;  // auto is lop3 here when the policy needs it
  TensorKernel tensor_kernel = TensorKernel::Auto;
  std::string path;
  std::uint64_t pages = 0;
  int domain_bits = 0;
  std::string request;                // rank 0's only: stdin reaches rank 0 alone
  std::optional<UpdateFile> updates;  // applied as epoch 1 before answering
};

Checked check_args(const AnswerArgs& args, const MpiContext& mpi) {
  Checked out;
  out.config = resolve(args.policy);
  if (args.accumulate == Accumulate::Mma)
    if (const auto why = lop3_only(out.config)) throw InputError(*why + " (the policy: --policy)");
  out.accumulate = accumulate_for(args.accumulate, {&out.config, 1});
  out.tensor_kernel = args.tensor_kernel;
  if (!args.matrix_file) throw InputError("answer: --matrix-file is required");
  out.path = *args.matrix_file;
  try {
    out.pages = page_count_of_file(out.path);
    out.domain_bits = domain_bits_for(out.pages);
  } catch (const std::exception& e) {
    throw InputError("--matrix-file: " + one_line(e.what()));
  }
  if (args.updates)
    out.updates.emplace(*args.updates, out.pages, std::filesystem::file_size(out.path) - (out.pages - 1) * kPageBytes);
  const std::uint64_t limit = parse_u64(args.max_request_bytes, "--max-request-bytes");
  if (mpi.root()) out.request = read_limited(args.request, limit, "request", "--max-request-bytes");
  return out;
}

// What every rank must do alike: the policy, the matrix (its contents, not its
// path) and the keys. A rank with another --matrix-file of the same domain would
// otherwise add its shard of the wrong matrix into the answer.
std::string identity_of(const Checked& checked, const KeyList& keys, int ranks) {
  return "policy " + describe(checked.config) + "\naccumulate " + to_string(checked.accumulate) + "\ntensor kernel " +
         to_string(checked.tensor_kernel) + "\n" +
         as_input("--matrix-file: ", [&] { return file_identity(checked.path, ranks); }) + "\nkeys " + keys.identity() +
         "\nupdates " + (checked.updates ? checked.updates->identity() : "none");
}

// The update file staged and applied as the next epoch; a device failure is exit 1.
void apply_updates(Engine& engine, const UpdateFile& updates) {
  updates.stage(engine);
  try {
    engine.advance_epoch();
  } catch (const EpochError& e) {
    throw CheckFailed("answer: --updates: " + std::string(e.what()));
  }
}

struct Answers {
  std::vector<std::uint8_t> bytes;
  std::uint64_t epoch;
};

// This rank's answers to every key: over its shard of the matrix under MPI.
Answers answer_keys(const Checked& checked, const KeyList& keys, const MpiContext& mpi) {
  MatrixSpec spec;
  spec.file = checked.path;
  spec.accumulate = checked.accumulate;
  spec.tensor_kernel = checked.tensor_kernel;
  if (mpi.size() > 1) {
    const PageRange shard = shard_of(checked.pages, mpi.rank(), mpi.size());
    spec.shard = shard;
  }
  Engine engine(spec);
  if (engine.info().domain_bits != checked.domain_bits)
    throw CheckFailed("answer: the engine uses " + std::to_string(engine.info().domain_bits) + " domain bits for '" +
                      checked.path + "', the CLI computed " + std::to_string(checked.domain_bits));
  if (checked.updates) apply_updates(engine, *checked.updates);
  Engine::Session session = engine.session();
  std::vector<std::uint8_t> bytes = keys.answer(session, checked.config, 0, keys.size());
  if (bytes.size() != keys.size() * kPageBytes)
    throw CheckFailed("answer: the engine returned " + std::to_string(bytes.size()) + " bytes for " +
                      std::to_string(keys.size()) + " keys, expected " + std::to_string(keys.size() * kPageBytes));
  return {std::move(bytes), session.last_epoch()};
}

void run_answer(const AnswerArgs& args) {
  // Under MPI every rank answers the keys over its own shard of the matrix and
  // the answers are XOR-reduced into rank 0, which alone reads the request and
  // prints. Each step ends in an agreement, so a refusal on any rank makes every
  // rank exit with the same code (one line on stderr) instead of hanging.
  MpiContext mpi;
  Checked checked;
  mpi.step([&] { checked = check_args(args, mpi); });
  mpi.broadcast(checked.request);
  KeyList keys;
  std::string identity;
  mpi.step([&] {
    keys = parse_request(checked.request, checked.path, checked.pages);
    if (mpi.size() > 1) identity = identity_of(checked, keys, mpi.size());
  });
  mpi.agree_on("answer", identity);
  const std::optional<int> device = bind_rank_device(mpi, args.share_gpus).index;
  std::optional<Runtime> runtime;
  Answers answers;
  mpi.step([&] {
    runtime.emplace(device);
    answers = answer_keys(checked, keys, mpi);
  });
  mpi.reduce_xor(answers.bytes);  // every rank holds the same number of bytes, and the same epoch, here
  mpi.step([&] {
    if (!mpi.root()) return;
    std::cout << write_response(answers.bytes, keys.size(), answers.epoch) << '\n';
    flush_stdout("answer");
  });
}

}  // namespace

void add_answer(CLI::App& app) {
  auto args = std::make_shared<AnswerArgs>();
  CLI::App* cmd =
      app.add_subcommand("answer",
                         "Answer a batch request as one server would (Morphogen's POST /query/page/gpu/batch),\n"
                         "with Morphogen's keys or packed ones");
  cmd->add_option_function<std::string>(
         "--matrix-file", [args](const std::string& v) { args->matrix_file = v; },
         "raw matrix file: pages of 4096 bytes, the last zero-padded (required)")
      ->type_name("PATH");
  cmd->add_option("--request", args->request, "the request JSON; '-' or absent: stdin")->type_name("FILE");
  cmd->add_option("--max-request-bytes", args->max_request_bytes,
                  "refuse a request larger than this, checked while reading (the largest Morphogen\n"
                  "batch, 32 queries at d = 32, is about 120 KB; the largest packed one about 0.75 MB)")
      ->capture_default_str()
      ->type_name("N");
  add_policy_flags(cmd, args->policy);
  add_accumulate_flag(cmd, args->accumulate);
  add_tensor_kernel_flag(cmd, args->tensor_kernel);
  cmd->add_option_function<std::string>(
         "--updates", [args](const std::string& v) { args->updates = v; },
         "apply a file of page updates (records of an 8-byte little-endian page index and 4096\n"
         "new bytes; `pagequery updates`) as epoch 1 before answering; checked whole first")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  add_share_gpus_flag(cmd, args->share_gpus);
  cmd->footer(
      "Reads {\"queries\":[{\"keys\":[\"0x..\",\"0x..\",\"0x..\"]}, ...]}: queries of exactly 3 DPF keys\n"
      "(key bytes in hex, with or without 0x, either case), all Morphogen keys (1..32 queries; their\n"
      "domain bits must be the matrix's) or all packed keys (1..256 queries; their leaf bits must be\n"
      "the matrix's, see `pagequery info`). The format is read from the key bytes (packed keys are\n"
      "39 + 18 d bytes and start with PQP1; docs/packed-dpf.md); a request mixing them is refused.\n"
      "Writes {\"epoch_id\":E,\"results\":[{\"pages\":[\"0x<4096 bytes>\",x3]}, ...]} in query order;\n"
      "E is the matrix's epoch: 0, or 1 after --updates (docs/live-updates.md).\n"
      "The XOR of both servers' pages is the target page (`pagequery combine A.json B.json`).\n"
      "The request is strict JSON (no NUL byte, no trailing bytes, no key twice in an object) of at\n"
      "most --max-request-bytes (default 1 MiB), refused while it is read.\n"
      "Policy precedence: defaults < MORPHOGEN_GPU_* env vars < flags; an env var that a flag\n"
      "overrides is ignored (not validated). All policies, under every --accumulate, return\n"
      "identical bytes.\n"
      "MPI (a PAGEQUERY_ENABLE_MPI build under mpirun/srun): each rank scans its contiguous shard\n"
      "of the matrix on its own device; rank 0 reads the request and prints the XOR-reduced\n"
      "answers, byte-identical to one process.\n"
      "Exit codes: 0 ok, 2 refused input (one line on stderr), 1 failed self-check or device failure.\n");
  cmd->callback([args] { run_answer(*args); });
}

}  // namespace pagequery::apps
