#pragma once
// How results are presented, apart from how they are measured and stored (after
// nvbench's printer_base): `sweep` and `report` hand a printer what to show, each
// format overrides the parts it shows and the rest prints nothing.
#include "bench/results/record.hpp"

#include <ostream>
#include <vector>

namespace pagequery::bench {

struct PlanListing;  // bench/plan.hpp

class Printer {
 public:
  // Prints to `stream`, which must outlive the printer.
  explicit Printer(std::ostream& stream) : stream_(stream) {}
  virtual ~Printer() = default;
  Printer(const Printer&) = delete;
  Printer& operator=(const Printer&) = delete;

  // What a run would measure, and where it would write (`sweep --dry-run`).
  void print_plan(const PlanListing& listing) { do_print_plan(listing); }
  // The runs of a results file, oldest first (`report --list`).
  void print_run_list(const std::vector<RunRecord>& runs) { do_print_run_list(runs); }
  // One run: its metadata and its cells (the end of `sweep`, `report`).
  void print_run(const RunRecord& run) { do_print_run(run); }

 protected:
  std::ostream& stream() { return stream_; }

 private:
  virtual void do_print_plan(const PlanListing&) {}
  virtual void do_print_run_list(const std::vector<RunRecord>&) {}
  virtual void do_print_run(const RunRecord&) {}

  std::ostream& stream_;
};

}  // namespace pagequery::bench
