#pragma once
// Subcommands of the pagequery binary. Each add_* registers one CLI11
// subcommand whose callback does the work; failures are thrown as exceptions
// and main() turns them into one stderr line and an exit code.
#include <CLI/CLI.hpp>

#include <stdexcept>
#include <string>

namespace pagequery::apps {

// Refused input (file, key, JSON, flag, env var): exit code 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A run that completed but failed its own check (checksum mismatch): exit code 1.
class CheckFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An MPI rank failed first and printed why (apps/mpi_context.hpp): every rank exits
// with that rank's code and prints nothing more. what() is the message ("rank R: "
// in front on the other ranks).
class RankFailed : public std::runtime_error {
 public:
  RankFailed(int exit_code, const std::string& what) : std::runtime_error(what), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

void add_keygen(CLI::App& app);
void add_answer(CLI::App& app);
void add_info(CLI::App& app);
void add_sweep(CLI::App& app);
void add_report(CLI::App& app);
void add_combine(CLI::App& app);

}  // namespace pagequery::apps
