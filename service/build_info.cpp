#include "service/build_info.hpp"

namespace pagequery::service {

const BuildInfo& build_info() {
  static const BuildInfo info{PAGEQUERY_VERSION,   PAGEQUERY_GIT_REVISION, PAGEQUERY_COMPILER,
                              PAGEQUERY_CXX_FLAGS, PAGEQUERY_BUILD_TYPE,   PAGEQUERY_KOKKOS_CONFIG};
  return info;
}

std::string version_text() {
  const BuildInfo& b = build_info();
  return "pagequery " + b.version + " (git " + b.git_revision + ", " + b.build_type + ", " + b.compiler + ")";
}

}  // namespace pagequery::service
