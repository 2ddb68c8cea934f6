#!/usr/bin/env bash
# One call on the lent GPU after the packed-key merge: the CUDA core and policy suites
# (packed keys included), both fixtures, and the Morphogen / packed sweep with the read
# floor at mainnet volume. Expects the bundle of tools/device_bundle.sh.
source "$(dirname "$0")/device_env.sh"
nvidia-smi -L
suites pagequery_core_tests test_policies
for req in fixture_request fixture_request_packed; do
  [ -f "data/$req.json" ] || continue
  resp=data/${req/request/response}.json
  for mode in "--accumulate lop3 --policy fused" "--accumulate lop3 --policy multi_stream_4" "--accumulate mma"; do
    "$B/pagequery" answer --matrix-file data/fixture_matrix.bin --request "data/$req.json" $mode > /tmp/a.json 2>/tmp/a.err
    echo "$req [$mode]: exit $? $(cmp -s /tmp/a.json "$resp" && echo identical || echo different) $(head -c 160 /tmp/a.err)"
  done
done
cd "$OUT"
"$B/pagequery" sweep --synthetic-gib 64.2 --accumulate lop3 --dpf morphogen,packed --strategies fused --batch-sizes 1,32,128 \
  --iterations 3 --warmup 1 --seed 7 --output h200-packed.h5 > sweep-packed.md 2> sweep-packed.err; echo "sweep packed: exit $?"
tail -n 45 sweep-packed.md
