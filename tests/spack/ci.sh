#!/usr/bin/env bash
# The Spack path, proven with a real Spack (1.1.0, offline, ../shared/tools/spack):
# both environments concretize, the recipe passes `spack audit`, and the CPU
# environment installs pagequery (Kokkos and Kokkos Kernels from the source mirror
# of ../shared/vendor, Debian's packages as externals) and runs its tests.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
setup="$repo/../shared/tools/spack/setup.sh"
[ -f "$setup" ] || { echo "tests/spack/ci.sh: $setup is missing (the offline Spack)" >&2; exit 1; }
eval "$(bash "$setup")"
cd "$repo"

step() {
  local name=$1 t0=$SECONDS; shift
  "$@"
  echo "spack step '$name': $((SECONDS - t0)) s"
}
step "concretize CUDA environment (spack.yaml)" spack -e . concretize --force --fresh
spack -e . find -c kokkos kokkos-kernels cuda pagequery
step "concretize CPU environment (spack/cpu)" spack -e spack/cpu concretize --force --fresh
step "audit" spack -e spack/cpu audit packages pagequery
step "install CPU environment with tests" spack -e spack/cpu install --test=root --fail-fast
spack -e spack/cpu find -v pagequery
log=$(spack -e spack/cpu location -i pagequery)/.spack/install-time-test-log.txt
[ -f "$log" ] || { echo "tests/spack/ci.sh: no install-time test log at $log" >&2; exit 1; }
grep -E 'tests passed|tests failed out of' "$log"
