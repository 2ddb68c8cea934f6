#!/usr/bin/env bash
# CLI tests of live updates (docs/live-updates.md): `answer --updates` and `updates --synthetic`.
# Usage: updates_test.sh CASE PAGEQUERY DATA_DIR WORK_DIR. The fixture matrix holds 5 pages and
# 1000 bytes: 6 pages, the last short; its request asks parties 0 and 1 for pages 2, 5 and 7.
. "$(dirname "$0")/cli_lib.sh"

# record INDEX PAGE_FILE: one update record on stdout (index 8 bytes little-endian, 4096 bytes).
record() {
  local i
  for i in 0 1 2 3 4 5 6 7; do printf "\\x$(printf %02x $((($1 >> (8 * i)) & 255)))"; done
  cat "$2"
}
hex_of() { od -An -v -tx1 "$1" | tr -d ' \n'; }
# random_page FILE [USED]: 4096 bytes, random in the first USED (default all), zero after.
random_page() {
  head -c "${2:-4096}" /dev/urandom >"$1"
  head -c $((4096 - ${2:-4096})) /dev/zero >>"$1"
}

# combined RESPONSE: the three pages of query 0 XOR query 1, one per line.
combined() {
  local a=($(pages "$1")) i
  for i in 0 1 2; do hex_xor "${a[i]}" "${a[i + 3]}"; done
}

case_apply() {
  random_page p2a; random_page p2b; random_page p5 1000
  { record 2 p2a; record 5 p5; record 2 p2b; } >u.bin
  local want=("$(hex_of p2b)" "$(hex_of p5)" "$(printf '0%.0s' $(seq 8192))") got
  for format in morphogen packed; do
    local req=$REQUEST resp=$RESPONSE
    [ $format = packed ] && req=$PACKED_REQUEST resp=$PACKED_RESPONSE
    expect_ok plain_$format -- answer --matrix-file "$MATRIX" --request "$req" &&
      same_file plain_$format plain_$format.out "$resp"
    expect_ok updated_$format -- answer --matrix-file "$MATRIX" --request "$req" --updates u.bin || continue
    check
    grep -q '^{"epoch_id":1,"results":' updated_$format.out || fail "$format: epoch_id is not 1"
    got=($(combined updated_$format.out))
    check
    [ "${got[*]}" = "${want[*]}" ] || fail "$format: the updated pages 2, 5, 7 differ (a later record wins)"
    for accumulate in lop3 auto; do
      expect_ok $format-$accumulate -- answer --matrix-file "$MATRIX" --request "$req" --updates u.bin \
        --accumulate $accumulate && same_file $format-$accumulate $format-$accumulate.out updated_$format.out
    done
  done
  # Records that rewrite pages with their own bytes change nothing but the epoch.
  head -c 4096 "$MATRIX" >p0
  record 0 p0 >same.bin
  expect_ok same -- answer --matrix-file "$MATRIX" --request "$REQUEST" --updates same.bin &&
    same_file same <(sed -e 's/^{"epoch_id":1,/{"epoch_id":0,/' same.out) "$RESPONSE"
  : >empty.bin
  expect_ok empty -- answer --matrix-file "$MATRIX" --request "$REQUEST" --updates empty.bin &&
    same_file empty <(sed -e 's/^{"epoch_id":1,/{"epoch_id":0,/' empty.out) "$RESPONSE"
}

case_refusals() {
  random_page p; random_page tail 1000
  record 1 p | head -c 4103 >truncated.bin
  expect_refused truncated 'record 0 is truncated \(4103 of 4104 bytes\)' -- \
    answer --matrix-file "$MATRIX" --request "$REQUEST" --updates truncated.bin
  { record 1 p; record 1 p | head -c 10; } >truncated2.bin
  expect_refused truncated2 'record 1 is truncated \(10 of 4104 bytes\)' -- \
    answer --matrix-file "$MATRIX" --request "$REQUEST" --updates truncated2.bin
  { record 1 p; record 6 p; } >index.bin
  expect_refused index 'record 1: page update of page 6: outside the matrix of 6 pages' -- \
    answer --matrix-file "$MATRIX" --request "$REQUEST" --updates index.bin
  record 4294967296 p >huge.bin
  expect_refused huge 'page 4294967296: outside the matrix' -- \
    answer --matrix-file "$MATRIX" --request "$REQUEST" --updates huge.bin
  printf '\x01' | dd of=tail bs=1 seek=4095 conv=notrunc status=none
  record 5 tail >tail.bin
  expect_refused tail "record 0: page update of page 5: byte 4095 lies past the matrix's end \\(1000 bytes" -- \
    answer --matrix-file "$MATRIX" --request "$REQUEST" --updates tail.bin
  expect_refused missing 'updates.*(not exist|No such)' -- \
    answer --matrix-file "$MATRIX" --request "$REQUEST" --updates nowhere.bin
}

case_synthetic() {
  expect_ok gen -- updates --synthetic --matrix-file "$MATRIX" --blocks 3 --pages-per-block 4 --seed 7 \
    --output u.bin || return
  check
  [ "$(stat -c %s u.bin)" -eq $((12 * 4104)) ] || fail "u.bin holds $(stat -c %s u.bin) bytes, expected 12 records"
  expect_ok again -- updates --synthetic --matrix-file "$MATRIX" --blocks 3 --pages-per-block 4 --seed 7 \
    --output v.bin && { check; cmp -s u.bin v.bin || fail "the same seed wrote different files"; }
  expect_ok pages -- updates --synthetic --pages 100000 --blocks 2 --pages-per-block 500 --zipf 1.2 --output w.bin
  # Every record's page lies in the matrix and short-page tails are zero: answer accepts the file.
  expect_ok answer -- answer --matrix-file "$MATRIX" --request "$REQUEST" --updates u.bin &&
    { check; grep -q '^{"epoch_id":1,' answer.out || fail "epoch_id is not 1"; }
  expect_refused too_many 'pages-per-block 7 exceeds the matrix.s 6 pages' -- \
    updates --synthetic --matrix-file "$MATRIX" --pages-per-block 7 --output x.bin
  expect_refused no_source 'exactly one of --matrix-file and --pages' -- updates --synthetic --output x.bin
  expect_refused no_mode '--synthetic is required' -- updates --pages 10 --output x.bin
  expect_refused zipf '--zipf' -- updates --synthetic --pages 10 --zipf -1 --output x.bin
}

case "$CASE" in
  apply | refusals | synthetic) "case_$CASE" ;;
  *) echo "unknown case '$CASE'" >&2; exit 2 ;;
esac

finish
