#!/usr/bin/env bash
# One call on the lent GPU for the packed tensor-core kernel: the CUDA core suite
# (packed mma parity first), both fixtures under mma, the mma sweep of both key
# formats with the read floor at mainnet volume, the lop3 packed cells of the same
# size for comparison, and an Nsight Compute profile of the packed scan at Q = 32.
# Expects the bundle of tools/device_bundle.sh.
set -uo pipefail
export LD_LIBRARY_PATH=$PWD/.device-lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
B=$PWD/.device-bin
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi -L
"$B/pagequery_core_tests" --gtest_filter='*DebugGrid*' 2>&1 | grep DBG | awk '{print $NF}' | sort | uniq -c
"$B/pagequery_core_tests" --gtest_brief=1 --gtest_filter='*Packed*' > "$OUT/core-packed.log" 2>&1
echo "core packed: exit $? $(grep -E '^\[  (PASSED|FAILED)' "$OUT/core-packed.log" | tr '\n' ' ')"
for t in pagequery_core_tests test_policies; do
  "$B/$t" --gtest_brief=1 > "$OUT/$t.log" 2>&1; echo "$t: exit $? $(grep -E '^\[  (PASSED|FAILED)' "$OUT/$t.log" | tr '\n' ' ')"
done
for req in fixture_request fixture_request_packed; do
  resp=data/${req/request/response}.json
  for mode in "--accumulate mma" "--accumulate mma --policy multi_stream_4"; do
    "$B/pagequery" answer --matrix-file data/fixture_matrix.bin --request "data/$req.json" $mode > /tmp/a.json 2>/tmp/a.err
    echo "$req [$mode]: exit $? $(cmp -s /tmp/a.json "$resp" && echo identical || echo different) $(head -c 160 /tmp/a.err)"
  done
done
cd "$OUT"
"$B/pagequery" sweep --synthetic-gib 64.2 --accumulate mma --dpf morphogen,packed --strategies fused \
  --batch-sizes 1,8,32,128,256 --iterations 3 --warmup 1 --seed 7 --output h200-mma.h5 > sweep-mma.md 2> sweep-mma.err
echo "sweep mma: exit $?"
"$B/pagequery" sweep --synthetic-gib 64.2 --dpf packed --strategies fused --batch-sizes 1,32 \
  --iterations 3 --warmup 1 --seed 7 --output h200-lop3.h5 > sweep-lop3.md 2> sweep-lop3.err
echo "sweep lop3: exit $?"
tail -n 40 sweep-mma.md sweep-lop3.md
ncu --metrics gpu__time_duration.sum --print-summary per-kernel "$B/pagequery" sweep --synthetic-gib 8 --accumulate mma \
  --dpf packed --strategies fused --batch-sizes 1,32,128 --iterations 1 --warmup 0 --seed 7 --output ncu-sum.h5 2>&1 |
  grep -E "^  [a-zA-Z_].*packed|^  [a-zA-Z_].*Xor|gpu__time_duration" | cut -c1-150 > ncu-summary.txt
cat ncu-summary.txt
timeout 200 ncu --kernel-name-base mangled --kernel-name regex:packed_mma_page_queryILi6E --launch-count 1 \
  --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
  --section WarpStateStats --section LaunchStats --section Occupancy --section InstructionStats \
  --metrics regex:smsp__average_warps_issue_stalled_.*_per_issue_active\\.ratio,regex:sm__inst_executed_pipe_.*\\.avg\\.pct_of_peak_sustained_active \
  "$B/pagequery" sweep --synthetic-gib 8 --accumulate mma --dpf packed --strategies fused --batch-sizes 32 \
  --iterations 1 --warmup 0 --seed 7 --output ncu.h5 > ncu-packed-q32.txt 2>&1
echo "ncu: exit $?"; grep -E "Duration|Throughput|Busy|Registers|Issue Slots|stalled|pipe_" ncu-packed-q32.txt | awk '$NF+0 > 0.05' | head -60
