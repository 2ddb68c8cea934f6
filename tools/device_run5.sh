#!/usr/bin/env bash
# The closing call on the lent GPU for the packed tensor-core kernel: the CUDA
# suites, both fixtures under every accumulate mode, the mma and lop3 sweeps of
# both key formats at mainnet volume (HDF5 for docs/benchmarks/), and Nsight
# Compute on the packed scan at Q = 32 (8 GiB): per-kernel times and stall reasons.
# Expects the bundle of tools/device_bundle.sh.
source "$(dirname "$0")/device_env.sh"
nvidia-smi -L
suites pagequery_core_tests test_policies
for req in fixture_request fixture_request_packed; do
  resp=data/${req/request/response}.json
  for mode in "--accumulate lop3 --policy fused" "--accumulate lop3 --policy multi_stream_4" "--accumulate mma" "--accumulate mma --policy multi_stream_4"; do
    "$B/pagequery" answer --matrix-file data/fixture_matrix.bin --request "data/$req.json" $mode > /tmp/a.json 2>/tmp/a.err
    echo "$req [$mode]: exit $? $(cmp -s /tmp/a.json "$resp" && echo identical || echo different) $(head -c 160 /tmp/a.err)"
  done
done
cd "$OUT"
"$B/pagequery" sweep --synthetic-gib 64.2 --accumulate mma --dpf morphogen,packed --strategies fused \
  --batch-sizes 1,8,32,128,256 --iterations 5 --warmup 1 --seed 7 --output h200-packed-mma.h5 > mma.md 2> mma.err
echo "sweep mma: exit $?"
"$B/pagequery" sweep --synthetic-gib 64.2 --accumulate lop3 --dpf morphogen,packed --strategies fused \
  --batch-sizes 1,8,32 --iterations 5 --warmup 1 --seed 7 --output h200-packed-lop3.h5 > lop3.md 2> lop3.err
echo "sweep lop3: exit $?"
grep -A9 'Read-floor multiple' mma.md lop3.md
ncu --metrics gpu__time_duration.sum --print-summary per-kernel "$B/pagequery" sweep --synthetic-gib 8 --accumulate mma \
  --dpf packed --strategies fused --batch-sizes 32,128 --iterations 1 --warmup 0 --seed 7 --output ncu-sum.h5 2>&1 |
  grep -E "^  [a-zA-Z_].*(packed|Xor)|gpu__time_duration" | cut -c1-160 > ncu-kernels.txt
ncu --kernel-name-base mangled --kernel-name regex:packed_mma_page_queryILi6E --launch-count 1 \
  --section SpeedOfLight --section WarpStateStats --section Occupancy \
  --metrics regex:smsp__average_warps_issue_stalled_.*_per_issue_active\\.ratio,regex:sm__inst_executed_pipe_.*\\.avg\\.pct_of_peak_sustained_active \
  "$B/pagequery" sweep --synthetic-gib 8 --accumulate mma --dpf packed --strategies fused --batch-sizes 32 \
  --iterations 1 --warmup 0 --seed 7 --output ncu.h5 > ncu-packed-q32.txt 2>&1
echo "ncu: exit $?"
