#!/usr/bin/env bash
# Two builds side by side on the lent GPU, Morphogen keys at mainnet volume:
# lop3 and mma at Q = 1, 32, each build one sweep (own read floor).
#   tools/device_ab.sh pagequery-A pagequery-B   (binaries in .device-bin)
source "$(dirname "$0")/device_env.sh"
cd "$OUT"
for round in 1 2; do
  for bin in "$@"; do
    "$B/$bin" sweep --synthetic-gib 64.2 --strategies fused --batch-sizes 1,32 --iterations 3 --warmup 1 \
      --seed 7 --output "$bin-lop3.h5" > "$bin-lop3.md" 2>&1
    "$B/$bin" sweep --synthetic-gib 64.2 --accumulate mma --strategies fused --batch-sizes 1,32 --iterations 3 \
      --warmup 1 --seed 7 --output "$bin-mma.h5" > "$bin-mma.md" 2>&1
    echo "round $round $bin lop3: $(grep -A5 'Batch latency' "$bin-lop3.md" | grep '^| [0-9]' | tr '\n' ' ')"
    echo "round $round $bin mma:  $(grep -A5 'Batch latency' "$bin-mma.md" | grep '^| [0-9]' | tr '\n' ' ')"
    echo "round $round $bin floor: $(grep -o 'floor [0-9.]* ms' "$bin-lop3.md" | head -1)"
  done
done
