#pragma once
// report --plot: QPS vs Q per strategy drawn by apps/plot_qps.py (python3 with
// h5py and matplotlib; PAGEQUERY_PYTHON picks the interpreter), run as a child
// whose failure becomes one line.
#include <string>

namespace pagequery::apps {

// The checks a plot path gets before anything is read or printed (InputError).
void check_plot_target(const std::string& out);

// Draws run `run` of the results file `file` into the PNG `out`; InputError (one
// line: the script's last) when the interpreter or the script fails.
void run_plot(const std::string& file, const std::string& run, const std::string& out);

}  // namespace pagequery::apps
