#include "apps/commands.hpp"

#include "core/dpf.hpp"
#include "policies/policy_config.hpp"

#include <iostream>

int main(int argc, char** argv) {
  using namespace pagequery;
  CLI::App app{"pagequery: the page-query scan of 2-server DPF PIR on Kokkos", "pagequery"};
  app.require_subcommand(1);
  apps::add_keygen(app);
  apps::add_answer(app);
  apps::add_info(app);
  apps::add_sweep(app);
  apps::add_report(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "pagequery: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const apps::CheckFailed& e) {
    std::cerr << "pagequery: " << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    // Every other failure is refused input: a key, a file, JSON, a flag, an env var.
    std::cerr << "pagequery: " << e.what() << '\n';
    return 2;
  }
  return 0;
}
