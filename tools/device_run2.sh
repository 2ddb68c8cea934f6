#!/usr/bin/env bash
# One call on the lent GPU after the packed-key merge: the CUDA core and policy suites
# (packed keys included), both fixtures, and the Morphogen / packed sweep with the read
# floor at mainnet volume. Expects the bundle of tools/device_bundle.sh.
set -uo pipefail
export LD_LIBRARY_PATH=$PWD/.device-lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
B=$PWD/.device-bin
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi -L
for t in pagequery_core_tests test_policies; do
  "$B/$t" --gtest_brief=1 > "$OUT/$t.log" 2>&1; echo "$t: exit $? $(grep -E '^\[  (PASSED|FAILED)' "$OUT/$t.log" | tr '\n' ' ')"
done
for req in fixture_request fixture_request_packed; do
  [ -f "data/$req.json" ] || continue
  resp=data/${req/request/response}.json
  for mode in "--policy fused" "--policy multi_stream_4" "--accumulate mma"; do
    "$B/pagequery" answer --matrix-file data/fixture_matrix.bin --request "data/$req.json" $mode > /tmp/a.json 2>/tmp/a.err
    echo "$req [$mode]: exit $? $(cmp -s /tmp/a.json "$resp" && echo identical || echo different) $(head -c 160 /tmp/a.err)"
  done
done
cd "$OUT"
"$B/pagequery" sweep --synthetic-gib 64.2 --dpf morphogen,packed --strategies fused --batch-sizes 1,32,128 \
  --iterations 3 --warmup 1 --seed 7 --output h200-packed.h5 > sweep-packed.md 2> sweep-packed.err; echo "sweep packed: exit $?"
tail -n 45 sweep-packed.md
