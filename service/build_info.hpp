#pragma once
// How this binary was built, fixed at configure time (service/CMakeLists.txt):
// what `--version` and `info` print and what a sweep records with its results.
#include <string>

namespace pagequery::service {

struct BuildInfo {
  std::string version;        // "0.1.0"
  std::string git_revision;   // "6d99b54"; "unknown" outside a git checkout
  std::string compiler;       // "GNU 12.2.0"
  std::string cxx_flags;      // CMAKE_CXX_FLAGS and those of the build type
  std::string build_type;     // "Release"
  std::string kokkos_config;  // "devices=... arch=... options=..."
};
const BuildInfo& build_info();

// "pagequery 0.1.0 (git 6d99b54, Release, GNU 12.2.0)": `--version`, `info`.
std::string version_text();

}  // namespace pagequery::service
