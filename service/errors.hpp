#pragma once
// The failures the library reports, each with a one-line message; the pagequery
// binary (apps/main.cpp) and the MPI ranks' agreement (service/mpi_context.hpp)
// turn them into that line on stderr and an exit code, both through failure_of():
//
//   0  success
//   1  failed: a run's own check (CheckFailed), the device or its runtime (Kokkos,
//      CUDA; "device failure: ..."), memory ("out of memory: ...") or the program
//      itself ("internal error: ...")
//   2  refused: input (InputError and the parsers' std::invalid_argument: a file, a
//      key, JSON, a flag, an env var) or a file or stream that cannot be read or
//      written (StoreError)
#include "pagequery/core/printable.hpp"

#include <exception>
#include <stdexcept>
#include <string>

namespace pagequery::service {

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

// A file or stream that cannot be read or written (a results file, stdout): exit code 2.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An MPI rank failed first and printed why (service/mpi_context.hpp): every rank exits
// with that rank's code and prints nothing more. what() is the message ("rank R: "
// in front on the other ranks).
class RankFailed : public std::runtime_error {
 public:
  RankFailed(int exit_code, const std::string& what) : std::runtime_error(what), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// How the pagequery binary ends on `error`: the exit code of the table above and
// its one line (printable; "pagequery: " goes in front where it is printed).
struct Failure {
  int exit_code;
  std::string message;
};
Failure failure_of(const std::exception_ptr& error);

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

}  // namespace pagequery::service
