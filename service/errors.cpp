#include "service/errors.hpp"

#include "pagequery/core/matrix_shape.hpp"
#include "pagequery/policies/engine.hpp"

#include <new>
#include <string_view>
#include <typeinfo>

namespace pagequery::service {

namespace {

constexpr int kFailed = 1;
constexpr int kRefused = 2;

// Kokkos reports a failed allocation as a plain std::runtime_error (Kokkos 4:
// Impl::throw_bad_alloc), not as std::bad_alloc.
bool kokkos_allocation_failure(std::string_view what) {
  return what.find("memory space failed to allocate") != std::string_view::npos;
}

// Kokkos and the CUDA runtime's checks (core/impl/cuda_launch.hpp) throw exactly
// std::runtime_error; the library's own failures each have a type of their own.
Failure runtime_failure(const std::runtime_error& e) {
  if (typeid(e) != typeid(std::runtime_error)) return {kFailed, "internal error: " + printable(e.what())};
  if (kokkos_allocation_failure(e.what())) return {kFailed, "out of memory: " + printable(e.what())};
  return {kFailed, "device failure: " + printable(e.what())};
}

}  // namespace

Failure failure_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const RankFailed& e) {
    return {e.exit_code(), printable(e.what())};
  } catch (const CheckFailed& e) {
    return {kFailed, printable(e.what())};
  } catch (const InputError& e) {
    return {kRefused, printable(e.what())};
  } catch (const StoreError& e) {
    return {kRefused, printable(e.what())};
  } catch (const MatrixError& e) {  // no pages, no such file
    return {kRefused, printable(e.what())};
  } catch (const std::invalid_argument& e) {  // ConfigError, KeyError, FormatError, UpdateError, ...
    return {kRefused, printable(e.what())};
  } catch (const EpochError& e) {  // an update the device failed to apply
    return {kFailed, "device failure: " + printable(e.what())};
  } catch (const std::bad_alloc& e) {
    return {kFailed, "out of memory: " + printable(e.what())};
  } catch (const std::runtime_error& e) {
    return runtime_failure(e);
  } catch (const std::exception& e) {
    return {kFailed, "internal error: " + printable(e.what())};
  } catch (...) {
    return {kFailed, "internal error: an exception of unknown type"};
  }
}

}  // namespace pagequery::service
