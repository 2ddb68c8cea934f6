#pragma once
// The execution spaces the library is instantiated for: every enabled backend.
#include <Kokkos_Core.hpp>

#ifdef KOKKOS_ENABLE_SERIAL
#define PAGEQUERY_IF_SERIAL(M) M(Kokkos::Serial)
#else
#define PAGEQUERY_IF_SERIAL(M)
#endif
#ifdef KOKKOS_ENABLE_OPENMP
#define PAGEQUERY_IF_OPENMP(M) M(Kokkos::OpenMP)
#else
#define PAGEQUERY_IF_OPENMP(M)
#endif
#ifdef KOKKOS_ENABLE_CUDA
#define PAGEQUERY_IF_CUDA(M) M(Kokkos::Cuda)
#else
#define PAGEQUERY_IF_CUDA(M)
#endif

#define PAGEQUERY_FOR_EACH_BACKEND(M) PAGEQUERY_IF_SERIAL(M) PAGEQUERY_IF_OPENMP(M) PAGEQUERY_IF_CUDA(M)
