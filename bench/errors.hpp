#pragma once
// The failures the library reports, each with a one-line message; the pagequery
// binary (apps/main.cpp) turns them into that line on stderr and an exit code.
#include "core/printable.hpp"

#include <exception>
#include <stdexcept>
#include <string>

namespace pagequery::bench {

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

// A results file that cannot be read or written (bench/results/): refused, exit code 2.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An MPI rank failed first and printed why (bench/mpi_context.hpp): every rank exits
// with that rank's code and prints nothing more. what() is the message ("rank R: "
// in front on the other ranks).
class RankFailed : public std::runtime_error {
 public:
  RankFailed(int exit_code, const std::string& what) : std::runtime_error(what), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// Runs `f` and returns what it returns; any failure but an InputError comes back
// as an InputError: `what` followed by the failure's message, on one line (for
// parsers that throw std::invalid_argument or ConfigError with the flag's name).
template <class F>
auto as_input(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(std::string(what) + printable(e.what()));
  }
}

}  // namespace pagequery::bench
