#!/usr/bin/env bash
# One call on the lent GPU comparing builds of the packed tensor-core scan: the
# default build (bin pagequery) and variants named on the command line, each a
# mma sweep of packed keys at mainnet volume with its read floor; the default
# build also runs the CUDA core suite first. Expects tools/device_bundle.sh's bundle.
set -uo pipefail
export LD_LIBRARY_PATH=$PWD/.device-lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
B=$PWD/.device-bin
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
"$B/pagequery_core_tests" --gtest_brief=1 > "$OUT/core.log" 2>&1
echo "core: exit $? $(grep -E '^\[  (PASSED|FAILED)' "$OUT/core.log" | tr '\n' ' ')"
cd "$OUT"
for bin in pagequery "$@"; do
  sizes=32,128
  [ "$bin" = pagequery ] && sizes=1,8,32,128,256
  "$B/$bin" sweep --synthetic-gib 64.2 --accumulate mma --dpf packed --strategies fused --batch-sizes $sizes \
    --iterations 3 --warmup 1 --seed 7 --output "$bin.h5" > "$bin.md" 2> "$bin.err"
  echo "$bin: exit $? $(grep -A8 'Read-floor multiple' "$bin.md" | grep '^| [0-9]' | tr '\n' ' ')"
done
