# cmake -DPATCH_FILE=... -P apply_patch.cmake: applies a -p1 patch to the working
# directory (a fetched source tree), once; only a fetch needs `patch`.
find_program(PATCH_EXECUTABLE patch)
if(NOT PATCH_EXECUTABLE)
  message(FATAL_ERROR "building Kokkos from source needs the `patch` program (Debian: apt-get install patch)")
endif()
execute_process(COMMAND "${PATCH_EXECUTABLE}" -p1 --forward --batch --silent -i "${PATCH_FILE}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "patch ${PATCH_FILE} did not apply (exit ${rc})")
endif()
