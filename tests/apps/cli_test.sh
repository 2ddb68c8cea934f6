#!/usr/bin/env bash
# CLI tests of the pagequery binary, one case per ctest test.
#   cli_test.sh CASE PAGEQUERY DATA_DIR WORK_DIR
# Cases: fixture xor refusals keygen info help env policies accumulate.
# Needs bash, coreutils and grep only (hex XOR and page extraction are done here).
set -uo pipefail

if [ $# -ne 4 ]; then
  echo "usage: $0 CASE PAGEQUERY DATA_DIR WORK_DIR" >&2
  exit 2
fi
CASE=$1 PQ=$2 DATA=$3 WORK=$4
MATRIX=$DATA/fixture_matrix.bin
REQUEST=$DATA/fixture_request.json
RESPONSE=$DATA/fixture_response.json
# data/make_fixture.py KEYGEN: (seed, index); query 0 = party 0 keys, query 1 = party 1 keys.
FIXTURE_KEYGEN="11:2 12:5 13:7"

rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 2
# The caller's batching switches must not leak into the tests.
for v in $(compgen -e); do
  case $v in MORPHOGEN_GPU_*) unset "$v" ;; esac
done

FAILURES=0
CHECKS=0
fail() { echo "FAIL [$CASE]: $*" >&2; FAILURES=$((FAILURES + 1)); }
check() { CHECKS=$((CHECKS + 1)); }

# run NAME [VAR=value ...] -- ARGS...: runs pagequery; stdout in NAME.out, stderr in NAME.err,
# exit status in RC. Stdin is /dev/null unless STDIN names a file.
run() {
  local name=$1; shift
  local envs=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  env ${envs[@]+"${envs[@]}"} "$PQ" "$@" <"${STDIN:-/dev/null}" >"$name.out" 2>"$name.err"
  RC=$?
}

# expect_ok NAME [VAR=value ...] -- ARGS...
expect_ok() {
  local name=$1
  run "$@"
  check
  if [ "$RC" -ne 0 ]; then
    fail "$name: exit $RC, expected 0; stderr: $(head -c 400 "$name.err")"
    return 1
  fi
  return 0
}

# expect_refused NAME PATTERN [VAR=value ...] -- ARGS...: exit 2, nothing on stdout, exactly
# one line on stderr that starts with "pagequery: " and matches the (ERE) pattern.
expect_refused() {
  local name=$1 pattern=$2; shift 2
  run "$name" "$@"
  check
  local lines
  lines=$(wc -l <"$name.err")
  if [ "$RC" -ne 2 ]; then
    fail "$name: exit $RC, expected 2; stderr: $(head -c 400 "$name.err")"
  elif [ "$lines" -ne 1 ]; then
    fail "$name: $lines lines on stderr, expected 1: $(head -c 600 "$name.err")"
  elif ! grep -qE "^pagequery: .*($pattern)" "$name.err"; then
    fail "$name: stderr does not match /$pattern/: $(cat "$name.err")"
  elif [ -s "$name.out" ]; then
    fail "$name: refused but wrote stdout"
  fi
}

