#!/usr/bin/env bash
# Hardening, round 2 (issue 26; docs/hardening.md): the environment and the output, one case
# per ctest test.
#   hardening2_test.sh CASE PAGEQUERY DATA_DIR WORK_DIR
# Cases: stdout plot zero_cells threads libgomp tool_stdout.
set -uo pipefail

# shellcheck source=cli_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

RESULTS=$DATA/fixture_results.h5

# refused_to SINK NAME ARGS...: pagequery with stdout closed (SINK "closed") or on /dev/full:
# exit 2 and one line saying so. Before, every command but sweep exited 0 and the output was lost.
refused_to() {
  local sink=$1 name=$2; shift 2
  if [ "$sink" = closed ]; then
    timeout 60 "$PQ" "$@" </dev/null >&- 2>"$name.err"
  else
    timeout 60 "$PQ" "$@" </dev/null >/dev/full 2>"$name.err"
  fi
  RC=$?
  check
  if [ "$RC" -ne 2 ]; then
    fail "$name: exit $RC, expected 2; stderr: $(head -c 400 "$name.err")"
  elif [ "$(wc -l <"$name.err")" -ne 1 ] || ! grep -qE "^pagequery: .*cannot write to stdout" "$name.err"; then
    fail "$name: expected one 'cannot write to stdout' line: $(head -c 600 "$name.err")"
  fi
}

case_stdout() {
  local sink
  "$PQ" combine <(echo '{"epoch_id":0,"results":[]}') <(echo '{"epoch_id":0,"results":[]}') >/dev/null ||
    fail "combine of two empty responses"
  echo '{"epoch_id":0,"results":[]}' >empty.json
  for sink in closed full; do
    refused_to $sink "help_$sink" --help
    refused_to $sink "sweep_help_$sink" sweep --help
    refused_to $sink "keygen_$sink" keygen --domain-bits 3 --index 1
    refused_to $sink "answer_$sink" answer --matrix-file "$MATRIX" --request "$REQUEST"
    refused_to $sink "info_$sink" info --matrix-file "$MATRIX" --json
    refused_to $sink "combine_$sink" combine empty.json empty.json
    refused_to $sink "report_$sink" report "$RESULTS"
    refused_to $sink "report_csv_$sink" report "$RESULTS" --csv
    refused_to $sink "report_list_$sink" report "$RESULTS" --list
    refused_to $sink "dry_run_$sink" sweep --dry-run --synthetic-pages 8 --output "dry_$sink.h5"
  done
  # A closed stdout is never the descriptor of a file opened later: the run goes into the
  # results file, the markdown nowhere.
  timeout 120 "$PQ" sweep --synthetic-pages 8 --batch-sizes 1 --strategies fused --iterations 1 --warmup 0 \
    --output closed.h5 </dev/null >&- 2>sweep_closed.err
  RC=$?
  check
  [ "$RC" -eq 2 ] && grep -q "cannot write to stdout" sweep_closed.err ||
    fail "sweep with stdout closed: exit $RC: $(tail -c 400 sweep_closed.err)"
  expect_ok closed_report -- report closed.h5 && grep -q "fused" closed_report.out ||
    fail "the sweep's run is not in closed.h5"
}

case_plot() {
  expect_refused plot_dev_full "report --plot: '/dev/full' is not a regular file" -- report "$RESULTS" --plot /dev/full
  # An interpreter that exits 0 and draws nothing (the tables are printed before the plot).
  run plot_true PAGEQUERY_PYTHON=true -- report "$RESULTS" --plot nothing.png
  check
  [ "$RC" -eq 2 ] && [ "$(wc -l <plot_true.err)" -eq 1 ] &&
    grep -q "exited 0 but wrote no plot to 'nothing.png'" plot_true.err || fail "plot_true: exit $RC: $(cat plot_true.err)"
  check
  [ -e nothing.png ] && fail "a plot that nothing drew exists"
  local py
  for py in python3 /usr/bin/python3 ""; do
    [ -n "$py" ] && "$py" -c 'import h5py, matplotlib' 2>/dev/null && break
  done
  if [ -z "$py" ]; then
    echo "plot: no python3 with h5py and matplotlib; the drawn plots are skipped"
    return
  fi
  # The plot lands where --plot says, with or without an extension, and the message names it.
  expect_ok plot_noext PAGEQUERY_PYTHON="$py" -- report "$RESULTS" --plot noext
  check
  [ -s noext ] && [ ! -e noext.png ] && grep -q "plot written to noext$" plot_noext.err ||
    fail "--plot noext: $(ls) / $(cat plot_noext.err)"
  check
  head -c 8 noext | od -An -c | grep -q "P   N   G" || fail "noext is not a PNG"
}

case_zero_cells() {
  if [ "${PAGEQUERY_HAVE_KOKKOS_KERNELS:-1}" != 1 ]; then
    echo "zero_cells: no kokkos_kernels_gemm in this build; skipped"
    return
  fi
  local why="leave no cell to measure \\(kokkos_kernels_gemm takes Morphogen keys only"
  # Refused by the plan: under --dry-run too, and before Kokkos starts (no read floor).
  expect_refused zero_dry "$why" -- sweep --dry-run --dpf packed --strategies kokkos_kernels_gemm
  expect_refused zero_run "$why" -- sweep --dpf packed --strategies kokkos_kernels_gemm --output zero.h5
  check
  [ -e zero.h5 ] && fail "a refused sweep wrote zero.h5"
}

