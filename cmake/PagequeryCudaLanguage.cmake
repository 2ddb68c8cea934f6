# CUDA as a CMake language, for a Kokkos built with Kokkos_ENABLE_COMPILE_AS_CMAKE_LANGUAGE
# (its KokkosConfig.cmake sets Kokkos_COMPILE_LANGUAGE to CUDA). Used by this project
# and installed beside pagequeryConfig.cmake for consumers, who call it at directory
# scope (enable_language cannot run in a function) before compiling Kokkos sources
# with set_source_files_properties(... PROPERTIES LANGUAGE CUDA).
macro(pagequery_enable_cuda_language)
  # A consumer's device code must target the architectures pagequery was built for.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND pagequery_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "${pagequery_CUDA_ARCHITECTURES}")
  endif()
  enable_language(CUDA)
  # CMake 3.25 does not know nvcc's C++20: teach it the flag Kokkos's
  # cxx_std_20 needs (CMAKE_CUDA_FLAGS carries -std=c++20 as well, see CMakePresets.json).
  if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    list(APPEND CMAKE_CUDA_COMPILE_FEATURES cuda_std_20)
    set(CMAKE_CUDA20_COMPILE_FEATURES cuda_std_20)
  endif()
endmacro()