# same_file NAME A B: A equals B byte for byte, modulo one trailing newline on either.
same_file() {
  check
  if ! cmp -s <(sed -e '$a\' "$2") <(sed -e '$a\' "$3"); then
    fail "$1: $2 differs from $3"
    return 1
  fi
}

# pages FILE: the hex pages of a response, one per line, without 0x, in order.
pages() { grep -oE '"0x[0-9a-f]*"' "$1" | tr -d '"' | cut -c3-; }

# hex_xor A B: XOR of two equal-length hex strings.
hex_xor() {
  local a=$1 b=$2 out="" i
  for ((i = 0; i < ${#a}; i += 8)); do
    printf -v chunk '%08x' $(( 0x${a:i:8} ^ 0x${b:i:8} ))
    out+=$chunk
  done
  echo "$out"
}

# matrix_page X: page X of the fixture matrix in hex, zero-padded (zero past the end).
matrix_page() {
  local hex
  hex=$(od -An -v -tx1 -j $(( $1 * 4096 )) -N 4096 "$MATRIX" 2>/dev/null | tr -d ' \n')
  while [ ${#hex} -lt 8192 ]; do hex+="00000000000000000000000000000000"; done
  echo "${hex:0:8192}"
}

# keygen_key D X PARTY [SEED]: one key's hex (with 0x) from pagequery keygen.
keygen_key() {
  local args=(keygen --domain-bits "$1" --index "$2")
  [ $# -ge 4 ] && args+=(--seed "$4")
  "$PQ" "${args[@]}" | grep -oE "\"party$3\":\"0x[0-9a-f]*\"" | cut -d'"' -f4
}

# request FILE KEY...: a request whose queries take the keys three by three (a multiple of 3).
request() {
  local file=$1; shift
  local out='{"queries":[' i=0 key
  for key in "$@"; do
    if [ $((i % 3)) -eq 0 ]; then [ $i -gt 0 ] && out+=','; out+='{"keys":['; else out+=','; fi
    out+="\"$key\""
    i=$((i + 1))
    [ $((i % 3)) -eq 0 ] && out+=']}'
  done
  echo "$out]}" >"$file"
}

fixture_keys() { grep -oE '"0x[0-9a-f]*"' "$REQUEST" | tr -d '"'; }

case_fixture() {
  # The kernel's answer equals the Python derivation (data/make_fixture.py).
  expect_ok fixture -- answer --matrix-file "$MATRIX" --request "$REQUEST" &&
    same_file fixture fixture.out "$RESPONSE"
  STDIN=$REQUEST expect_ok stdin -- answer --matrix-file "$MATRIX" &&
    same_file stdin stdin.out "$RESPONSE"
  STDIN=$REQUEST expect_ok dash -- answer --matrix-file "$MATRIX" --request - &&
    same_file dash dash.out "$RESPONSE"
  # Hex without 0x and in upper case is accepted (Morphogen writes 0x + lower case).
  sed -e 's/"0x\([0-9a-f]*\)"/"\1"/g' "$REQUEST" >noprefix.json
  sed -E 's/"0x([0-9a-f]*)"/"0X\U\1"/g' "$REQUEST" >upper.json
  expect_ok noprefix -- answer --matrix-file "$MATRIX" --request noprefix.json &&
    same_file noprefix noprefix.out "$RESPONSE"
  expect_ok upper -- answer --matrix-file "$MATRIX" --request upper.json &&
    same_file upper upper.out "$RESPONSE"
  # Unknown fields are ignored, as serde does by default.
  sed -e 's/"queries"/"epoch_hint": 7, "queries"/' "$REQUEST" >extra.json
  expect_ok extra -- answer --matrix-file "$MATRIX" --request extra.json &&
    same_file extra extra.out "$RESPONSE"
  # The request's keys are what keygen makes with the documented seeds.
  local keys=($(fixture_keys)) j=0 pair seed x
  for pair in $FIXTURE_KEYGEN; do
    seed=${pair%%:*} x=${pair##*:}
    check
    [ "$(keygen_key 3 "$x" 0 "$seed")" = "${keys[j]}" ] || fail "keygen seed $seed index $x party 0 differs from the fixture"
    check
    [ "$(keygen_key 3 "$x" 1 "$seed")" = "${keys[j + 3]}" ] || fail "keygen seed $seed index $x party 1 differs from the fixture"
    j=$((j + 1))
  done
  # Reconstruction within the fixture: query 0 XOR query 1 = the target pages.
  local p=($(pages "$RESPONSE"))
  j=0
  for pair in $FIXTURE_KEYGEN; do
    x=${pair##*:}
    check
    [ "$(hex_xor "${p[j]}" "${p[j + 3]}")" = "$(matrix_page "$x")" ] || fail "fixture pages $j XOR $((j + 3)) != page $x"
    j=$((j + 1))
  done
}

case_xor() {
  # Fresh random keys (OS-seeded): party 0 XOR party 1 = page x, for every page of the domain.
  local targets=(0 1 2 3 4 5 6 7 5) k0=() k1=() x out0 out1
  for x in "${targets[@]}"; do
    local pair
    pair=$("$PQ" keygen --domain-bits 3 --index "$x") || { fail "keygen $x"; return; }
    k0+=("$(echo "$pair" | grep -oE '"party0":"0x[0-9a-f]*"' | cut -d'"' -f4)")
    k1+=("$(echo "$pair" | grep -oE '"party1":"0x[0-9a-f]*"' | cut -d'"' -f4)")
  done
  request req0.json "${k0[@]}"
  request req1.json "${k1[@]}"
  expect_ok a -- answer --matrix-file "$MATRIX" --request req0.json || return
  expect_ok b -- answer --matrix-file "$MATRIX" --request req1.json || return
  local pa=($(pages a.out)) pb=($(pages b.out)) i
  check
  [ ${#pa[@]} -eq ${#targets[@]} ] || { fail "expected ${#targets[@]} pages, got ${#pa[@]}"; return; }
  for i in "${!targets[@]}"; do
    check
    [ ${#pa[i]} -eq 8192 ] || fail "page $i has ${#pa[i]} hex digits"
    check
    [ "$(hex_xor "${pa[i]}" "${pb[i]}")" = "$(matrix_page "${targets[i]}")" ] ||
      fail "party0 XOR party1 of key $i != page ${targets[i]}"
  done
  # Keys of both parties may share a request: a server does not care.
  check
  [ "${pa[0]}" != "${pb[0]}" ] || fail "both parties answered alike"
}

case_refusals() {
  local keys=($(fixture_keys)) k=${keys[0]}
  local R="answer --matrix-file $MATRIX --request"
  local bad
  printf '{"queries": [' >trunc.json
  expect_refused json 'invalid JSON' -- $R trunc.json
  : >empty.json
  expect_refused empty 'invalid JSON' -- $R empty.json
  echo '[]' >array.json
  expect_refused array 'expected an object' -- $R array.json
  echo '{}' >noq.json
  expect_refused no_queries '"queries" field is missing' -- $R noq.json
  echo '{"queries": {}}' >qobj.json
  expect_refused queries_type '"queries" must be an array' -- $R qobj.json
  echo '{"queries": []}' >zero.json
  expect_refused zero_queries '0 queries' -- $R zero.json
  local many=() i
  for i in $(seq 33); do many+=("$k" "$k" "$k"); done
  request many.json "${many[@]}"
  expect_refused 33_queries '33 queries' -- $R many.json
  echo '{"queries": [5]}' >qnum.json
  expect_refused query_type 'queries\[0\] must be an object' -- $R qnum.json
  echo '{"queries": [{}]}' >nokeys.json
  expect_refused no_keys 'queries\[0\]: the "keys" field is missing' -- $R nokeys.json
  echo '{"queries": [{"keys": "0x00"}]}' >keystr.json
  expect_refused keys_type 'queries\[0\]\.keys must be an array' -- $R keystr.json
  echo "{\"queries\": [{\"keys\": [\"$k\", \"$k\"]}]}" >two.json
  expect_refused two_keys 'holds 2 keys.*exactly 3' -- $R two.json
  echo "{\"queries\": [{\"keys\": [\"$k\", \"$k\", \"$k\", \"$k\"]}]}" >four.json
  expect_refused four_keys 'holds 4 keys.*exactly 3' -- $R four.json
  echo "{\"queries\": [{\"keys\": [\"$k\", 7, \"$k\"]}]}" >keynum.json
  expect_refused key_type 'keys\[1\] must be a hex string' -- $R keynum.json
  request odd.json "$k" "$k" "${k%?}"
  expect_refused odd_hex 'keys\[2\]: malformed hex: odd number' -- $R odd.json
  request nonhex.json "$k" "${k:0:10}g${k:11}" "$k"
  expect_refused non_hex "keys\\[1\\]: malformed hex: 'g' at position 10" -- $R nonhex.json
  request space.json "$k" "$k" "${k:0:10} ${k:11}"
  expect_refused space_hex "malformed hex: ' '" -- $R space.json
  request prefix2.json "0x$k" "$k" "$k"
  expect_refused double_prefix "malformed hex: 'x'" -- $R prefix2.json
  request emptykey.json "0x" "$k" "$k"
  expect_refused empty_key 'keys\[0\]: DPF key: 0 bytes' -- $R emptykey.json
  request short.json "$k" "$k" "${k%??}"
  expect_refused short_key 'expected 89 bytes for 3 domain bits, got 88' -- $R short.json
  request long.json "${k}00" "$k" "$k"
  expect_refused long_key 'expected 89 bytes for 3 domain bits, got 90' -- $R long.json
  bad=${k:0:34}02${k:36}  # root t = 2
  request badbit.json "$bad" "$k" "$k"
  expect_refused bad_bit 'root t byte must be 0 or 1' -- $R badbit.json
  bad=${k:0:38}00${k:40}  # domain bits byte = 0
  request d0.json "$bad" "$k" "$k"
  expect_refused domain_byte 'domain bits must be in 1..32' -- $R d0.json
  request d4.json "$k" "$(keygen_key 4 3 0 1)" "$k"
  expect_refused domain_bits 'keys\[1\]: DPF key has 4 domain bits but the matrix .* has 3' -- $R d4.json
  request later.json "$k" "$k" "$k" "$k" "$k" "${k%?}"
  expect_refused position 'queries\[1\]\.keys\[2\]: malformed hex' -- $R later.json
  # Files.
  expect_refused no_request 'cannot open' -- answer --matrix-file "$MATRIX" --request missing.json
  expect_refused no_matrix '--matrix-file' -- answer --matrix-file missing.bin --request "$REQUEST"
  : >empty.bin
  expect_refused empty_matrix '--matrix-file' -- answer --matrix-file empty.bin --request "$REQUEST"
  expect_refused matrix_required '--matrix-file is required' -- answer --request "$REQUEST"
  # Flags, each parsed by the shared parsers; the message names the flag.
  local A="answer --matrix-file $MATRIX --request $REQUEST"
  expect_refused streams9 "--streams must be an integer in 1\\.\\.8, got '9'" -- $A --streams 9
  expect_refused streams0 "--streams must be an integer in 1\\.\\.8, got '0'" -- $A --streams 0
  expect_refused streamsx "--streams must be an integer in 1\\.\\.8, got 'x'" -- $A --streams x
  expect_refused graph "--graph must be one of" -- $A --graph maybe
  expect_refused tile0 "--tile must be an integer in 1\\.\\.16, got '0'" -- $A --tile 0
  expect_refused tile17 "--tile must be an integer in 1\\.\\.16, got '17'" -- $A --tile 17
  expect_refused threshold "--threshold must be an integer in 1\\.\\.32, got '33'" -- $A --threshold 33
  expect_refused policy "--policy must be a mode .* got 'bogus'" -- $A --policy bogus
  expect_refused policy_streams "--policy must be .* got 'multi_stream_9'" -- $A --policy multi_stream_9
  # A refused flag is reported before stdin is read (STDIN would block on a terminal).
  # keygen.
  expect_refused kg_d0 "--domain-bits must be an integer in 1\\.\\.32, got '0'" -- keygen --domain-bits 0 --index 0
  expect_refused kg_d33 "--domain-bits must be an integer in 1\\.\\.32, got '33'" -- keygen --domain-bits 33 --index 0
  expect_refused kg_dx "--domain-bits must be an integer in 1\\.\\.32, got 'x'" -- keygen --domain-bits x --index 0
  expect_refused kg_x8 "--index 8 is outside a domain of 3 bits" -- keygen --domain-bits 3 --index 8
  expect_refused kg_xneg "--index must be an unsigned decimal integer" -- keygen --domain-bits 3 --index -1
  expect_refused kg_xfrac "--index must be an unsigned decimal integer" -- keygen --domain-bits 3 --index 1.5
  expect_refused kg_xbig "--index must be an unsigned decimal integer" -- keygen --domain-bits 32 --index 18446744073709551616
  expect_refused kg_x32 "--index 4294967296 is outside a domain of 32 bits" -- keygen --domain-bits 32 --index 4294967296
  expect_refused kg_seed "--seed must be an unsigned decimal integer" -- keygen --domain-bits 3 --index 1 --seed x
  expect_refused kg_noindex "--index is required" -- keygen --domain-bits 3
  expect_refused kg_nod "--domain-bits is required" -- keygen --index 3
  # info.
  expect_refused info_missing '--matrix-file' -- info --matrix-file missing.bin
  expect_refused info_required '--matrix-file is required' -- info
  # Usage errors are CLI11's: non-zero, never a crash.
  run usage -- answer --matrix-file "$MATRIX" --bogus
  check
  [ "$RC" -ne 0 ] && [ "$RC" -lt 128 ] || fail "unknown option: exit $RC"
}

case_keygen() {
  local re='^\{"party0":"0x[0-9a-f]{178}","party1":"0x[0-9a-f]{178}"\}$'
  expect_ok kg -- keygen --domain-bits 3 --index 5 --seed 7 || return
  check
  [ "$(wc -l <kg.out)" -eq 1 ] && grep -qE "$re" kg.out || fail "keygen format: $(cat kg.out)"
  expect_ok kg2 -- keygen --domain-bits 3 --index 5 --seed 7
  same_file same_seed kg.out kg2.out
  expect_ok kg3 -- keygen --domain-bits 3 --index 5 --seed 8
  check
  cmp -s kg.out kg3.out && fail "seeds 7 and 8 gave the same keys"
  expect_ok os1 -- keygen --domain-bits 3 --index 5
  expect_ok os2 -- keygen --domain-bits 3 --index 5
  check
  grep -qE "$re" os1.out || fail "keygen format without seed: $(cat os1.out)"
  check
  cmp -s os1.out os2.out && fail "two OS-seeded keygens gave the same keys"
  # Key bytes: root_seed | root_t | party | d | d * (seed_cw, t_l, t_r) | final_cw.
  local k0 k1
  k0=$(grep -oE '"party0":"0x[0-9a-f]*"' kg.out | cut -d'"' -f4)
  k1=$(grep -oE '"party1":"0x[0-9a-f]*"' kg.out | cut -d'"' -f4)
  check
  [ "${k0:34:6}" = "000003" ] && [ "${k1:34:6}" = "010103" ] || fail "root_t/party/d bytes: ${k0:34:6} ${k1:34:6}"
  check
  [ "${k0:40}" = "${k1:40}" ] || fail "parties differ in their correction words"
  expect_ok d1 -- keygen --domain-bits 1 --index 1 --seed 0
  check
  grep -qE '^\{"party0":"0x[0-9a-f]{106}","party1":"0x[0-9a-f]{106}"\}$' d1.out || fail "d = 1 format"
  expect_ok d32 -- keygen --domain-bits 32 --index 4294967295 --seed 18446744073709551615
  check
  grep -qE '^\{"party0":"0x[0-9a-f]{1222}","party1":"0x[0-9a-f]{1222}"\}$' d32.out || fail "d = 32 format"
}

case_info() {
  expect_ok info -- info --matrix-file "$MATRIX" || return
  local line
  for line in "pages: 6" "domain_bits: 3" "size_bytes: 24576" "file_bytes: 21480" "key_bytes: 89"; do
    check
    grep -qx "$line" info.out || fail "info lacks '$line': $(cat info.out)"
  done
  for line in matrix_file backend device concurrency kokkos_version; do
    check
    grep -qE "^$line: .+" info.out || fail "info lacks $line"
  done
  check
  grep -qvE '^[a-z_]+: ' info.out && fail "info: a line is not 'key: value'"
  expect_ok json -- info --matrix-file "$MATRIX" --json || return
  check
  [ "$(wc -l <json.out)" -eq 1 ] &&
    grep -qE '^\{"matrix_file":".*","pages":6,"domain_bits":3,"size_bytes":24576,"file_bytes":21480,"key_bytes":89,"backend":"[^"]+","device":"[^"]*",' json.out ||
    fail "info --json: $(cat json.out)"
  # A bigger matrix: 2^4 + 1 pages needs 5 bits.
  head -c $(( 16 * 4096 + 1 )) /dev/zero >big.bin
  expect_ok big -- info --matrix-file big.bin
  check
  grep -qx "domain_bits: 5" big.out && grep -qx "pages: 17" big.out || fail "info 17 pages: $(cat big.out)"
}

case_help() {
  local sub
  expect_ok top -- --help
  check
  grep -q "keygen" top.out && grep -q "answer" top.out && grep -q "info" top.out || fail "top help"
  for sub in keygen answer info; do
    expect_ok "$sub" -- "$sub" --help || continue
    check
    # The usage line: CLI11 < 2.5 starts it with "Usage: ", 2.5 and later print it bare.
    grep -qE "^(Usage: )?pagequery $sub \[OPTIONS\]" "$sub.out" || fail "$sub --help has no usage line"
  done
  for opt in --domain-bits --index --seed; do check; grep -q -- "$opt" keygen.out || fail "keygen help lacks $opt"; done
  for opt in --matrix-file --request --policy --streams --graph --tile --threshold --accumulate \
    MORPHOGEN_GPU_STREAMS; do
    check; grep -q -- "$opt" answer.out || fail "answer help lacks $opt"
  done
  for opt in --matrix-file --json; do check; grep -q -- "$opt" info.out || fail "info help lacks $opt"; done
  expect_ok sweep -- sweep --help
  for opt in --strategies --accumulate --dry-run; do check; grep -q -- "$opt" sweep.out || fail "sweep help lacks $opt"; done
}

case_env() {
  local A="answer --matrix-file $MATRIX --request $REQUEST"
  # An invalid env var is refused, naming the variable ...
  expect_refused streams_env "MORPHOGEN_GPU_STREAMS must be an integer in 1\\.\\.8, got '9'" MORPHOGEN_GPU_STREAMS=9 -- $A
  expect_refused graph_env "MORPHOGEN_GPU_CUDA_GRAPH must be one of" MORPHOGEN_GPU_CUDA_GRAPH=maybe -- $A
  expect_refused policy_env "MORPHOGEN_GPU_BATCH_POLICY must be one of" MORPHOGEN_GPU_BATCH_POLICY=bogus -- $A
  expect_refused tile_env "MORPHOGEN_GPU_BATCH_TILE_SIZE must be an integer in 1\\.\\.16" MORPHOGEN_GPU_BATCH_TILE_SIZE=0 -- $A
  expect_refused threshold_env "MORPHOGEN_GPU_BATCH_ADAPTIVE_THRESHOLD must be an integer in 1\\.\\.32" MORPHOGEN_GPU_BATCH_ADAPTIVE_THRESHOLD=x -- $A
  # ... unless the flag overrides it: the flag wins and the variable is not read.
  expect_ok streams_flag MORPHOGEN_GPU_STREAMS=9 -- $A --streams 2 && same_file streams_flag streams_flag.out "$RESPONSE"
  expect_ok graph_flag MORPHOGEN_GPU_CUDA_GRAPH=maybe -- $A --graph off && same_file graph_flag graph_flag.out "$RESPONSE"
  expect_ok policy_flag MORPHOGEN_GPU_BATCH_POLICY=bogus -- $A --policy latency && same_file policy_flag policy_flag.out "$RESPONSE"
  expect_ok tile_flag MORPHOGEN_GPU_BATCH_TILE_SIZE=0 -- $A --tile 8 && same_file tile_flag tile_flag.out "$RESPONSE"
  expect_ok threshold_flag MORPHOGEN_GPU_BATCH_ADAPTIVE_THRESHOLD=x -- $A --threshold 1 && same_file threshold_flag threshold_flag.out "$RESPONSE"
  # A flag overrides only its own variable.
  expect_refused other_env "MORPHOGEN_GPU_STREAMS" MORPHOGEN_GPU_STREAMS=9 -- $A --tile 4
  # A strategy name fixes every setting: no env var applies.
  expect_ok strategy_flag MORPHOGEN_GPU_STREAMS=9 MORPHOGEN_GPU_CUDA_GRAPH=maybe -- $A --policy multi_stream_4 &&
    same_file strategy_flag strategy_flag.out "$RESPONSE"
  # Valid env vars: same bytes.
  expect_ok valid_env MORPHOGEN_GPU_STREAMS=3 MORPHOGEN_GPU_CUDA_GRAPH=on MORPHOGEN_GPU_BATCH_POLICY=throughput \
    MORPHOGEN_GPU_BATCH_TILE_SIZE=1 MORPHOGEN_GPU_BATCH_ADAPTIVE_THRESHOLD=1 -- $A &&
    same_file valid_env valid_env.out "$RESPONSE"
}

case_policies() {
  # 11 queries (the fixture's two, alternating) and the expected response built from the fixture.
  local keys=($(fixture_keys)) all=() q r0 r1 expected results=""
  r0=$(grep -oE '\{"pages":\[[^]]*\]\}' "$RESPONSE" | sed -n 1p)
  r1=$(grep -oE '\{"pages":\[[^]]*\]\}' "$RESPONSE" | sed -n 2p)
  for q in $(seq 0 10); do
    if [ $((q % 2)) -eq 0 ]; then all+=("${keys[@]:0:3}"); results+="$r0"; else all+=("${keys[@]:3:3}"); results+="$r1"; fi
    [ "$q" -lt 10 ] && results+=","
  done
  request req11.json "${all[@]}"
  echo "{\"epoch_id\":0,\"results\":[$results]}" >expected11.json
  # 32 queries: the largest batch.
  local all32=() results32=""
  for q in $(seq 0 31); do
    if [ $((q % 2)) -eq 0 ]; then all32+=("${keys[@]:0:3}"); results32+="$r0"; else all32+=("${keys[@]:3:3}"); results32+="$r1"; fi
    [ "$q" -lt 31 ] && results32+=","
  done
  request req32.json "${all32[@]}"
  echo "{\"epoch_id\":0,\"results\":[$results32]}" >expected32.json
  request req1.json "${keys[@]:3:3}"
  echo "{\"epoch_id\":0,\"results\":[$r1]}" >expected1.json

  local variants=(
    "" "--policy latency" "--policy adaptive" "--policy throughput" "--policy fused"
    "--policy baseline_full_batch" "--policy adaptive_micro_batch" "--policy multi_stream_4"
    "--policy cuda_graph_replay" "--policy tiled_tile4" "--policy multi_stream_8"
    "--streams 4" "--streams 8" "--graph on" "--graph 1" "--tile 4" "--tile 1" "--tile 3"
    "--policy adaptive --threshold 2" "--policy adaptive --threshold 32"
    "--policy fused --graph yes" "--policy throughput --tile 1 --graph true"
    "--streams 3 --graph on" "--policy latency --tile 4 --graph on")
  local v i=0 n
  for v in "${variants[@]}"; do
    for n in 11 32 1; do
      expect_ok "v${i}_$n" -- answer --matrix-file "$MATRIX" --request "req$n.json" $v &&
        { same_file "[$v] $n queries" "v${i}_$n.out" "expected$n.json" || true; }
    done
    i=$((i + 1))
  done
}

case_accumulate() {
  local A="answer --matrix-file $MATRIX --request $REQUEST"
  local S="sweep --synthetic-pages 64 --batch-sizes 1 --iterations 1 --warmup 0 --seed 1 --output acc.h5"
  local graph="graph_replay runs only with --accumulate lop3"
  # A bad value is a usage error that names it, on both commands.
  expect_refused answer_bogus "--accumulate: unknown accumulation 'bogus' \\(expected lop3 or mma\\)" -- $A --accumulate bogus
  expect_refused sweep_bogus "--accumulate: unknown accumulation 'bogus' \\(expected lop3 or mma\\)" -- $S --accumulate bogus
  expect_refused answer_case "unknown accumulation 'MMA'" -- $A --accumulate MMA
  expect_refused sweep_dry_bogus "unknown accumulation 'x'" -- sweep --dry-run --accumulate x
  # lop3, the default, answers the fixture.
  expect_ok lop3 -- $A --accumulate lop3 && same_file lop3 lop3.out "$RESPONSE"
  # Graph replay cannot run on an mma engine. The check comes before the engine is built,
  # so every backend gives this message, not the engine's.
  expect_refused answer_graph "$graph.*--graph or MORPHOGEN_GPU_CUDA_GRAPH" -- $A --accumulate mma --policy cuda_graph_replay
  expect_refused answer_graph_flag "$graph.*--graph or MORPHOGEN_GPU_CUDA_GRAPH" -- $A --accumulate mma --graph on
  expect_refused answer_graph_env "$graph.*--graph or MORPHOGEN_GPU_CUDA_GRAPH" MORPHOGEN_GPU_CUDA_GRAPH=1 -- $A --accumulate mma
  expect_refused sweep_graph "--strategies: cuda_graph_replay: $graph" -- $S --accumulate mma --strategies cuda_graph_replay
  expect_refused sweep_graph_late "--strategies: cuda_graph_replay: $graph" -- $S --accumulate mma --strategies seed,cuda_graph_replay
  expect_refused sweep_graph_env "--strategies: env \\(MORPHOGEN_GPU_CUDA_GRAPH\\): $graph" MORPHOGEN_GPU_CUDA_GRAPH=on -- \
    $S --accumulate mma --strategies env
  check
  [ -e acc.h5 ] && fail "a refused sweep wrote acc.h5"
  # mma needs a CUDA GPU of compute capability 8.0 or newer; there it returns the same bytes.
  local backend
  backend=$("$PQ" info --matrix-file "$MATRIX" | sed -n 's/^backend: //p')
  run answer_mma -- $A --accumulate mma
  if [ "$backend" = Cuda ] && [ "$RC" -eq 0 ]; then
    same_file answer_mma answer_mma.out "$RESPONSE"
  else
    expect_refused answer_mma "--accumulate mma needs a CUDA GPU of compute capability 8\\.0 or newer" -- $A --accumulate mma
    # More streams win over graph (no replay): the engine is what refuses it.
    expect_refused answer_mma_streams "compute capability 8\\.0" -- $A --accumulate mma --streams 3 --graph on
    expect_refused sweep_mma "--accumulate mma needs a CUDA GPU of compute capability 8\\.0 or newer" -- \
      $S --accumulate mma --strategies fused
    check
    [ -e acc.h5 ] && fail "a refused sweep wrote acc.h5"
  fi
}

case "$CASE" in
  fixture | xor | refusals | keygen | info | help | env | policies | accumulate) "case_$CASE" ;;
  *) echo "unknown case '$CASE'" >&2; exit 2 ;;
esac

if [ "$FAILURES" -gt 0 ]; then
  echo "$CASE: $FAILURES of $CHECKS checks failed" >&2
  exit 1
fi
echo "$CASE: $CHECKS checks passed"
