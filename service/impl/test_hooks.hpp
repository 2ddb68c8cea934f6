#pragma once
// Fault injection for the tests, kept out of the production types: the few places
// a test must break or fake something ask test_hooks(), which has none to give
// unless a test build installed a source of them. The pagequery binary installs
// none and reads no PAGEQUERY_TEST_* variable; pagequery_testhooks (the same
// binary plus tests/test_hooks.cpp) installs one that reads them.
#include <cstdint>
#include <optional>

namespace pagequery::service::Details {

struct TestHooks {
  // A results commit of a run that holds this many cells aborts() after its rows
  // went into the temporary copy, before the copy replaces the file (a crash mid-write).
  std::optional<std::uint64_t> abort_commit_at_cells;
  // Rank 0 flips a byte of its batch answers after the reduction (a checksum mismatch).
  bool flip_batch_byte = false;
  // The GPUs a host build counts as visible, so that the ranks' GPU binding and its
  // refusals run on CPUs (0: none, as a host build has).
  int visible_gpus = 0;
};

using TestHooksSource = TestHooks (*)();

// The hooks in force: none without a source. A source may refuse its settings
// (InputError); a run asks first among its checks, so a refusal comes before any work.
TestHooks test_hooks();

// Installs `source` (a test build's static initializer, before main).
void set_test_hooks_source(TestHooksSource source);

}  // namespace pagequery::service::Details
