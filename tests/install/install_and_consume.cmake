# cmake -DBUILD_DIR=... -DCONSUMER_SOURCE=... -DCONSUMER_CACHE=... -DGENERATOR=...
#       -DWORK_DIR=... -DIN_PREFIX=pagequery[,Kokkos[,KokkosKernels]] -P install_and_consume.cmake
# Installs BUILD_DIR into WORK_DIR/prefix, builds the consumer project against that
# prefix and runs it. The packages in IN_PREFIX must be found there: pagequery, and
# a fetched Kokkos or Kokkos Kernels, installed with it.
cmake_minimum_required(VERSION 3.25)
set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})

function(step what)
  string(TIMESTAMP t0 "%s")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(TIMESTAMP t1 "%s")
  math(EXPR seconds "${t1} - ${t0}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}")
  endif()
  message(STATUS "${what}: ${seconds} s")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

step("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
# No package registry: a build tree recorded there must not stand in for the prefix.
step("consumer configure" ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE} -B ${build} -G ${GENERATOR}
     -C ${CONSUMER_CACHE} -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)

string(REPLACE "," ";" in_prefix "${IN_PREFIX}")
file(REAL_PATH ${prefix} real_prefix)
foreach(package pagequery Kokkos KokkosKernels)
  file(STRINGS ${build}/CMakeCache.txt entry REGEX "^${package}_DIR:")
  string(REGEX REPLACE "^[^=]*=" "" dir "${entry}")
  message(STATUS "consumer: ${package}_DIR=${dir}")
  if(package IN_LIST in_prefix)
    file(REAL_PATH "${dir}" real_dir)
    string(FIND "${real_dir}" "${real_prefix}/" at)
    if(NOT at EQUAL 0)
      message(FATAL_ERROR "the consumer found ${package} at '${dir}', not in ${prefix}")
    endif()
  endif()
endforeach()

step("consumer build" ${CMAKE_COMMAND} --build ${build})
step("consumer run" ${build}/pagequery_consumer)
message(STATUS "${step_output}")
