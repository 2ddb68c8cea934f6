// pagequery answer: one server's side of Morphogen's POST /query/page/gpu/batch.
#include "apps/accumulate_flag.hpp"
#include "apps/commands.hpp"
#include "bench/wire/hex.hpp"
#include "bench/key_list.hpp"
#include "apps/io_limits.hpp"
#include "bench/wire/json_strict.hpp"
#include "bench/mpi_context.hpp"
#include "apps/policy_flags.hpp"

#include "core/dpf.hpp"
#include "core/matrix_shape.hpp"
#include "policies/engine.hpp"

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pagequery::apps {

using namespace bench;

namespace {

using json = nlohmann::json;

// The largest Morphogen request (32 queries, d = 32) is about 120 KB; the largest
// packed one (256 queries, 25 leaf bits) about 0.75 MB.
constexpr std::uint64_t kDefaultMaxRequestBytes = std::uint64_t{1} << 20;

struct AnswerArgs {
  std::optional<std::string> matrix_file;
  std::string request = "-";
  std::string max_request_bytes = std::to_string(kDefaultMaxRequestBytes);
  PolicyFlags policy;
  Accumulate accumulate = Accumulate::Lop3;
};

// The keys of a batch request, 3 per query, in order, all of one format; every
// key is checked against the matrix's domain (KeyList::add).
KeyList parse_request(const std::string& text, const std::string& matrix, std::uint64_t pages) {
  json request;
  try {
    request = parse_strict_json(text);
  } catch (const FormatError& e) {
    throw InputError(std::string("request: invalid JSON: ") + e.what());
  }
  if (!request.is_object())
    throw InputError(std::string("request: expected an object {\"queries\": [...]}, got ") +
                     request.type_name());
  const auto queries = request.find("queries");
  if (queries == request.end())
    throw InputError("request: the \"queries\" field is missing");
  if (!queries->is_array())
    throw InputError(std::string("request: \"queries\" must be an array, got ") +
                     queries->type_name());
  const auto refuse_size = [&] {
    throw InputError("request: " + std::to_string(queries->size()) + " queries; a batch holds 1.." +
                     std::to_string(max_batch_queries(DpfFormat::Morphogen)) + " queries of Morphogen keys or 1.." +
                     std::to_string(max_batch_queries(DpfFormat::Packed)) + " of packed keys");
  };
  if (queries->empty() || queries->size() > static_cast<std::size_t>(max_batch_queries(DpfFormat::Packed)))
    refuse_size();

  KeyList keys;
  for (std::size_t q = 0; q < queries->size(); ++q) {
    const json& query = (*queries)[q];
    const std::string where = "request: queries[" + std::to_string(q) + "]";
    if (!query.is_object())
      throw InputError(where + " must be an object {\"keys\": [...]}, got " + query.type_name());
    const auto list = query.find("keys");
    if (list == query.end()) throw InputError(where + ": the \"keys\" field is missing");
    if (!list->is_array())
      throw InputError(where + ".keys must be an array, got " + list->type_name());
    if (list->size() != static_cast<std::size_t>(kKeysPerQuery))
      throw InputError(where + ".keys holds " + std::to_string(list->size()) +
                       " keys; a query needs exactly " + std::to_string(kKeysPerQuery));
    for (std::size_t k = 0; k < list->size(); ++k) {
      const json& item = (*list)[k];
      const std::string key_where = where + ".keys[" + std::to_string(k) + "]";
      if (!item.is_string())
        throw InputError(key_where + " must be a hex string, got " + item.type_name());
      try {
        keys.add(from_hex(item.get_ref<const std::string&>()), pages, matrix);
      } catch (const std::invalid_argument& e) {  // FormatError, KeyError
        throw InputError(key_where + ": " + one_line(e.what()));
      }
    }
  }
  if (queries->size() > static_cast<std::size_t>(max_batch_queries(keys.format)))
    refuse_size();
  return keys;
}

// Morphogen's response: results[q].pages = the 3 answers of query q, in hex.
void print_response(const std::vector<std::uint8_t>& bytes, std::size_t key_count) {
  nlohmann::ordered_json response;
  response["epoch_id"] = 0;
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  const std::span<const std::uint8_t> all(bytes);
  for (std::size_t q = 0; q < key_count / kKeysPerQuery; ++q) {
    nlohmann::ordered_json page_list = nlohmann::ordered_json::array();
    for (int k = 0; k < kKeysPerQuery; ++k)
      page_list.push_back(to_hex(all.subspan((q * kKeysPerQuery + k) * kPageBytes, kPageBytes)));
    results.push_back({{"pages", std::move(page_list)}});
  }
  response["results"] = std::move(results);
  std::cout << response.dump() << '\n';
  flush_stdout("answer");
}

void run_answer(const AnswerArgs& args) {
  // Under MPI every rank answers the keys over its own shard of the matrix and
  // the answers are XOR-reduced into rank 0, which alone reads the request and
  // prints. Each step ends in an agreement, so a refusal on any rank makes every
  // rank exit with the same code (one line on stderr) instead of hanging.
  MpiContext mpi;
  // Everything that can be refused is checked before Kokkos starts and before
  // the matrix is loaded (a mainnet matrix is 64 GiB).
  PolicyConfig config;
  std::string path, request_text;
  std::uint64_t pages = 0;
  int domain_bits = 0;
  mpi.step([&] {
    config = resolve(args.policy);
    if (args.accumulate == Accumulate::Mma)
      if (const auto why = lop3_only(config))
        throw InputError(*why + " (the policy: --policy, --graph or " + std::string(kEnvGraph) + ")");
    if (!args.matrix_file) throw InputError("answer: --matrix-file is required");
    path = *args.matrix_file;
    try {
      pages = page_count_of_file(path);
      domain_bits = domain_bits_for(pages);
    } catch (const std::exception& e) {
      throw InputError("--matrix-file: " + one_line(e.what()));
    }
    const std::uint64_t limit = parse_u64(args.max_request_bytes, "--max-request-bytes");
    if (mpi.root())  // stdin reaches rank 0 only
      request_text = read_limited(args.request, limit, "request", "--max-request-bytes");
  });
  mpi.broadcast(request_text);
  KeyList keys;
  mpi.step([&] {
    keys = parse_request(request_text, path, pages);
    if (keys.format == DpfFormat::Packed && args.accumulate == Accumulate::Mma)
      throw InputError("--accumulate mma takes Morphogen keys only: the tensor-core kernel for packed keys is "
                       "not built yet (packed keys run with --accumulate lop3)");
  });

  std::optional<Runtime> runtime;
  std::optional<Engine> engine;
  std::vector<std::uint8_t> bytes;
  mpi.step([&] {
    runtime.emplace(mpi.size() > 1 ? std::optional<int>(mpi.local_rank()) : std::nullopt);
    MatrixSpec spec;
    spec.file = path;
    spec.accumulate = args.accumulate;
    if (mpi.size() > 1) {
      const Shard shard = shard_of(pages, mpi.rank(), mpi.size());
      spec.first_page = shard.first;
      spec.page_count = shard.count;
    }
    engine.emplace(spec);
    if (engine->info().domain_bits != domain_bits)
      throw CheckFailed("answer: the engine uses " + std::to_string(engine->info().domain_bits) +
                        " domain bits for '" + path + "', the CLI computed " +
                        std::to_string(domain_bits));
    Engine::Session session = engine->session();
    bytes = keys.answer(session, config, 0, keys.size());
    if (bytes.size() != keys.size() * kPageBytes)
      throw CheckFailed("answer: the engine returned " + std::to_string(bytes.size()) +
                        " bytes for " + std::to_string(keys.size()) + " keys, expected " +
                        std::to_string(keys.size() * kPageBytes));
  });
  mpi.reduce_xor(bytes);  // every rank holds the same number of bytes here
  mpi.step([&] {
    if (mpi.root()) print_response(bytes, keys.size());
  });
}

}  // namespace

void add_answer(CLI::App& app) {
  auto args = std::make_shared<AnswerArgs>();
  CLI::App* cmd = app.add_subcommand(
      "answer",
      "Answer a batch request as one server would (Morphogen's POST /query/page/gpu/batch),\n"
      "with Morphogen's keys or packed ones");
  cmd->add_option_function<std::string>(
         "--matrix-file", [args](const std::string& v) { args->matrix_file = v; },
         "raw matrix file: pages of 4096 bytes, the last zero-padded (required)")
      ->type_name("PATH");
  cmd->add_option("--request", args->request,
                  "the request JSON; '-' or absent: stdin")
      ->type_name("FILE");
  cmd->add_option("--max-request-bytes", args->max_request_bytes,
                  "refuse a request larger than this, checked while reading (the largest Morphogen\n"
                  "batch, 32 queries at d = 32, is about 120 KB; the largest packed one about 0.75 MB)")
      ->capture_default_str()
      ->type_name("N");
  add_policy_flags(cmd, args->policy);
  add_accumulate_flag(cmd, args->accumulate);
  cmd->footer(
      "Reads {\"queries\":[{\"keys\":[\"0x..\",\"0x..\",\"0x..\"]}, ...]}: queries of exactly 3 DPF keys\n"
      "(key bytes in hex, with or without 0x, either case), all Morphogen keys (1..32 queries; their\n"
      "domain bits must be the matrix's) or all packed keys (1..256 queries; their leaf bits must be\n"
      "the matrix's, see `pagequery info`). The format is read from the key bytes (packed keys are\n"
      "39 + 18 d bytes and start with PQP1; docs/packed-dpf.md); a request mixing them is refused.\n"
      "Writes {\"epoch_id\":0,\"results\":[{\"pages\":[\"0x<4096 bytes>\",x3]}, ...]} in query order.\n"
      "The XOR of both servers' pages is the target page (`pagequery combine A.json B.json`).\n"
      "--accumulate mma takes Morphogen keys only, for now.\n"
"The request is strict JSON (no NUL byte, no trailing bytes, no key twice in an object) of at\n"
      "most --max-request-bytes (default 1 MiB), refused while it is read.\n"
      "Policy precedence: defaults < MORPHOGEN_GPU_* env vars < flags; an env var that a flag\n"
      "overrides is ignored (not validated). All policies, with either --accumulate, return\n"
      "identical bytes.\n"
      "MPI (a PAGEQUERY_ENABLE_MPI build under mpirun/srun): each rank scans its contiguous shard\n"
      "of the matrix on its own device; rank 0 reads the request and prints the XOR-reduced\n"
      "answers, byte-identical to one process.\n"
      "Exit codes: 0 ok, 2 refused input (one line on stderr), 1 failed self-check.\n");
  cmd->callback([args] { run_answer(*args); });
}

}  // namespace pagequery::apps