case_threads() {
  # libgomp keeps OMP_NUM_THREADS in 64 bits and hands it on as an int: 4294967296 was 0
  # threads (SIGSEGV), 4294967297 one. Every command refuses them alike. Without OpenMP
  # (a Serial-only build) no libgomp reads them: they change nothing.
  local n
  if [ "${PAGEQUERY_HAVE_OPENMP:-1}" != 1 ]; then
    expect_ok serial_ignores OMP_NUM_THREADS=4294967296 -- answer --matrix-file "$MATRIX" --request "$REQUEST" &&
      same_file serial_ignores serial_ignores.out "$RESPONSE"
    return
  fi
  for n in 4294967296 4294967297 "4294967297,2"; do
    expect_refused "answer_$n" "OMP_NUM_THREADS='$n': starts [0-9]+ threads; allowed" OMP_NUM_THREADS="$n" -- \
      answer --matrix-file "$MATRIX" --request "$REQUEST"
    expect_refused "info_$n" "OMP_NUM_THREADS='$n': starts" OMP_NUM_THREADS="$n" -- info --matrix-file "$MATRIX"
    expect_refused "sweep_$n" "OMP_NUM_THREADS='$n': starts" OMP_NUM_THREADS="$n" -- \
      sweep --dry-run --synthetic-pages 8 --output t.h5
  done
  expect_refused u64_max "OMP_NUM_THREADS='18446744073709551615': not a valid OpenMP setting" \
    OMP_NUM_THREADS=18446744073709551615 -- info --matrix-file "$MATRIX"
  expect_ok threads_2 OMP_NUM_THREADS=2 -- answer --matrix-file "$MATRIX" --request "$REQUEST" &&
    same_file threads_2 threads_2.out "$RESPONSE"
}

case_libgomp() {
  # Whatever libgomp warns about while it loads (and then ignores) is refused in one line
  # naming the variable: its own wording never reaches stderr. (The caller's OpenMP settings
  # stay out: with OMP_PROC_BIND=false libgomp never reads OMP_PLACES.)
  unset $(compgen -e | grep -E '^G?OMP_')
  local spec var value
  if [ "${PAGEQUERY_HAVE_OPENMP:-1}" != 1 ]; then
    echo "libgomp: a build without OpenMP loads no libgomp; skipped"
    return
  fi
  for spec in "OMP_SCHEDULE=bogus" "OMP_SCHEDULE=static,x" "GOMP_CPU_AFFINITY=bogus" "OMP_STACKSIZE=1" \
    "GOMP_STACKSIZE=1" "OMP_PLACES=bogus" "OMP_PLACES={9999}" "OMP_PROC_BIND=x" "OMP_WAIT_POLICY=x"; do
    var=${spec%%=*} value=${spec#*=}
    expect_refused "answer_$var" "$var='$(printf '%s' "$value" | sed 's/[{}.]/\\&/g')': not a valid OpenMP setting \\(libgomp: " \
      "$spec" -- answer --matrix-file "$MATRIX" --request "$REQUEST"
    expect_refused "sweep_$var" "$var=" "$spec" -- sweep --dry-run --synthetic-pages 8 --output g.h5
  done
  expect_ok schedule_ok OMP_SCHEDULE=dynamic,4 OMP_STACKSIZE=8M OMP_PLACES=cores -- \
    answer --matrix-file "$MATRIX" --request "$REQUEST" && same_file schedule_ok schedule_ok.out "$RESPONSE"
}

case_tool_stdout() {
  # A Kokkos tool (KOKKOS_TOOLS_LIBS) whose constructor prints on stdout: loaded before Kokkos
  # starts, its line went ahead of `info --json`. Stdout is the command's output alone.
  if ! command -v cc >/dev/null; then
    echo "tool_stdout: no C compiler; skipped"
    return
  fi
  printf '%s\n' '#include <stdio.h>' '#include <stdint.h>' \
    '__attribute__((constructor)) static void hello(void) { printf("TOOL CONSTRUCTOR\n"); }' \
    'void kokkosp_init_library(int s, uint64_t v, uint32_t n, void* d) { puts("TOOL INIT"); }' >tool.c
  cc -shared -fPIC tool.c -o libtool_ctor.so || { fail "cannot build the tool"; return; }
  expect_ok info_json KOKKOS_TOOLS_LIBS="$WORK/libtool_ctor.so" -- info --matrix-file "$MATRIX" --json
  check
  python3 -c 'import json, sys; json.load(open(sys.argv[1]))' info_json.out 2>/dev/null ||
    fail "info --json: stdout is not one JSON object: $(head -c 300 info_json.out)"
  check
  grep -q "TOOL CONSTRUCTOR" info_json.err || fail "the tool's constructor output went nowhere"
  # Preloaded, the constructor runs before main(): its line goes to stderr as well.
  # (ASan refuses a library preloaded ahead of its runtime: not in sanitizer builds.)
  if ldd "$PQ" | grep -q libasan; then
    echo "tool_stdout: an ASan build; the preloaded case is skipped"
    return
  fi
  expect_ok preload LD_PRELOAD="$WORK/libtool_ctor.so" -- keygen --domain-bits 3 --index 1
  check
  grep -q "TOOL CONSTRUCTOR" preload.out && fail "a preloaded library's line reached stdout"
}

case "$CASE" in
  stdout | plot | zero_cells | threads | libgomp | tool_stdout) "case_$CASE" ;;
  *) echo "unknown case '$CASE'" >&2; exit 2 ;;
esac

finish
