# Kokkos and Kokkos Kernels: an installed package first (Spack, modules, a user's
# prefix through Kokkos_ROOT / KokkosKernels_ROOT); otherwise the pinned release
# tarballs, verified by SHA-256 and built as part of this project.
#
# Offline: PAGEQUERY_DEPS_DIR (cache variable, or the environment variable of that
# name) is a folder holding the tarballs under upstream's file names; they are
# taken from there instead of downloaded, and their hashes are still checked.
include(FetchContent)

set(PAGEQUERY_DEPS_DIR "$ENV{PAGEQUERY_DEPS_DIR}" CACHE PATH
    "Folder of pinned dependency tarballs (upstream file names) for offline builds")

# URL of a pinned tarball: the local copy when a deps folder is given.
function(pagequery_dependency_url out file upstream)
  if(PAGEQUERY_DEPS_DIR)
    if(NOT EXISTS "${PAGEQUERY_DEPS_DIR}/${file}")
      message(FATAL_ERROR "PAGEQUERY_DEPS_DIR='${PAGEQUERY_DEPS_DIR}' has no ${file}")
    endif()
    file(REAL_PATH "${PAGEQUERY_DEPS_DIR}/${file}" local)
    set(${out} "file://${local}" PARENT_SCOPE)
  else()
    set(${out} "${upstream}/${file}" PARENT_SCOPE)
  endif()
endfunction()

set(PAGEQUERY_KOKKOS_VERSION 4.6.01)
pagequery_dependency_url(_pq_kokkos_url kokkos-${PAGEQUERY_KOKKOS_VERSION}.tar.gz
  https://github.com/kokkos/kokkos/releases/download/${PAGEQUERY_KOKKOS_VERSION})
# Kokkos 4.6.01 predates CUDA 13, which changed three runtime calls; the patch is
# guarded by CUDART_VERSION and changes nothing for host backends or older CUDA.
FetchContent_Declare(Kokkos
  URL "${_pq_kokkos_url}"
  URL_HASH SHA256=b9d70e4653b87a06dbb48d63291bf248058c7c7db4bd91979676ad5609bb1a3a
  PATCH_COMMAND "${CMAKE_COMMAND}" -DPATCH_FILE=${CMAKE_CURRENT_LIST_DIR}/patches/kokkos-4.6.01-cuda13.patch
                -P "${CMAKE_CURRENT_LIST_DIR}/apply_patch.cmake"
  FIND_PACKAGE_ARGS 4.6 CONFIG)

set(PAGEQUERY_KOKKOS_KERNELS_VERSION 4.6.01)
pagequery_dependency_url(_pq_kk_url kokkos-kernels-${PAGEQUERY_KOKKOS_KERNELS_VERSION}.tar.gz
  https://github.com/kokkos/kokkos-kernels/releases/download/${PAGEQUERY_KOKKOS_KERNELS_VERSION})
FetchContent_Declare(KokkosKernels
  URL "${_pq_kk_url}"
  URL_HASH SHA256=95b9357f37ab3b9c3913c00741acb2501831c28ea8664de67818ae79c69c5908
  FIND_PACKAGE_ARGS 4.6 CONFIG)

# Settings for a fetched Kokkos Kernels: the BLAS component, header-only templates
# (no explicit instantiations: the ring type of the gemm strategy is our own).
set(KokkosKernels_ENABLE_ALL_COMPONENTS OFF CACHE BOOL "")
set(KokkosKernels_ENABLE_COMPONENT_BLAS ON CACHE BOOL "")
foreach(_pq_inst DOUBLE LAYOUTLEFT LAYOUTRIGHT ORDINAL_INT OFFSET_INT OFFSET_SIZE_T)
  set(KokkosKernels_INST_${_pq_inst} OFF CACHE BOOL "")
endforeach()
set(KokkosKernels_ENABLE_TPL_BLAS OFF CACHE BOOL "")
set(KokkosKernels_ENABLE_SUPERNODAL_SPTRSV OFF CACHE BOOL "")  # needs LayoutLeft ETI

FetchContent_MakeAvailable(Kokkos)
if(NOT Kokkos_FOUND AND Kokkos_ENABLE_CUDA AND Kokkos_ENABLE_COMPILE_AS_CMAKE_LANGUAGE)
  # What an installed KokkosConfig.cmake says: Kokkos Kernels compiles its
  # sources in this language, and so must we.
  set(Kokkos_COMPILE_LANGUAGE CUDA)
endif()
if(PAGEQUERY_ENABLE_KOKKOS_KERNELS)
  FetchContent_MakeAvailable(KokkosKernels)
endif()

# Which of the two each dependency is, for the installed package
# (cmake/PagequeryInstall.cmake): a fetched one installs itself beside pagequery.
set(PAGEQUERY_KOKKOS_FETCHED OFF)
set(PAGEQUERY_KOKKOS_KERNELS_FETCHED OFF)
if(TARGET Kokkos::kokkos AND NOT Kokkos_FOUND)
  set(PAGEQUERY_KOKKOS_FETCHED ON)
  set(PAGEQUERY_KOKKOS_SOURCE "fetched ${PAGEQUERY_KOKKOS_VERSION}")
else()
  set(PAGEQUERY_KOKKOS_SOURCE "found ${Kokkos_VERSION} at ${Kokkos_DIR}")
endif()
if(PAGEQUERY_ENABLE_KOKKOS_KERNELS AND NOT KokkosKernels_FOUND)
  set(PAGEQUERY_KOKKOS_KERNELS_FETCHED ON)
endif()
message(STATUS "pagequery: Kokkos ${PAGEQUERY_KOKKOS_SOURCE}")
