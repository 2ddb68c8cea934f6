// pagequery updates --synthetic: a file of page updates for `answer --updates`
// and the sweep (docs/live-updates.md).
#include "apps/commands.hpp"
#include "service/updates.hpp"

#include "pagequery/core/matrix_shape.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

namespace pagequery::apps {

namespace {

struct UpdatesArgs {
  bool synthetic = false;
  std::optional<std::string> matrix_file;
  std::optional<std::uint64_t> pages;
  std::string output;
  service::SyntheticUpdateFile spec;
};

// The matrix the updates are for: a file's pages and short last page, or N whole pages.
void shape_of(UpdatesArgs& args) {
  if (args.matrix_file.has_value() == args.pages.has_value())
    throw InputError("updates: give exactly one of --matrix-file and --pages");
  if (args.pages) {
    args.spec.total_pages = *args.pages;
    return;
  }
  const std::string& path = *args.matrix_file;
  try {
    args.spec.total_pages = page_count_of_file(path);
  } catch (const std::exception& e) {
    throw InputError("--matrix-file: " + std::string(e.what()));
  }
  args.spec.last_page_bytes = std::filesystem::file_size(path) - (args.spec.total_pages - 1) * kPageBytes;
}

void run_updates(UpdatesArgs& args) {
  if (!args.synthetic) throw InputError("updates: --synthetic is required (the only source of updates so far)");
  shape_of(args);
  std::ofstream out(args.output, std::ios::binary | std::ios::trunc);
  if (!out) throw InputError("--output " + args.output + ": cannot create");
  const std::uint64_t records = service::write_synthetic_updates(args.spec, out);
  out.close();
  if (!out) throw CheckFailed("--output " + args.output + ": write failed");
  std::cout << records << " records for a matrix of " << args.spec.total_pages << " pages written to " << args.output
            << '\n'
            << std::flush;
}

}  // namespace

void add_updates(CLI::App& app) {
  auto args = std::make_shared<UpdatesArgs>();
  CLI::App* cmd = app.add_subcommand("updates", "Write a file of page updates (`answer --updates`)");
  cmd->add_flag("--synthetic", args->synthetic, "synthetic updates: Zipf-distributed pages, random bytes (required)");
  cmd->add_option_function<std::string>(
         "--matrix-file", [args](const std::string& v) { args->matrix_file = v; },
         "the matrix the updates are for (its pages, and zeros past the end of a short last page)")
      ->type_name("PATH");
  cmd->add_option_function<std::uint64_t>(
         "--pages", [args](std::uint64_t v) { args->pages = v; }, "or: a matrix of N whole pages (a synthetic one)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 32))
      ->type_name("N");
  cmd->add_option("--blocks", args->spec.blocks, "simulated blocks, one after the other in the file")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--pages-per-block", args->spec.pages_per_block, "distinct pages changed per block")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 24))
      ->capture_default_str();
  cmd->add_option("--zipf", args->spec.zipf, "the Zipf exponent s of the pages' ranks (0: uniform)")
      ->check(CLI::Range(0.0, 4.0))
      ->capture_default_str();
  cmd->add_option("--seed", args->spec.seed, "seed of the pages and their bytes")->capture_default_str();
  cmd->add_option("--output", args->output, "the file to write")->required()->type_name("FILE");
  cmd->footer(
      "Writes records of the page index (8 bytes little-endian) and the page's 4096 new bytes:\n"
      "--blocks x --pages-per-block records, distinct pages within a block (docs/live-updates.md).\n"
      "Exit codes: 0 ok, 2 refused input (one line on stderr), 1 failed write.\n");
  cmd->callback([args] { run_updates(*args); });
}

}  // namespace pagequery::apps
