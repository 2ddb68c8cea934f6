#include "apps/commands.hpp"
#include "bench/mpi_context.hpp"

#include "core/dpf.hpp"
#include "core/printable.hpp"
#include "policies/policy_config.hpp"

#include <csignal>
#include <iostream>

namespace {
// One write for the whole line: under mpirun, stderr of all ranks and the
// launcher's own messages share one stream. Whatever a message echoes (a flag,
// an env var, a path) is escaped, so it stays one line.
void say(const std::string& message) {
  std::cerr << ("pagequery: " + pagequery::printable(message) + "\n") << std::flush;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace pagequery;
  // A closed pipe is a failed write (EPIPE, reported where it happens), not death:
  // a sweep whose stderr reader went away still finishes and writes its run.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"pagequery: the page-query scan of 2-server DPF PIR on Kokkos", "pagequery"};
  app.require_subcommand(1);
  apps::add_keygen(app);
  apps::add_answer(app);
  apps::add_info(app);
  apps::add_sweep(app);
  apps::add_report(app);
  apps::add_combine(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // Refused before MPI starts: under a launcher, its rank 0 alone reports.
    if (bench::launcher_rank() != 0) return 2;
    say(std::string(e.what()) + " (see --help)");
    return 2;
  } catch (const apps::RankFailed& e) {
    return e.exit_code();  // the rank that failed first printed the reason
  } catch (const apps::CheckFailed& e) {
    say(e.what());
    return 1;
  } catch (const std::exception& e) {
    // Every other failure is refused input: a key, a file, JSON, a flag, an env var.
    say(e.what());
    return 2;
  }
  return 0;
}
