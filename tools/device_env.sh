# Sourced by the tools/device_*.sh scripts on the lent GPU machine: the bundle of
# tools/device_bundle.sh (.device-bin, .device-lib) as $B and the library path,
# $OUT for what comes back, and `suites NAME...`: the named CUDA test binaries,
# one summary line each.
set -uo pipefail
export LD_LIBRARY_PATH=$PWD/.device-lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
B=$PWD/.device-bin
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
suites() {
  for t in "$@"; do
    [ -x "$B/$t" ] || continue
    "$B/$t" --gtest_brief=1 > "$OUT/$t.log" 2>&1
    echo "$t: exit $? $(grep -E '^\[  (PASSED|FAILED)' "$OUT/$t.log" | tr '\n' ' ')"
  done
}
