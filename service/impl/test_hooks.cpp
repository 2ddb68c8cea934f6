#include "service/impl/test_hooks.hpp"

namespace pagequery::service::Details {

namespace {
// Constant-initialized: set before main by a test build, read-only afterwards.
TestHooksSource g_source = nullptr;
}  // namespace

TestHooks test_hooks() { return g_source ? g_source() : TestHooks{}; }

void set_test_hooks_source(TestHooksSource source) { g_source = source; }

}  // namespace pagequery::service::Details
