#pragma once
// report --plot: QPS vs Q per strategy drawn by apps/plot_qps.py (python3 with
// h5py and matplotlib; PAGEQUERY_PYTHON picks the interpreter), run as a child
// whose failure becomes one line.
#include <string>
#include <utility>
#include <vector>

namespace pagequery::apps {

// The checks a plot path gets before anything is read or printed (InputError).
void check_plot_target(const std::string& out);

// Draws the runs (results file, run id), overlaid, into the PNG `out`; InputError
// (one line: the script's last) when the interpreter or the script fails.
void run_plot(const std::vector<std::pair<std::string, std::string>>& runs, const std::string& out);

}  // namespace pagequery::apps
