#pragma once
// Subcommands of the pagequery binary. Each add_* registers one CLI11
// subcommand whose callback does the work; failures are thrown as exceptions
// and main() turns them into one stderr line and an exit code.
#include "service/errors.hpp"

#include <CLI/CLI.hpp>

namespace pagequery::apps {

// The library's failures (service/errors.hpp), as the subcommands throw them too.
using service::CheckFailed;
using service::InputError;
using service::RankFailed;
using service::StoreError;

void add_keygen(CLI::App& app);
void add_answer(CLI::App& app);
void add_info(CLI::App& app);
void add_sweep(CLI::App& app);
void add_report(CLI::App& app);
void add_combine(CLI::App& app);
void add_updates(CLI::App& app);
void add_compare(CLI::App& app);
void add_matrix(CLI::App& app);

}  // namespace pagequery::apps
