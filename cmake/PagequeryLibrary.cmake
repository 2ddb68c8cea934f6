# Consumers see the headers as installed: one include directory holding
# pagequery.hpp and pagequery/{core,policies}/ (include/ under the install
# prefix), so `#include <pagequery.hpp>` and `#include <pagequery/core/x.hpp>`,
# the form the tree uses too, resolve the same way in the build tree and in an
# install. In the build tree that directory is symbolic links to the sources:
# headers added later are seen at once, and the repository root (apps/, tests/,
# bench/) stays off consumers' include path.
set(PAGEQUERY_BUILD_INCLUDE_DIR ${PROJECT_BINARY_DIR}/include)
file(MAKE_DIRECTORY ${PAGEQUERY_BUILD_INCLUDE_DIR}/pagequery)
foreach(entry core policies)
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${entry} ${PAGEQUERY_BUILD_INCLUDE_DIR}/pagequery/${entry} SYMBOLIC)
endforeach()
file(CREATE_LINK ${PROJECT_SOURCE_DIR}/include/pagequery.hpp ${PAGEQUERY_BUILD_INCLUDE_DIR}/pagequery.hpp SYMBOLIC)

# Makes library `target` the exported pagequery::<name>, file libpagequery_<name>.
# Its own sources see the repository root first, so that diagnostics name the
# real files, not the links.
function(pagequery_library target name)
  add_library(pagequery::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME pagequery_${name})
  target_include_directories(${target}
    PRIVATE ${PROJECT_SOURCE_DIR}
    PUBLIC $<BUILD_INTERFACE:${PAGEQUERY_BUILD_INCLUDE_DIR}>
           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
endfunction()
