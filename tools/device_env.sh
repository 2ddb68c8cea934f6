# Sourced by the tools/device_*.sh scripts on the lent GPU machine: the bundle of
# tools/device_bundle.sh (.device-bin, .device-lib) as $B and the library path,
# Open MPI where tools/device_mpi_bundle.sh's .device-mpi.tar.gz came along,
# $OUT for what comes back, and `suites NAME...`: the named CUDA test binaries,
# one summary line each.
set -uo pipefail
export LD_LIBRARY_PATH=$PWD/.device-lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Open MPI from tools/device_mpi_bundle.sh: mpirun as root, on one node, shared memory.
if [ -f .device-mpi.tar.gz ]; then
  tar -C / -xzf .device-mpi.tar.gz root --strip-components=1 && tar -xzf .device-mpi.tar.gz .device-mpi-lib
  export LD_LIBRARY_PATH=$PWD/.device-mpi-lib:$LD_LIBRARY_PATH
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1
fi
B=$PWD/.device-bin
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
suites() {
  for t in "$@"; do
    [ -x "$B/$t" ] || continue
    "$B/$t" --gtest_brief=1 > "$OUT/$t.log" 2>&1
    echo "$t: exit $? $(grep -E '^\[  (PASSED|FAILED)' "$OUT/$t.log" | tr '\n' ' ')"
  done
}
