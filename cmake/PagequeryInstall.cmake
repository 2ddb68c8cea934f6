# The installed package: libraries, include/pagequery.hpp and the headers under
# include/pagequery/, and
# find_package(pagequery) with targets pagequery::core, ::policy_config, ::policies.
include(CMakePackageConfigHelpers)
set(PAGEQUERY_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/pagequery)

install(TARGETS pagequery_core pagequery_policy_config pagequery_engine EXPORT pagequeryTargets)
install(EXPORT pagequeryTargets NAMESPACE pagequery:: DESTINATION ${PAGEQUERY_INSTALL_CMAKEDIR})
# Whole folders, so that headers added later (subfolders included) are installed too.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/core ${PROJECT_SOURCE_DIR}/policies
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/pagequery FILES_MATCHING PATTERN "*.hpp")
install(FILES ${PROJECT_SOURCE_DIR}/include/pagequery.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# PAGEQUERY_CONFIG_<package>_HINT and _VERSION: where the package looks for a
# dependency first, and the version it asks for (the one built against). A fetched
# dependency was installed with pagequery, under the same prefix (wherever that is
# moved to); an installed one stays where it was found.
function(pagequery_config_dependency package fetched fetched_version)
  if(fetched)
    set(hint "\${PACKAGE_PREFIX_DIR}")
    set(version ${fetched_version})
  else()
    set(hint "${${package}_DIR}")
    set(version ${${package}_VERSION})
  endif()
  set(PAGEQUERY_CONFIG_${package}_HINT "${hint}" PARENT_SCOPE)
  set(PAGEQUERY_CONFIG_${package}_VERSION "${version}" PARENT_SCOPE)
endfunction()
pagequery_config_dependency(Kokkos "${PAGEQUERY_KOKKOS_FETCHED}" ${PAGEQUERY_KOKKOS_VERSION})
pagequery_config_dependency(KokkosKernels "${PAGEQUERY_KOKKOS_KERNELS_FETCHED}" ${PAGEQUERY_KOKKOS_KERNELS_VERSION})

configure_package_config_file(cmake/pagequeryConfig.cmake.in
  ${PROJECT_BINARY_DIR}/pagequeryConfig.cmake
  INSTALL_DESTINATION ${PAGEQUERY_INSTALL_CMAKEDIR})
# 0.x: the minor version may break the interface, so only the same minor matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/pagequeryConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/pagequeryConfig.cmake ${PROJECT_BINARY_DIR}/pagequeryConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/PagequeryCudaLanguage.cmake
        DESTINATION ${PAGEQUERY_INSTALL_CMAKEDIR})
