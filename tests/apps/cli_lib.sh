#!/usr/bin/env bash
# What the CLI test scripts share (sourced by cli_test.sh and hardening2_test.sh, which are run
# as SCRIPT CASE PAGEQUERY DATA_DIR WORK_DIR): the arguments, a fresh work directory, and
# helpers that run the binary and check its exit code, stdout and stderr.
if [ $# -ne 4 ]; then
  echo "usage: $0 CASE PAGEQUERY DATA_DIR WORK_DIR" >&2
  exit 2
fi
CASE=$1 PQ=$2 DATA=$3 WORK=$4
MATRIX=$DATA/fixture_matrix.bin
REQUEST=$DATA/fixture_request.json
RESPONSE=$DATA/fixture_response.json
PACKED_REQUEST=$DATA/fixture_request_packed.json
PACKED_RESPONSE=$DATA/fixture_response_packed.json
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
# exit status in RC. Stdin is /dev/null unless STDIN names a file; ULIMIT_V (KiB) bounds its
# virtual memory. A run that takes over a minute (a hang) is killed: RC 124.
run() {
  local name=$1; shift
  local envs=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  (
    [ -n "${ULIMIT_V:-}" ] && ulimit -v "$ULIMIT_V"
    [ -n "${CGROUP:-}" ] && { echo "$BASHPID" >"$CGROUP/cgroup.procs" || exit 125; }
    exec timeout 60 env ${envs[@]+"${envs[@]}"} "$PQ" "$@" <"${STDIN:-/dev/null}" >"$name.out" 2>"$name.err"
  )
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

# keygen_key D X PARTY [SEED]: one key's hex (with 0x) from pagequery keygen;
# FORMAT=packed in the environment makes packed keys (D: leaf bits).
keygen_key() {
  local args=(keygen --format "${FORMAT:-morphogen}" --domain-bits "$1" --index "$2")
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

# finish: the summary line; exit 1 when a check failed.
finish() {
  if [ "$FAILURES" -gt 0 ]; then
    echo "$CASE: $FAILURES of $CHECKS checks failed" >&2
    exit 1
  fi
  echo "$CASE: $CHECKS checks passed"
}
