#pragma once
// The execution spaces every typed Kokkos test runs on: each enabled backend.
#include <Kokkos_Core.hpp>
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <utility>

namespace pqtest {

template <class Tuple>
struct ToGTestTypes;
template <class... Ts>
struct ToGTestTypes<std::tuple<Ts...>> {
  using type = ::testing::Types<Ts...>;
};

using ExecSpaceTuple = decltype(std::tuple_cat(
#ifdef KOKKOS_ENABLE_SERIAL
    std::declval<std::tuple<Kokkos::Serial>>(),
#endif
#ifdef KOKKOS_ENABLE_OPENMP
    std::declval<std::tuple<Kokkos::OpenMP>>(),
#endif
#ifdef KOKKOS_ENABLE_CUDA
    std::declval<std::tuple<Kokkos::Cuda>>(),
#endif
    std::declval<std::tuple<>>()));
using ExecSpaces = ToGTestTypes<ExecSpaceTuple>::type;

struct ExecSpaceNames {
  template <class T>
  static std::string GetName(int) {
    return T::name();
  }
};

}  // namespace pqtest
