#!/usr/bin/env bash
# One call on the lent GPU: the CUDA test suites, the fixture under every accumulate
# mode, and the Kokkos Kernels / fused sweep at mainnet volume. Expects the bundle of
# tools/device_bundle.sh (.device-bin, .device-lib) in the working tree.
source "$(dirname "$0")/device_env.sh"
nvidia-smi -L
suites pagequery_core_tests test_policies test_kokkos_kernels_gemm
for mode in "--accumulate lop3" "--accumulate mma" "--policy kokkos_kernels_gemm"; do
  "$B/pagequery" answer --matrix-file data/fixture_matrix.bin --request data/fixture_request.json $mode > /tmp/a.json 2>/tmp/a.err
  echo "fixture [$mode]: exit $? $(cmp -s /tmp/a.json data/fixture_response.json && echo identical || echo DIFFERENT) $(head -c 200 /tmp/a.err)"
done
cd "$OUT"
"$B/pagequery" sweep --synthetic-gib 64.2 --accumulate lop3 --strategies fused,kokkos_kernels_gemm --batch-sizes 1,8,32 \
  --iterations 3 --warmup 1 --seed 5 --output h200.h5 > sweep-lop3.md 2> sweep-lop3.err; echo "sweep lop3: exit $?"
"$B/pagequery" sweep --synthetic-gib 64.2 --accumulate mma --strategies fused --batch-sizes 1,8,32 \
  --iterations 3 --warmup 1 --seed 5 --output h200.h5 > sweep-mma.md 2> sweep-mma.err; echo "sweep mma: exit $?"
tail -n 30 sweep-lop3.md sweep-mma.md
