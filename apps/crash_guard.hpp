#pragma once
// HDF5 1.10 can crash (SIGSEGV in its global heap code) on a damaged file, and
// h5dump crashes on the same files: no check before reading can rule that out.
// So code that reads a results file someone else may have damaged runs in a
// child process, and a crash there becomes a one-line refusal, never a signal
// or a success.
#include <functional>
#include <string>

namespace pagequery::apps {

// Runs `work` in a forked child and waits for it. The child's stdout is ours (what
// it prints is the command's output); its stderr is passed on when it succeeds. A
// CheckFailed in `work` comes back as a CheckFailed, any other failure as a
// StoreError (the file is refused) with its message; a child killed by a signal
// (or stopped by a sanitizer) as one naming `file` and the signal. Only for code
// that touches no MPI and no Kokkos.
void run_guarded(const std::string& file, const std::function<void()>& work);

}  // namespace pagequery::apps
