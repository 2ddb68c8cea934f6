#include "apps/commands.hpp"
#include "apps/early_streams.hpp"
#include "service/build_info.hpp"
#include "service/mpi_context.hpp"

#include "pagequery/core/dpf.hpp"
#include "pagequery/core/printable.hpp"
#include "pagequery/policies/policy_config.hpp"

#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>

namespace {
// One write for the whole line: under mpirun, stderr of all ranks and the
// launcher's own messages share one stream. Whatever a message echoes (a flag,
// an env var, a path) is escaped, so it stays one line.
void say(const std::string& message) {
  std::cerr << ("pagequery: " + pagequery::printable(message) + "\n") << std::flush;
}

// A first argument that is neither a flag nor a subcommand: CLI11 alone would
// say "A subcommand is required", which names neither the word nor the choices.
void refuse_unknown_subcommand(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return;
  std::string names;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == argv[1]) return;
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  throw pagequery::apps::InputError("unknown subcommand '" + std::string(argv[1]) + "' (expected: " + names + ")");
}

// Parses the command line and runs its command (CLI11 runs it inside parse()).
// Under a launcher, every rank meets once its command line is parsed or refused:
// in the first agreement of `ranks` (service::MpiContext), made before any command
// runs, so a command line refused on any rank ends every rank with exit 2 and one
// line, and no rank runs its command while another has left.
int parse_and_run(CLI::App& app, int argc, char** argv, std::optional<pagequery::service::MpiContext>& ranks) {
  using pagequery::service::MpiContext;
  app.parse_complete_callback([&ranks] {
    if (MpiContext::will_start()) ranks.emplace();
  });
  try {
    refuse_unknown_subcommand(app, argc, argv);
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    const pagequery::apps::InputError refused(std::string(e.what()) + " (see --help)");
    ranks.emplace(std::make_exception_ptr(refused));  // throws: refused, or RankFailed
  } catch (const pagequery::apps::InputError&) {
    ranks.emplace(std::current_exception());
  }
  return 0;
}

// What a command wrote to stdout must have arrived: a closed stdout or a full
// disk fails the command even where nothing noticed on the way (--help, a
// command that does not flush). A command that failed already keeps its code.
int check_stdout(int code) {
  if (const std::string why = pagequery::apps::stdout_failure(); code == 0 && !why.empty()) {
    say("cannot write to stdout: " + why);
    return 2;
  }
  return code;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace pagequery;
  // A closed pipe is a failed write (EPIPE, reported where it happens), not death:
  // a sweep whose stderr reader went away still finishes and writes its run.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"pagequery: the page-query scan of 2-server DPF PIR on Kokkos", "pagequery"};
  app.require_subcommand(1);
  app.footer(
      "Exit codes (every command; one line on stderr says why):\n"
      "  0  ok\n"
      "  1  failed: a check of the command's own (a checksum mismatch, an interrupted sweep, compare's\n"
      "     --fail-above), the device (\"device failure: ...\"), memory (\"out of memory: ...\") or\n"
      "     pagequery itself (\"internal error: ...\")\n"
      "  2  refused: a file, key, JSON, flag or env var, or an output that cannot be written\n");
  app.set_version_flag("--version", service::version_text());
  apps::add_keygen(app);
  apps::add_answer(app);
  apps::add_info(app);
  apps::add_sweep(app);
  apps::add_report(app);
  apps::add_combine(app);
  apps::add_updates(app);
  apps::add_compare(app);
  apps::add_matrix(app);
  std::optional<service::MpiContext> ranks;  // finalises MPI after the command, if it started
  try {
    return check_stdout(parse_and_run(app, argc, argv, ranks));
  } catch (const apps::RankFailed& e) {
    return e.exit_code();  // the rank that failed first printed the reason
  } catch (...) {
    // The exit codes: service/errors.hpp (refused input 2; failed checks, the device,
    // memory and the program itself 1).
    const service::Failure failure = service::failure_of(std::current_exception());
    say(failure.message);
    return failure.exit_code;
  }
}
