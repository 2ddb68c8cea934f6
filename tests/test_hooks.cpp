// pagequery_testhooks: the pagequery binary plus this file, whose static
// initializer installs test hooks (service/impl/test_hooks.hpp) read from the
// environment. The Python drivers run it for the cases that set them:
//   PAGEQUERY_TEST_FAIL_AFTER_CELLS=N  the results commit of a run of N cells aborts midway
//   PAGEQUERY_TEST_FLIP_BATCH_BYTE     (set) a checksum mismatch
//   PAGEQUERY_TEST_GPUS=N              a host build binds ranks as a CUDA build on a node of
//                                      N GPUs (CUDA_VISIBLE_DEVICES's entries, else N)
#include "service/device_binding.hpp"
#include "service/errors.hpp"
#include "service/impl/test_hooks.hpp"
#include "service/text.hpp"

#include "pagequery/core/printable.hpp"
#include "pagequery/policies/policy_config.hpp"

namespace {

using namespace pagequery::service;

int visible_gpus() {
  const std::optional<std::string> fake = pagequery::process_env("PAGEQUERY_TEST_GPUS");
  if (!fake) return 0;
  const std::uint64_t node = as_input("", [&] { return parse_u64(*fake, "PAGEQUERY_TEST_GPUS"); });
  if (node > 64) throw InputError("PAGEQUERY_TEST_GPUS must be at most 64, got " + pagequery::printable(*fake));
  const std::optional<std::string> visible = pagequery::process_env("CUDA_VISIBLE_DEVICES");
  return static_cast<int>(visible ? visible_device_list(*visible).size() : node);
}

Details::TestHooks from_environment() {
  Details::TestHooks hooks;
  if (const auto cells = pagequery::process_env("PAGEQUERY_TEST_FAIL_AFTER_CELLS"))
    hooks.abort_commit_at_cells = as_input("", [&] { return parse_u64(*cells, "PAGEQUERY_TEST_FAIL_AFTER_CELLS"); });
  hooks.flip_batch_byte = pagequery::process_env("PAGEQUERY_TEST_FLIP_BATCH_BYTE").has_value();
  hooks.visible_gpus = visible_gpus();
  return hooks;
}

[[maybe_unused]] const bool installed = (Details::set_test_hooks_source(from_environment), true);

}  // namespace
