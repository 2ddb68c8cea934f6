#pragma once
// SIGINT/SIGTERM (Slurm's time limit) while a sweep runs: noted, so that the sweep
// finishes the current iteration, writes the partial run and stops. A second
// SIGINT kills as usual (SA_RESETHAND); SIGTERM stays caught, because at the time
// limit srun forwards it to tasks that Slurm has just sent it to (Slurm's SIGKILL
// follows KillWait seconds later anyway).
#include <csignal>

namespace pagequery::bench {

// Catches SIGINT and SIGTERM from construction to destruction (the old handlers
// come back then).
class SignalGuard {
 public:
  SignalGuard();
  ~SignalGuard();
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

// The last signal a SignalGuard caught in this process (0: none).
int pending_signal();

}  // namespace pagequery::bench
