#!/usr/bin/env bash
# Calls on the lent Hopper GPU for the wgmma kernel of packed keys. Expects the
# bundle of tools/device_bundle.sh. Parts, in order, as arguments:
#   tests     the CUDA suites (core, policies)
#   fixture   both fixtures under each tensor kernel and policy
#   sweep     packed keys at mainnet volume, wgmma against mma_sync (same seed)
#   ncu       Nsight Compute on the wgmma scan (8 GiB, Q = 32 and 128)
# SWEEP_GIB, SWEEP_Q and SWEEP_ITER override the sweep's size, batch sizes and iterations;
# SWEEP_VARIANTS its variants, label=flags (commas for spaces).
source "$(dirname "$0")/device_env.sh"
nvidia-smi -L
for part in "$@"; do
  case "$part" in
    tests) suites pagequery_core_tests test_policies test_engine ;;
    fixture)
      for req in fixture_request fixture_request_packed; do
        resp=data/${req/request/response}.json
        for mode in "--tensor-kernel wgmma" "--tensor-kernel mma_sync" "--tensor-kernel wgmma --policy multi_stream_4" \
                    "--tensor-kernel wgmma --policy cuda_graph_replay" "--accumulate lop3"; do
          "$B/pagequery" answer --matrix-file data/fixture_matrix.bin --request "data/$req.json" $mode > /tmp/a.json 2>/tmp/a.err
          echo "$req [$mode]: exit $? $(cmp -s /tmp/a.json "$resp" && echo identical || echo different) $(head -c 160 /tmp/a.err)"
        done
      done ;;
    sweep)
      # label=flags: each variant's sweep writes sweep-LABEL.{md,err} and a run in hopper-packed.h5
      for v in ${SWEEP_VARIANTS:-wgmma=--tensor-kernel=wgmma mma_sync=--tensor-kernel=mma_sync}; do
        label=${v%%=*}; flags=${v#*=}
        (cd "$OUT" && "$B/pagequery" sweep --synthetic-gib "${SWEEP_GIB:-64.2}" --dpf packed --strategies fused \
          ${flags//,/ } --batch-sizes "${SWEEP_Q:-1,8,32,128,256}" --iterations "${SWEEP_ITER:-3}" --warmup 1 \
          --seed 7 --output hopper-packed.h5 > sweep-$label.md 2> sweep-$label.err)
        echo "sweep $label ($flags): exit $?"; grep -E "rate|read floor" "$OUT/sweep-$label.err"
        grep -A8 -E "^#+ (Read-floor|Hardware-floor|Batch throughput)" "$OUT/sweep-$label.md" | grep -E "^\||^#"
      done ;;
    ncu)
      for q in 32 128; do
        ncu --kernel-name-base mangled --kernel-name regex:wgmma_page_query --launch-skip 1 --launch-count 1 \
          --clock-control none --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats \
          --metrics regex:sm__inst_executed_pipe_.*\\.avg\\.pct_of_peak_sustained_active,lts__t_bytes.sum.per_second \
          "$B/pagequery" sweep --synthetic-gib 8 --dpf packed --strategies fused --batch-sizes $q --iterations 1 \
          --warmup 1 --seed 7 --output /tmp/ncu.h5 > "$OUT/ncu-q$q.txt" 2>&1
        echo "ncu Q=$q: exit $?"; grep -E "Duration|DRAM Throughput|L2 Cache Throughput|Compute \(SM\)|lts__t_bytes" "$OUT/ncu-q$q.txt"
      done ;;
  esac
done
