// pagequery matrix: writes the synthetic matrix that `sweep --synthetic-pages` and
// `--synthetic-gib` scan, as a raw matrix file (pages of 4096 bytes) that `answer`,
// `info` and `sweep --matrix-file` read. Plain host code: no Kokkos.
#include "apps/commands.hpp"
#include "pagequery/core/bits128.hpp"
#include "pagequery/core/printable.hpp"
#include "pagequery/core/synthetic_fill.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <vector>

namespace pagequery::apps {

namespace {

struct MatrixArgs {
  std::uint64_t pages = 0;
  SyntheticFill fill = SyntheticFill::Hash;
  std::uint64_t seed = 1;
  std::string output;
};

// Page by page, each 16-byte vector as its four words in little-endian order (the
// bytes a matrix file holds for the same Bits128).
void write_matrix(const MatrixArgs& args) {
  std::ofstream out(args.output, std::ios::binary | std::ios::trunc);
  std::vector<unsigned char> page(kPageBytes);
  for (std::uint64_t p = 0; p < args.pages && out; ++p) {
    for (int v = 0; v < kVectorsPerPage; ++v)
      for (int w = 0; w < 4; ++w) {
        const std::uint32_t word = synthetic_word(args.fill, args.seed, p, v, w);
        for (int b = 0; b < 4; ++b) page[std::size_t(v) * 16 + std::size_t(w) * 4 + b] = (word >> (8 * b)) & 0xff;
      }
    out.write(reinterpret_cast<const char*>(page.data()), std::streamsize(page.size()));
  }
  out.flush();
  if (!out) throw InputError("matrix: " + printable(args.output) + ": cannot write: " + std::strerror(errno));
  std::cerr << "pagequery matrix: " << args.pages << " pages written to " << printable(args.output) << "\n";
}

}  // namespace

void add_matrix(CLI::App& app) {
  auto args = std::make_shared<MatrixArgs>();
  CLI::App* cmd = app.add_subcommand(
      "matrix", "Write the synthetic matrix a sweep scans (--synthetic-pages) as a raw matrix file.");
  cmd->add_option("--synthetic-pages", args->pages, "pages of 4096 bytes")
      ->required()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 32))
      ->type_name("N");
  const std::map<std::string, SyntheticFill> fills{{"hash", SyntheticFill::Hash},
                                                   {"morphogen", SyntheticFill::Morphogen}};
  cmd->add_option("--fill", args->fill, "hash | morphogen (page i = byte i & 0xFF), as sweep's --fill")
      ->transform(CLI::CheckedTransformer(fills))
      ->type_name("KIND");
  cmd->add_option("--matrix-seed", args->seed, "seed of the hash fill, as sweep's --matrix-seed")
      ->capture_default_str()
      ->type_name("N");
  cmd->add_option("-o,--output", args->output, "the matrix file to write")->required()->type_name("FILE");
  cmd->footer(
      "Exit codes: 0 ok, 2 refused input or a failed write, 1 a failure of the device, memory or pagequery itself (one "
      "line on stderr).\n");
  cmd->callback([args] { write_matrix(*args); });
}

}  // namespace pagequery::apps
