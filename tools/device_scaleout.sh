#!/usr/bin/env bash
# Issue 29 on the lent GPU: MPI ranks of the CUDA build sharing it. Expects the
# bundles of tools/device_bundle.sh (a PAGEQUERY_ENABLE_MPI CUDA build) and
# tools/device_mpi_bundle.sh. Parts, in order, as arguments:
#   answer   the fixtures and held-out requests (1 GiB matrix file, both key formats)
#            answered by 1, 2 and 4 ranks; every answer compared with the 1-rank bytes
#   sweep    the fused sweep at Q = 1, 8, 32, 128, both key formats, by 1, 2 and 4 ranks
#            (SCALE_GIB, default 16), one results file per size: scaleout-<GIB>.h5
source "$(dirname "$0")/device_env.sh"
ranks() { orterun -np "$1" --oversubscribe --bind-to none "$B/pagequery" "${@:2}" --share-gpus; }
for part in "$@"; do
  case "$part" in
    answer)
      "$B/pagequery" matrix --synthetic-pages 262144 --matrix-seed 11 -o /tmp/held.bin
      for fmt in morphogen packed; do
        d=$("$B/pagequery" info --matrix-file /tmp/held.bin --json | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['domain_bits'] if '$fmt'=='morphogen' else j['packed_leaf_bits'])")
        "$B/pagequery" keygen --format $fmt --domain-bits "$d" --indices 0,77,262143,1000,200000,5 --seed 3 --request /tmp/held-$fmt
      done
      for n in 1 2 4; do
        for req in fixture_request fixture_request_packed; do
          ranks $n answer --matrix-file data/fixture_matrix.bin --request "data/$req.json" > /tmp/a.json 2>/tmp/a.err
          echo "ranks $n $req: exit $? $(cmp -s /tmp/a.json "data/${req/request/response}.json" && echo identical || echo different) $(head -c 200 /tmp/a.err)"
        done
        for req in /tmp/held-morphogen.a /tmp/held-morphogen.b /tmp/held-packed.a /tmp/held-packed.b; do
          ranks $n answer --matrix-file /tmp/held.bin --request "$req.json" > "$req.r$n" 2>/tmp/a.err
          echo "ranks $n $(basename $req): exit $? $(cmp -s "$req.r$n" "$req.r1" && echo "same as 1 rank" || echo DIFFERENT) $(head -c 200 /tmp/a.err)"
        done
        for fmt in morphogen packed; do  # the pages asked for, from A's and B's answers
          "$B/pagequery" combine /tmp/held-$fmt.a.r$n /tmp/held-$fmt.b.r$n --raw /tmp/pages
          want=$(for p in 0 77 262143 1000 200000 5; do dd if=/tmp/held.bin bs=4096 skip=$p count=1 2>/dev/null; done | cmp - /tmp/pages && echo "the matrix's pages" || echo WRONG)
          echo "ranks $n $fmt combined: $want"
        done
      done ;;
    sweep)
      gib=${SCALE_GIB:-16}
      for n in 1 2 4; do
        (cd "$OUT" && ranks $n sweep --synthetic-gib "$gib" --dpf morphogen,packed --strategies fused \
          --batch-sizes 1,8,32,128 --iterations "${SCALE_ITER:-3}" --warmup 1 --seed 7 \
          --output "scaleout-$gib.h5" > "scaleout-$gib-r$n.md" 2> "scaleout-$gib-r$n.err")
        echo "sweep $gib GiB, $n ranks: exit $?"; grep -E "read floor|GPUs of the ranks|error|refused" "$OUT/scaleout-$gib-r$n.err" | head -5
      done ;;
  esac
done
