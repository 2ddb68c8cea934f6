// pagequery info: what a matrix file holds and where the scan would run.
#include "apps/commands.hpp"
#include "service/build_info.hpp"
#include "service/mpi_context.hpp"
#include "service/text.hpp"

#include "pagequery/core/dpf.hpp"
#include "pagequery/core/dpf_packed.hpp"
#include "pagequery/core/matrix_shape.hpp"
#include "pagequery/policies/engine.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

namespace pagequery::apps {

using namespace service;

namespace {

struct InfoArgs {
  std::optional<std::string> matrix_file;
  bool json = false;
};

void run_info(const InfoArgs& args) {
  if (!args.matrix_file) throw InputError("info: --matrix-file is required");
  const std::string& path = *args.matrix_file;
  std::uint64_t pages = 0, file_bytes = 0;
  int domain_bits = 0;
  try {
    pages = page_count_of_file(path);
    domain_bits = domain_bits_for(pages);
    file_bytes = std::filesystem::file_size(path);
  } catch (const std::exception& e) {
    throw InputError("--matrix-file: " + one_line(e.what()));
  }

  Runtime runtime;  // the device name needs an initialised backend
  nlohmann::ordered_json out;
  out["matrix_file"] = path;
  out["pages"] = pages;
  out["domain_bits"] = domain_bits;
  out["size_bytes"] = pages * static_cast<std::uint64_t>(kPageBytes);
  out["file_bytes"] = file_bytes;
  out["key_bytes"] = dpf_key_size(domain_bits);
  out["packed_leaf_bits"] = packed_domain_bits(pages);
  out["packed_key_bytes"] = packed_key_size(packed_domain_bits(pages));
  out["backend"] = Runtime::backend();
  out["device"] = Runtime::device();
  const Runtime::DeviceFacts facts = Runtime::device_facts();
  for (const auto& [name, value] : facts.texts) out[name] = value;
  for (const auto* numbers : {&facts.numbers, &facts.now})
    for (const auto& [name, value] : *numbers) out[name] = value;
  out["concurrency"] = Runtime::concurrency();
  out["kokkos_version"] = Runtime::kokkos_version();
  // MPI_Get_library_version needs no MPI_Init: `info` stays one process.
  out["mpi"] = MpiContext::compiled() ? MpiContext::library_version() : std::string("off");
  out["version"] = service::version_text();
  if (args.json) {
    std::cout << out.dump() << '\n';
  } else {
    for (const auto& [name, value] : out.items())
      std::cout << name << ": " << (value.is_string() ? one_line(value.get<std::string>()) : value.dump()) << '\n';
  }
  std::cout << std::flush;
  if (!std::cout) throw StoreError("info: cannot write to stdout");
}

}  // namespace

void add_info(CLI::App& app) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* cmd =
      app.add_subcommand("info", "Describe a matrix file (without loading it) and the backend `answer` would use");
  cmd->add_option_function<std::string>(
         "--matrix-file", [args](const std::string& v) { args->matrix_file = v; },
         "raw matrix file: pages of 4096 bytes, the last zero-padded (required)")
      ->type_name("PATH");
  cmd->add_flag("--json", args->json, "one JSON object instead of `key: value` lines");
  cmd->footer(
      "Fields: matrix_file, pages, domain_bits, size_bytes (pages * 4096), file_bytes,\n"
      "key_bytes (19 + 18 d + 16), packed_leaf_bits (d of packed keys: max(1, ceil(log2(ceil(pages /\n"
      "128))))), packed_key_bytes (39 + 18 d), backend, device, concurrency, kokkos_version, mpi (the MPI\n"
      "library answer and sweep shard over, or off: built without PAGEQUERY_ENABLE_MPI).\n"
      "Exit codes: 0 ok, 2 refused input, 1 a failure of the device, memory or pagequery itself (one line on "
      "stderr).\n");
  cmd->callback([args] { run_info(*args); });
}

}  // namespace pagequery::apps
