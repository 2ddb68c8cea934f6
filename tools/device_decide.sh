#!/usr/bin/env bash
# Issue 25 on the lent GPU: is the stopping rule's answer the answer of a long fixed
# run, and what do cold caches cost? Expects the bundle of tools/device_bundle.sh.
# One results file, decide.h5, three runs on the same matrix and keys (DECIDE_GIB,
# default 8; both key formats; fused and multi_stream_4 at Q = 1, 8, 32):
#   the stopping rule's defaults, --iterations 20, and the defaults with --cold;
# then `compare` of each against the first, and the device facts (`info`).
source "$(dirname "$0")/device_env.sh"
cd "$OUT"
common=(--synthetic-gib "${DECIDE_GIB:-8}" --dpf morphogen,packed --strategies fused,multi_stream_4
        --batch-sizes 1,8,32 --seed 7 --output decide.h5)
for run in rule:"" fixed20:"--iterations 20" cold:"--cold"; do
  label=${run%%:*}
  t0=$SECONDS
  "$B/pagequery" sweep "${common[@]}" ${run#*:} > "decide-$label.md" 2> "decide-$label.err"
  echo "sweep $label: exit $? in $((SECONDS - t0)) s"
done
runs=($("$B/pagequery" report decide.h5 --list 2>/dev/null | awk '{print $1}'))
for r in "${runs[@]:1}"; do
  "$B/pagequery" compare "decide.h5:${runs[0]}" "decide.h5:$r" > "compare-$r.md" 2>&1
  echo "compare ${runs[0]} -> $r: exit $?"
done
"$B/pagequery" info --matrix-file "$OLDPWD/data/fixture_matrix.bin" | grep -E "gpu|cuda|nvidia|device"
