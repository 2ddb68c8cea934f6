// The exit code and the line of each failure (service/errors.hpp): refused input is
// 2, a failed check, the device, memory and the program itself are 1.
#include "service/errors.hpp"
#include "service/text.hpp"

#include "pagequery/core/dpf.hpp"
#include "pagequery/core/matrix_shape.hpp"
#include "pagequery/policies/engine.hpp"
#include "pagequery/policies/policy_config.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>

namespace pagequery::service {
namespace {

template <class E>
Failure failure_of_thrown(const E& error) {
  return failure_of(std::make_exception_ptr(error));
}

TEST(FailureOf, RefusedInputIsExitTwoWithItsMessage) {
  const std::string why = "--x must be y";
  for (const Failure& f :
       {failure_of_thrown(InputError(why)), failure_of_thrown(StoreError(why)), failure_of_thrown(ConfigError(why)),
        failure_of_thrown(KeyError(why)), failure_of_thrown(FormatError(why)), failure_of_thrown(UpdateError(why)),
        failure_of_thrown(MatrixError(why)), failure_of_thrown(std::invalid_argument(why))}) {
    EXPECT_EQ(f.exit_code, 2) << f.message;
    EXPECT_EQ(f.message, why);
  }
}

TEST(FailureOf, AFailedCheckIsExitOneWithItsMessage) {
  const Failure f = failure_of_thrown(CheckFailed("checksum mismatch"));
  EXPECT_EQ(f.exit_code, 1);
  EXPECT_EQ(f.message, "checksum mismatch");
}

TEST(FailureOf, ARankFailureKeepsTheFirstRanksCode) {
  for (const int code : {1, 2}) {
    const Failure f = failure_of_thrown(RankFailed(code, "rank 1: no such file"));
    EXPECT_EQ(f.exit_code, code);
    EXPECT_EQ(f.message, "rank 1: no such file");
  }
}

TEST(FailureOf, OutOfMemoryIsExitOneAndSaysSo) {
  const Failure alloc = failure_of_thrown(std::bad_alloc());
  EXPECT_EQ(alloc.exit_code, 1);
  EXPECT_EQ(alloc.message.rfind("out of memory: ", 0), 0u) << alloc.message;
  // Kokkos 4's failed allocation: a plain std::runtime_error.
  const std::string kokkos = "Kokkos ERROR: Host memory space failed to allocate 8.00 GiB (label=\"pages\").";
  const Failure view = failure_of_thrown(std::runtime_error(kokkos));
  EXPECT_EQ(view.exit_code, 1);
  EXPECT_EQ(view.message, "out of memory: " + kokkos);
}

TEST(FailureOf, TheDeviceFailingIsExitOneAndSaysSo) {
  const std::string cuda = "cudaStreamSynchronize() error( cudaErrorIllegalAddress): an illegal memory access";
  const Failure launch = failure_of_thrown(std::runtime_error(cuda));
  EXPECT_EQ(launch.exit_code, 1);
  EXPECT_EQ(launch.message, "device failure: " + cuda);
  const Failure epoch = failure_of_thrown(EpochError("the matrix is inconsistent", true));
  EXPECT_EQ(epoch.exit_code, 1);
  EXPECT_EQ(epoch.message, "device failure: the matrix is inconsistent");
}

TEST(FailureOf, AnythingElseIsAnInternalErrorWithExitOne) {
  const Failure logic = failure_of_thrown(std::logic_error("channel 3 is not open"));
  EXPECT_EQ(logic.exit_code, 1);
  EXPECT_EQ(logic.message, "internal error: channel 3 is not open");
  // A std::runtime_error of another type is not Kokkos's: not a device failure.
  const Failure system = failure_of_thrown(std::system_error(EAGAIN, std::generic_category(), "cannot fork"));
  EXPECT_EQ(system.exit_code, 1);
  EXPECT_EQ(system.message.rfind("internal error: cannot fork", 0), 0u) << system.message;
  const Failure unknown = failure_of(std::make_exception_ptr(42));
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.message.rfind("internal error: ", 0), 0u) << unknown.message;
}

TEST(FailureOf, TheMessageStaysOneLine) {
  const Failure f = failure_of_thrown(std::runtime_error("launch failed\nat line 2"));
  EXPECT_EQ(f.message, "device failure: launch failed\\nat line 2");
}

}  // namespace
}  // namespace pagequery::service
