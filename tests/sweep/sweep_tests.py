#!/usr/bin/env python3
"""CLI tests of `pagequery sweep` / `pagequery report` (run by ctest, one case each).

    sweep_tests.py CASE --pagequery BIN --sbatch apps/slurm/sweep.sbatch --workdir DIR

Exit 0: pass, 1: fail, 77: skipped (h5py or matplotlib missing in this python3).
"""
import csv
import hashlib
import io
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

# Whether the build has the kokkos_kernels_gemm strategy (set by ctest from the CMake option).
KOKKOS_KERNELS = os.environ.get("PAGEQUERY_HAVE_KOKKOS_KERNELS", "1") == "1"

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from testsupport import (SKIP, Failure, binary_for, check, expanded_argv, logical_lines, need_h5py, text,  # noqa: E402
                         sweep_driver_main)


# 3 strategies x 2 batch sizes x 2 concurrency values = 12 cells, in seconds.
TINY = ["--synthetic-pages", "300", "--batch-sizes", "1,3",
        "--strategies", "fused,baseline_full_batch,multi_stream_2",
        "--iterations", "2", "--warmup", "0", "--concurrency", "1,2", "--seed", "7"]
TINY_CELLS = 12
SMALL = ["--synthetic-pages", "64", "--batch-sizes", "2", "--strategies", "fused,tiled_tile4",
         "--iterations", "2", "--warmup", "0", "--concurrency", "1", "--seed", "3"]


class Ctx:
    def __init__(self, args):
        self.bin = args.pagequery
        self.hooks = args.pagequery_hooks
        self.sbatch = args.sbatch
        self.dir = args.workdir
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)

    def path(self, name):
        return os.path.join(self.dir, name)

    def run(self, *args, env=None, expect=None, timeout=120):
        full_env = dict(os.environ)
        for k in list(full_env):
            if k.startswith("MORPHOGEN_GPU_") or k.startswith("PAGEQUERY_TEST_") or k.startswith("SLURM_"):
                del full_env[k]
        full_env.setdefault("OMP_NUM_THREADS", "2")
        full_env.setdefault("OMP_PROC_BIND", "false")
        full_env.update(env or {})
        p = subprocess.run([binary_for(self, env), *args], cwd=self.dir, env=full_env, capture_output=True,
                           text=True, timeout=timeout)
        if expect is not None and p.returncode != expect:
            raise Failure(f"{' '.join(args)}: exit {p.returncode}, expected {expect}\n"
                          f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        return p


def one_line_error(p, pattern):
    lines = p.stderr.strip("\n").split("\n")
    check(len(lines) == 1, f"expected one stderr line, got {lines!r}")
    check(re.search(pattern, lines[0]), f"stderr {lines[0]!r} does not match {pattern!r}")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def snapshot_run(h5py, path, run):
    """Everything of one run, as plain Python values (to compare before/after)."""
    with h5py.File(path, "r") as f:
        g = f["runs"][run]
        attrs = {k: repr(g.attrs[k]) for k in g.attrs}
        return attrs, g["cells"][()].tolist(), g["samples"][()].tolist()


def h5dump_ok(path):
    if shutil.which("h5dump") is None:
        return
    p = subprocess.run(["h5dump", path], capture_output=True, text=True)
    check(p.returncode == 0, f"h5dump {path} failed: {p.stderr}")


# ------------------------------------------------------------------ cases

def case_roundtrip(ctx):
    h5py = need_h5py()
    import numpy as np
    out = ctx.path("r.h5")
    env = {"SLURM_JOB_ID": "4242", "SLURM_JOB_NODELIST": "gpu[01-02]", "MORPHOGEN_GPU_STREAMS": "4"}
    p = ctx.run("sweep", *TINY, "--output", out, env=env, expect=0)
    for title in ("Batch-vs-single speedup", "Batch latency", "Batch throughput"):
        check(p.stdout.count(title) == 2, f"{title!r} should appear once per concurrency:\n{p.stdout}")
    check("| Q | fused | baseline_full_batch | multi_stream_2 |" in p.stdout, p.stdout)
    check(f"`checksum_match=1` for all {TINY_CELLS} rows" in p.stdout, p.stdout)
    progress = [l for l in p.stderr.splitlines() if l.startswith("[cell ")]
    check(len(progress) == TINY_CELLS, f"one progress line per cell when stderr is no tty:\n{p.stderr}")
    check(re.match(r"\[cell 1/12\] fused Q=1 C=1 ETA \?", progress[0]), progress[0])
    check(re.match(r"\[cell 12/12\] multi_stream_2 Q=3 C=2 ETA \d+s", progress[-1]), progress[-1])
    # auto, the default, runs lop3 on the host backends this suite runs on; the record says lop3.
    check("; accumulate lop3 (auto); writing " in p.stderr, f"the header names the accumulation:\n{p.stderr}")
    check("\n- accumulate: lop3\n" in p.stdout, p.stdout)

    with h5py.File(out, "r") as f:
        check(text(f.attrs["format"]) == "pagequery-sweep-results", "root format attribute")
        runs = list(f["runs"])
        check(len(runs) == 1 and re.fullmatch(r"\d{8}T\d{6}Z", runs[0]), f"run ids {runs}")
        g = f["runs"][runs[0]]
        a = g.attrs
        check(text(a["status"]) == "complete", f"status {a['status']}")
        check(int(a["cells_done"]) == TINY_CELLS and int(a["cells_planned"]) == TINY_CELLS, "cell counts")
        check(int(a["pages"]) == 300 and int(a["domain_bits"]) == 9, "pages / domain bits")
        check(int(a["size_bytes"]) == 300 * 4096, "size_bytes")
        check(int(a["iterations"]) == 2 and int(a["warmup"]) == 0 and int(a["seed"]) == 7, "settings")
        check(list(a["batch_sizes"]) == [1, 3] and list(a["concurrency"]) == [1, 2], "axes")
        check([text(s) for s in a["strategies"]] == ["fused", "baseline_full_batch", "multi_stream_2"],
              f"strategies {a['strategies']}")
        check("--synthetic-pages 300" in text(a["command_line"]), text(a["command_line"]))
        check(text(a["slurm_job_id"]) == "4242" and text(a["slurm_job_nodelist"]) == "gpu[01-02]", "slurm")
        check(text(a["env_switches"]) == "MORPHOGEN_GPU_STREAMS=4", f"env {a['env_switches']}")
        check(text(a["accumulate"]) == "lop3", f"accumulate {a['accumulate']}")
        check([text(x) for x in a["dpf"]] == ["morphogen"], f"dpf {a['dpf']}")
        check(a["read_floor_ms"] > 0 and a["read_floor_gbs"] > 0 and 5 <= int(a["read_floor_repetitions"]) <= 1000,
              "read floor attributes")
        read_floor_ms = float(a["read_floor_ms"])
        check(text(a["MORPHOGEN_GPU_STREAMS"]) == "4", "env switch attribute")
        for key in ("git_revision", "device", "kokkos_version", "kokkos_backend", "host", "matrix_source",
                    "started_utc", "strategy_configs"):
            check(text(a[key]) != "", f"attribute {key} is empty")
        cells = g["cells"][()]
        samples = g["samples"][()]
    check(len(cells) == TINY_CELLS, f"{len(cells)} cells")
    check(len(samples) == TINY_CELLS * 2 * 3, f"{len(samples)} samples")  # single, batch, batch device
    check(all(cells["checksum_match"] == 1), "checksum_match")
    check(all(text(d) == "morphogen" for d in cells["dpf"]), "dpf column")
    check(all(cells["single_checksum"] == cells["batch_checksum"]), "checksums equal")
    # Same queries for every strategy of a (Q, C): the same bytes.
    for q in (1, 3):
        for c in (1, 2):
            sel = (cells["queries"] == q) & (cells["concurrency"] == c)
            check(len(set(cells["single_checksum"][sel].tolist())) == 1, f"Q={q} C={c} checksums differ")
    for i, row in enumerate(cells):
        for path, prefix in ((0, "single_ms"), (1, "batch_ms"), (2, "batch_device_ms")):
            ms = np.sort(samples["ms"][(samples["cell"] == i) & (samples["path"] == path)])
            check(len(ms) == 2, "two samples per path")
            # Two samples: the median's interval is [min, max], the noise half of it.
            check(row[f"{prefix}_median_ci_low"] == ms[0] and row[f"{prefix}_median_ci_high"] == ms[-1],
                  "median interval")
            check(np.isclose(row[f"{prefix}_noise_pct"], (ms[-1] - ms[0]) / 2 / np.median(ms) * 100), "noise")
            check(row[f"{prefix}_min"] == ms[0] and row[f"{prefix}_max"] == ms[-1], "min/max")
            check(np.isclose(row[f"{prefix}_mean"], ms.mean(), rtol=1e-12), "mean")
            check(np.isclose(row[f"{prefix}_median"], np.median(ms), rtol=1e-12), "median")
            check(np.isclose(row[f"{prefix}_stddev"], ms.std(ddof=1), rtol=1e-9, atol=1e-12), "stddev")
        qc = row["queries"] * row["concurrency"]
        check(np.isclose(row["batch_qps"], qc / (row["batch_ms_mean"] / 1e3)), "batch_qps")
        check(np.isclose(row["single_qps"], qc / (row["single_ms_mean"] / 1e3)), "single_qps")
        check(np.isclose(row["speedup"], row["single_ms_mean"] / row["batch_ms_mean"]), "speedup")
        check(np.isclose(row["bandwidth_gbs"], 300 * 4096 * qc / (row["single_ms_mean"] / 1e3) / 1e9),
              "bandwidth")
    fused_c2 = cells[(cells["concurrency"] == 2)]
    check(text(fused_c2["strategy"][0]) == "fused", "cell order: concurrency, strategy, Q")

    # report --csv gives back exactly what h5py reads.
    p = ctx.run("report", out, "--csv", expect=0)
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    check(len(rows) == TINY_CELLS, f"{len(rows)} csv rows")
    for row, cell in zip(rows, cells):
        check(row["run"] == runs[0], "csv run column")
        check(row["accumulate"] == "lop3", f"csv accumulate column {row['accumulate']}")
        check(float(row["read_floor_ms"]) == read_floor_ms, f"csv read_floor_ms column {row['read_floor_ms']}")
        for name in cells.dtype.names:
            v = cell[name]
            if name in ("strategy", "mode", "dpf"):
                check(row[name] == text(v), f"{name}: {row[name]} != {v}")
            elif name.endswith("checksum"):
                check(int(row[name], 16) == int(v), f"{name}: {row[name]} != {v}")
            elif cells.dtype[name].kind == "f":
                check(float(row[name]) == float(v), f"{name}: {row[name]} != {v!r}")
            else:
                check(int(row[name]) == int(v), f"{name}: {row[name]} != {v}")
    # The markdown report prints the sweep's tables again.
    p2 = ctx.run("report", out, expect=0)
    check(p2.stdout.startswith(f"## pagequery sweep {runs[0]}"), p2.stdout[:200])
    check("\n- accumulate: lop3\n- dpf: morphogen\n- read floor: " in p2.stdout, p2.stdout)
    check(p2.stdout.count("### Read-floor multiple") == 2, p2.stdout)  # once per concurrency
    tables = p.stdout  # noqa: F841
    sweep_tables = ctx_tables(ctx.run("report", out, "--run", runs[0], expect=0).stdout)
    check(sweep_tables == ctx_tables(p2.stdout), "report --run = default run")
    p3 = ctx.run("report", out, "--list", expect=0)
    check(p3.stdout.startswith(runs[0] + "  complete  12 cells  lop3  "), p3.stdout)
    h5dump_ok(out)
    leftovers = sorted(os.listdir(ctx.dir))
    check(leftovers == ["r.h5"], f"files left: {leftovers}")  # no lock file stays behind


def ctx_tables(markdown):
    return markdown[markdown.index("### "):]


def case_append(ctx):
    h5py = need_h5py()
    out = ctx.path("a.h5")
    ctx.run("sweep", *SMALL, "--output", out, expect=0)
    with h5py.File(out, "r") as f:
        first = list(f["runs"])[0]
    before = snapshot_run(h5py, out, first)
    small_q12 = [("1,2" if a == "2" and SMALL[i - 1] == "--batch-sizes" else a) for i, a in enumerate(SMALL)]
    ctx.run("sweep", *small_q12, "--output", out, expect=0)
    with h5py.File(out, "r") as f:
        runs = list(f["runs"])
    check(len(runs) == 2 and first in runs, f"runs {runs}")
    second = [r for r in runs if r != first][0]
    check(second == first + "-2" or second > first, f"second run id {second} after {first}")
    check(snapshot_run(h5py, out, first) == before, "the first run changed")
    with h5py.File(out, "r") as f:
        check(len(f["runs"][second]["cells"]) == 4, "second run cells")
    # report: latest by default, either by --run.
    p = ctx.run("report", out, "--csv", expect=0)
    check(all(line.startswith(second + ",") for line in p.stdout.splitlines()[1:]), p.stdout)
    p = ctx.run("report", out, "--csv", "--run", first, expect=0)
    check(len(p.stdout.splitlines()) == 1 + 2, p.stdout)
    # Same second, same id: a suffix keeps both (three runs within a second or two).
    ctx.run("sweep", *SMALL, "--output", out, expect=0)
    with h5py.File(out, "r") as f:
        check(len(f["runs"]) == 3, f"three runs: {list(f['runs'])}")
    p = ctx.run("report", out, "--list", expect=0)
    check(len(p.stdout.splitlines()) == 3, p.stdout)
    p = ctx.run("sweep", "--dry-run", "--output", out, expect=0)
    check(f"output: {out} (appends; 3 runs there)" in p.stdout, p.stdout)
    h5dump_ok(out)


def case_abort_midwrite(ctx):
    h5py = need_h5py()
    out = ctx.path("k.h5")
    # A fresh file whose first commit dies: no results file appears at all.
    p = ctx.run("sweep", *SMALL, "--output", out, env={"PAGEQUERY_TEST_FAIL_AFTER_CELLS": "1"})
    check(p.returncode == -signal.SIGABRT, f"expected SIGABRT, got {p.returncode}: {p.stderr}")
    check(not os.path.exists(out), "a half-written file replaced nothing, so none may exist")

    ctx.run("sweep", *SMALL, "--output", out, expect=0)
    with h5py.File(out, "r") as f:
        first = list(f["runs"])[0]
    before = snapshot_run(h5py, out, first)
    digest = sha256(out)
    # Dies in the middle of its first commit: the file is untouched, byte for byte.
    p = ctx.run("sweep", *TINY, "--output", out, env={"PAGEQUERY_TEST_FAIL_AFTER_CELLS": "1"})
    check(p.returncode == -signal.SIGABRT, f"expected SIGABRT, got {p.returncode}: {p.stderr}")
    check(sha256(out) == digest, "the results file changed although no commit finished")
    # Checkpoints after cells 1 and 2 land, the third commit dies midway.
    p = ctx.run("sweep", *TINY, "--checkpoint-interval", "0", "--output", out,
                env={"PAGEQUERY_TEST_FAIL_AFTER_CELLS": "3"})
    check(p.returncode == -signal.SIGABRT, f"expected SIGABRT, got {p.returncode}: {p.stderr}")
    with h5py.File(out, "r") as f:
        runs = list(f["runs"])
        check(len(runs) == 2, f"runs {runs}")
        partial = [r for r in runs if r != first][0]
        g = f["runs"][partial]
        check(text(g.attrs["status"]) == "incomplete", f"status {g.attrs['status']}")
        check(int(g.attrs["cells_done"]) == 2 and len(g["cells"]) == 2, "two checkpointed cells")
        check(len(g["samples"]) == 2 * 2 * 3, "their samples")  # single, batch, batch device
    check(snapshot_run(h5py, out, first) == before, "the complete run changed")
    h5dump_ok(out)
    p = ctx.run("report", out, "--run", partial, expect=0)
    check("incomplete (2 of 12 cells)" in p.stdout, p.stdout)
    # The next sweep appends to the recovered file as usual.
    ctx.run("sweep", *SMALL, "--output", out, expect=0)
    with h5py.File(out, "r") as f:
        check(len(f["runs"]) == 3, "appends after a crash")


def case_mismatch(ctx):
    h5py = need_h5py()
    out = ctx.path("m.h5")
    p = ctx.run("sweep", *SMALL, "--output", out, env={"PAGEQUERY_TEST_FLIP_BATCH_BYTE": "1"}, expect=1)
    check("checksum mismatch" in p.stderr.splitlines()[-1], p.stderr)
    check("`checksum_match=0` for 2 of 2 rows" in p.stdout, p.stdout)
    with h5py.File(out, "r") as f:
        g = f["runs"][list(f["runs"])[0]]
        check(text(g.attrs["status"]) == "checksum_mismatch", "status")
        cells = g["cells"][()]
        check(all(cells["checksum_match"] == 0), "checksum_match must be 0")
        check(all(cells["single_checksum"] != cells["batch_checksum"]), "checksums must differ")


def case_interrupt(ctx):
    h5py = need_h5py()
    out = ctx.path("i.h5")
    args = ["--synthetic-pages", "300", "--batch-sizes", ",".join(str(q) for q in range(1, 33)),
            "--strategies", "fused,baseline_full_batch,tiled_tile4", "--iterations", "20", "--warmup", "0",
            "--seed", "1", "--output", out]
    env = dict(os.environ, OMP_NUM_THREADS="2", OMP_PROC_BIND="false")
    proc = subprocess.Popen([ctx.bin, "sweep", *args], cwd=ctx.dir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not os.path.exists(out) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    if proc.poll() is not None:
        raise Failure(f"the sweep ended before it could be interrupted: {proc.communicate()}")
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    check(proc.returncode == 1, f"exit {proc.returncode}: {stderr}")
    check("interrupted by SIGTERM" in stderr.splitlines()[-1], stderr)
    with h5py.File(out, "r") as f:
        g = f["runs"][list(f["runs"])[0]]
        check(text(g.attrs["status"]) == "interrupted by SIGTERM", f"status {g.attrs['status']}")
        n = len(g["cells"])
        check(1 <= n < 96 and int(g.attrs["cells_done"]) == n, f"{n} cells")
    check("Batch throughput" in stdout, "the partial run's tables are printed")


def case_report_errors(ctx):
    h5py = need_h5py()
    p = ctx.run("report", ctx.path("missing.h5"), expect=2)
    one_line_error(p, r"missing\.h5: no such file")
    with open(ctx.path("text.h5"), "w") as f:
        f.write("not hdf5\n")
    p = ctx.run("report", ctx.path("text.h5"), expect=2)
    one_line_error(p, r"text\.h5: not an HDF5 file")
    with h5py.File(ctx.path("other.h5"), "w") as f:
        f["x"] = [1, 2, 3]
    p = ctx.run("report", ctx.path("other.h5"), expect=2)
    one_line_error(p, r"other\.h5: an HDF5 file without a /runs group")
    # An empty, truncated file: not HDF5 either.
    open(ctx.path("empty.h5"), "w").close()
    p = ctx.run("report", ctx.path("empty.h5"), expect=2)
    one_line_error(p, r"not an HDF5 file")
    out = ctx.path("ok.h5")
    ctx.run("sweep", *SMALL, "--output", out, expect=0)
    p = ctx.run("report", out, "--run", "19990101T000000Z", expect=2)
    one_line_error(p, r"no run '19990101T000000Z' \(runs: \d{8}T\d{6}Z\)")
    # A corrupt copy (the superblock survives, the rest is garbage).
    with open(out, "rb") as f:
        data = bytearray(f.read())
    for i in range(64, len(data)):
        data[i] = 0xA5
    with open(ctx.path("corrupt.h5"), "wb") as f:
        f.write(data)
    p = ctx.run("report", ctx.path("corrupt.h5"), expect=2)
    one_line_error(p, r"corrupt\.h5: ")
    # The sweep refuses to append to what is not a results file, before measuring.
    digest = sha256(ctx.path("text.h5"))
    p = ctx.run("sweep", *SMALL, "--output", ctx.path("text.h5"), expect=2)
    one_line_error(p, r"not an HDF5 file")
    check(sha256(ctx.path("text.h5")) == digest, "the text file was modified")
    p = ctx.run("sweep", *SMALL, "--output", ctx.path("other.h5"), expect=2)
    one_line_error(p, r"without a /runs group")
    p = ctx.run("sweep", *SMALL, "--output", ctx.path("no/such/dir/x.h5"), expect=2)
    one_line_error(p, r"does not exist")


def case_cli_errors(ctx):
    p = ctx.run("sweep", "--dry-run", expect=0)
    check("4096 pages, d = 12, 16777216 bytes" in p.stdout, p.stdout)
    check("cells: 36" in p.stdout, p.stdout)  # (the seed's 5 strategies + fused) x 6 batch sizes
    check("[cell 36/36] fused Q=32 C=1" in p.stdout, p.stdout)
    check(re.search(r"output: pagequery-sweep-\d{8}T\d{6}Z\.h5 \(a new file\)", p.stdout), p.stdout)
    # auto, the default: a dry run starts no device, so it says what decides, never a bare "auto".
    accumulate = re.search(r"\naccumulate: (.*)\n", p.stdout)
    check(accumulate and "auto" in accumulate[1] and accumulate[1] != "auto", p.stdout)
    check(os.listdir(ctx.dir) == [], f"a dry run wrote {os.listdir(ctx.dir)}")
    p = ctx.run("sweep", "--dry-run", "--strategies", "fused", expect=0)
    check("\naccumulate: auto (mma on a CUDA GPU of compute capability 8.0+, else lop3: the device decides, "
          "and a dry run does not ask it)\n" in p.stdout, p.stdout)
    p = ctx.run("sweep", "--dry-run", "--strategies", "fused", "--accumulate", "lop3", expect=0)
    check("\naccumulate: lop3\n" in p.stdout, p.stdout)
    if KOKKOS_KERNELS:  # auto with a lop3-only strategy keeps it, and runs lop3
        p = ctx.run("sweep", "--dry-run", "--strategies", "fused,kokkos_kernels_gemm", expect=0)
        check("\naccumulate: lop3 (auto: kokkos_kernels_gemm runs only with lop3)\n" in p.stdout, p.stdout)
    # mma runs the default list whole (graph replay captures the tensor-core launches).
    p = ctx.run("sweep", "--dry-run", "--accumulate", "mma", expect=0)
    check("\naccumulate: mma\n" in p.stdout, p.stdout)
    check("cells: 36" in p.stdout and "] cuda_graph_replay " in p.stdout, p.stdout)
    # all = the seed's five, throughput, fused and (in a build with Kokkos Kernels)
    # kokkos_kernels_gemm, which mma leaves out.
    p = ctx.run("sweep", "--dry-run", "--accumulate", "mma", "--strategies", "all,seed", expect=0)
    check("cells: 42" in p.stdout, p.stdout)
    check(("(kokkos_kernels_gemm left out" in p.stdout) == KOKKOS_KERNELS, p.stdout)
    p = ctx.run("sweep", "--dry-run", "--strategies", "seed", expect=0)
    check("cells: 30" in p.stdout and "] fused " not in p.stdout, p.stdout)  # the seed's five alone
    p = ctx.run("sweep", "--dry-run", "--strategies", "all", expect=0)
    last = "[cell 48/48] kokkos_kernels_gemm Q=32 C=1" if KOKKOS_KERNELS else "[cell 42/42] fused Q=32 C=1"
    check(last in p.stdout, p.stdout)
    p = ctx.run("sweep", "--dry-run", "--accumulate", "mma", "--strategies", "fused", expect=0)
    check("\naccumulate: mma\n" in p.stdout, p.stdout)
    p = ctx.run("sweep", "--dry-run", "--strategies", "env,all", "--synthetic-gib", "1",
                env={"MORPHOGEN_GPU_STREAMS": "2"}, expect=0)
    check("262144 pages, d = 18" in p.stdout, p.stdout)
    check("env Q=1 C=1 (policy=adaptive streams=2" in p.stdout, p.stdout)
    check(f"cells: {54 if KOKKOS_KERNELS else 48}" in p.stdout, p.stdout)  # env + all
    refusals = [
        (["--strategies", "bogus"], r"unknown strategy 'bogus'"),
        (["--strategies", "fused,,seed"], r"--strategies: empty item"),
        (["--batch-sizes", "0"], r"--batch-sizes: .*1\.\.32, got '0'"),
        (["--batch-sizes", "33"], r"--batch-sizes: .*got '33'"),
        (["--batch-sizes", "2,2"], r"listed twice"),
        (["--concurrency", "0"], r"--concurrency"),
        (["--iterations", "0"], r"--iterations"),
        (["--warmup", "x"], r"--warmup"),
        (["--synthetic-gib", "-1"], r"--synthetic-gib"),
        (["--synthetic-pages", "0"], r"--synthetic-pages"),
        (["--fill", "zeros"], r"--fill"),
        (["--matrix-file", ctx.path("nope.bin")], r"--matrix-file: "),
        (["--checkpoint-interval", "-3"], r"--checkpoint-interval"),
        (["--accumulate", "bogus"], r"--accumulate: unknown accumulation 'bogus' \(expected lop3, mma or auto\)"),
        (["--dpf", "dense"], r"--dpf: unknown DPF key format 'dense' \(expected morphogen or packed\)"),
        (["--dpf", "packed,morphogen,packed"], r"--dpf: packed is listed twice"),
        (["--dpf", "packed,"], r"--dpf: empty item"),
        (["--dpf", "packed", "--batch-sizes", "257"], r"--batch-sizes: .*1\.\.256, got '257'"),
        (["--dpf", "morphogen", "--batch-sizes", "64"], r"--batch-sizes: .*1\.\.32, got '64'"),
    ]
    for extra, pattern in refusals:
        p = ctx.run("sweep", "--dry-run", *extra)
        check(p.returncode == 2, f"{extra}: exit {p.returncode} {p.stderr}")
        one_line_error(p, pattern)
    # A dry run checks the output as a real run would.
    with open(ctx.path("notes.txt"), "w") as f:
        f.write("not a results file\n")
    p = ctx.run("sweep", "--dry-run", "--output", ctx.path("notes.txt"), expect=2)
    one_line_error(p, r"--output .*notes\.txt: exists and is not an HDF5 file")
    # A bad MORPHOGEN_GPU_* value is refused before anything runs.
    p = ctx.run("sweep", *SMALL, "--output", ctx.path("x.h5"), env={"MORPHOGEN_GPU_STREAMS": "many"}, expect=2)
    one_line_error(p, r"MORPHOGEN_GPU_STREAMS")
    check(not os.path.exists(ctx.path("x.h5")), "nothing written")


def case_dpf(ctx):
    """--dpf morphogen,packed: packed cells up to Q = 256 (Morphogen's stop at 32), each cell's
    format in the dpf column, the read floor in the run, both in the report."""
    h5py = need_h5py()
    out = ctx.path("d.h5")
    args = ["--synthetic-pages", "300", "--batch-sizes", "1,33", "--strategies", "fused,baseline_full_batch",
            "--dpf", "morphogen,packed", "--iterations", "1", "--warmup", "0", "--seed", "5"]
    p = ctx.run("sweep", "--dry-run", *args, expect=0)
    check("\ndpf: morphogen,packed (morphogen cells stop at Q = 32)\n" in p.stdout, p.stdout)
    check("cells: 6" in p.stdout and "[cell 6/6] baseline_full_batch (packed) Q=33 C=1" in p.stdout, p.stdout)
    p = ctx.run("sweep", *args, "--output", out, expect=0)
    check("pagequery sweep: read floor " in p.stderr, p.stderr)
    check("| Q | fused | baseline_full_batch | fused (packed) | baseline_full_batch (packed) |" in p.stdout, p.stdout)
    check("| 33 | - | - |" in p.stdout, p.stdout)
    check("`checksum_match=1` for all 6 rows" in p.stdout, p.stdout)
    with h5py.File(out, "r") as f:
        g = f["runs"][list(f["runs"])[0]]
        cells = g["cells"][()]
        check([text(x) for x in g.attrs["dpf"]] == ["morphogen", "packed"], g.attrs["dpf"])
        floor = float(g.attrs["read_floor_ms"])
    shape = [(text(c["dpf"]), text(c["strategy"]), int(c["queries"])) for c in cells]
    check(shape == [("morphogen", "fused", 1), ("morphogen", "baseline_full_batch", 1), ("packed", "fused", 1),
                    ("packed", "fused", 33), ("packed", "baseline_full_batch", 1),
                    ("packed", "baseline_full_batch", 33)], shape)
    # Same pages asked, different keys: the formats' party-0 answers differ; strategies agree.
    check(cells["single_checksum"][0] == cells["single_checksum"][1] != cells["single_checksum"][2], "checksums")
    check(cells["single_checksum"][2] == cells["single_checksum"][4], "packed checksums across strategies")
    report = ctx.run("report", out, expect=0).stdout
    check("\n- dpf: morphogen,packed\n- read floor: " in report, report)
    ratio = cells["batch_ms_mean"][3] / floor
    check(f"| 33 | - | - | {ratio:.2f}x |" in report, f"floor multiple {ratio:.2f}x:\n{report}")
    rows = list(csv.DictReader(io.StringIO(ctx.run("report", out, "--csv", expect=0).stdout)))
    check([r["dpf"] for r in rows] == [d for d, _, _ in shape], rows)


def case_plot(ctx):
    need_h5py()
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        print(f"SKIP: {sys.executable} cannot import matplotlib ({e})")
        sys.exit(SKIP)
    out = ctx.path("p.h5")
    ctx.run("sweep", *TINY, "--output", out, expect=0)
    png = ctx.path("qps.png")
    p = ctx.run("report", out, "--plot", png, env={"PAGEQUERY_PYTHON": sys.executable}, expect=0)
    check("Batch throughput" in p.stdout, "the tables are printed too")
    with open(png, "rb") as f:
        check(f.read(8) == b"\x89PNG\r\n\x1a\n", "not a PNG")
    check(os.path.getsize(png) > 10000, "suspiciously small PNG")
    # Two runs overlaid; another file without --plot is refused.
    other = ctx.path("p2.h5")
    ctx.run("sweep", *SMALL, "--output", other, expect=0)
    both = ctx.path("both.png")
    ctx.run("report", out, other, "--plot", both, env={"PAGEQUERY_PYTHON": sys.executable}, expect=0)
    check(os.path.getsize(both) > 10000, "the overlay plot")
    one_line_error(ctx.run("report", out, other, expect=2), r"more than one results file needs --plot")
    p = ctx.run("report", out, "--plot", ctx.path("x.png"), env={"PAGEQUERY_PYTHON": "/nonexistent/python3"},
                expect=2)
    check("cannot run /nonexistent/python3" in p.stderr.splitlines()[-1], p.stderr)


def case_old_layout(ctx):
    """A run written before the MPI columns existed (no single_reduce_ms, batch_reduce_ms,
    reduce_ms, mpi_ranks) still reads: the columns come back as 0, no reduction tables.
    One written before --accumulate (no accumulate attribute) reads as lop3; one written
    before packed keys (no dpf column or attribute, no read floor) as morphogen, floor n/a."""
    h5py = need_h5py()
    import numpy as np
    out = ctx.path("o.h5")
    ctx.run("sweep", *SMALL, "--output", out, expect=0)
    before = ctx.run("report", out, "--csv", expect=0).stdout.splitlines()
    # Before the verdict: no median interval, noise or device time.
    newer = re.compile(r".*_(median_ci_low|median_ci_high|noise_pct)$|batch_device_ms_.*")
    with h5py.File(out, "r+") as f:
        g = f["runs"][list(f["runs"])[0]]
        for name, drop in (("cells", ("single_reduce_ms", "batch_reduce_ms", "dpf")), ("samples", ("reduce_ms",))):
            rows = g[name][()]
            if name == "samples":
                rows = rows[rows["path"] < 2]  # no device-time samples either
            keep = [n for n in rows.dtype.names if n not in drop and not newer.fullmatch(n)]
            old = np.empty(len(rows), dtype=[(n, rows.dtype[n]) for n in keep])
            for n in keep:
                old[n] = rows[n]
            del g[name]
            g.create_dataset(name, data=old, maxshape=(None,), chunks=True)
        for attr in ("mpi_ranks", "shard_layout", "mpi_library", "dpf", "read_floor_ms", "read_floor_gbs",
                     "read_floor_repetitions"):
            if attr in g.attrs:
                del g.attrs[attr]
        check(text(g.attrs["accumulate"]) == "lop3", "a new run records accumulate")
        del g.attrs["accumulate"]
    p = ctx.run("report", out, "--csv", expect=0)
    after = p.stdout.splitlines()
    check(after[0] == before[0], after[0])
    check(len(after) == len(before) == 3, p.stdout)
    # The reductions read as 0, the device time as 0; the intervals come from the samples.
    zero = ("single_reduce_ms", "batch_reduce_ms") + tuple(
        "batch_device_ms_" + s for s in ("min", "median", "mean", "stddev", "max", "median_ci_low", "median_ci_high",
                                         "noise_pct"))
    for a, b in zip(csv.DictReader(io.StringIO("\n".join(after))), csv.DictReader(io.StringIO("\n".join(before)))):
        check(all(a[k] == "0" for k in zero), f"{a}")
        check(a["read_floor_ms"] == "", "read_floor_ms: none in the old run")
        same = [k for k in a if k not in zero and k != "read_floor_ms"]
        check(all(a[k] == b[k] for k in same), f"{a} vs {b}")
        check(a["dpf"] == "morphogen", f"an old run's cells are Morphogen's: {a}")
    p = ctx.run("report", out, expect=0)
    check("MPI reduction" not in p.stdout and "- ranks:" not in p.stdout, p.stdout)
    check("\n- dpf: morphogen\n- read floor: n/a" in p.stdout, p.stdout)
    check("### Read-floor multiple (n/a" in p.stdout and "| 2 | n/a | n/a |" in p.stdout, p.stdout)
    check("\n- accumulate: lop3\n" in p.stdout, p.stdout)
    check(all(row["accumulate"] == "lop3" for row in csv.DictReader(io.StringIO("\n".join(after)))), after)
    p = ctx.run("report", out, "--list", expect=0)
    check(re.match(r"\S+  complete  2 cells  lop3  ", p.stdout), p.stdout)


def sbatch_sweep_command(sbatch, binary, env):
    """The sbatch script's `pagequery sweep` line, variables expanded, as argv."""
    lines = [l.strip() for l in logical_lines(sbatch) if re.match(r"\s*pagequery sweep ", l)]
    check(len(lines) == 1, f"expected one `pagequery sweep` line, found {lines}")
    line = re.sub(r"\s*\|\|.*$", "", lines[0])  # `|| status=$?`
    argv = expanded_argv(line, env)
    check(argv[:2] == ["pagequery", "sweep"], argv)
    return [binary] + argv[1:]


def case_sbatch_dry_run(ctx):
    env = {"SLURM_SUBMIT_DIR": ctx.dir, "SLURM_JOB_ID": "12345",
           "PAGEQUERY_RESULTS": os.path.join(ctx.dir, "pagequery-sweep-12345.h5")}
    argv = sbatch_sweep_command(ctx.sbatch, ctx.bin, env)
    p = subprocess.run(argv + ["--dry-run"], cwd=ctx.dir, capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f"{argv}: exit {p.returncode}\n{p.stderr}")
    check("16829645 pages, d = 25, 68934225920 bytes (64.20 GiB)" in p.stdout, p.stdout)
    check("cells: 36" in p.stdout, p.stdout)  # (5 seed + fused) x 6 batch sizes
    check("iterations 2, warmup 1" in p.stdout, p.stdout)
    check("[cell 36/36] fused Q=32 C=1" in p.stdout, p.stdout)
    # PAGEQUERY_SWEEP_ARGS replaces the seed benchmark's arguments.
    argv = sbatch_sweep_command(ctx.sbatch, ctx.bin, dict(env, PAGEQUERY_SWEEP_ARGS="--synthetic-pages 300  --seed 3"))
    check(argv[1:] == ["sweep", "--synthetic-pages", "300", "--seed", "3", "--output", env["PAGEQUERY_RESULTS"]], argv)
    with open(ctx.sbatch) as f:
        script = f.read()
    for directive in ("#SBATCH --gpus=1", "#SBATCH --time=00:45:00"):
        check(directive in script, f"missing {directive}")
    check("spack env activate" in script and "PAGEQUERY_SPACK_ENV" in script, "spack activation")


def sbatch_srun_sweep(sbatch, binary, env):
    """The MPI sbatch script's `srun ... "$PAGEQUERY_BIN" sweep ...` line: (srun argv, sweep argv)."""
    lines = [l.strip() for l in logical_lines(sbatch)
             if re.match(r"\s*srun ", l) and '"$PAGEQUERY_BIN" sweep ' in l]
    check(len(lines) == 1, f"expected one srun ... sweep line, found {lines}")
    argv = expanded_argv(re.sub(r"\s*\|\|.*$", "", lines[0]), env)
    at = argv.index("sweep")
    check(argv[at - 1] == env["PAGEQUERY_BIN"], argv)
    return argv[:at - 1], [binary] + argv[at:]


def case_sbatch_mpi_dry_run(ctx):
    """apps/slurm/sweep_mpi.sbatch (passed as --sbatch): 2 nodes x 4 GPUs, the sweep line dry-run."""
    env = {"SLURM_SUBMIT_DIR": ctx.dir, "SLURM_JOB_ID": "12345", "PAGEQUERY_BIN": "/opt/pq/bin/pagequery",
           "PAGEQUERY_SRUN_MPI": "pmix",
           "PAGEQUERY_RESULTS": os.path.join(ctx.dir, "pagequery-sweep-mpi-12345.h5")}
    srun, argv = sbatch_srun_sweep(ctx.sbatch, ctx.bin, env)
    check("--mpi=pmix" in srun, f"srun lacks --mpi=pmix: {srun}")
    # srun takes the job's geometry: the #SBATCH lines, or sbatch's options over them.
    fixed = [a for a in srun if re.match(r"(-N|-n|--nodes|--ntasks|--gpus)", a)]
    check(not fixed, f"srun fixes the geometry ({fixed}): sbatch options could not change it")
    p = subprocess.run(argv + ["--dry-run"], cwd=ctx.dir, capture_output=True, text=True, timeout=60,
                       env={k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "OMPI_", "PMI_"))})
    check(p.returncode == 0, f"{argv}: exit {p.returncode}\n{p.stderr}")
    check("16829645 pages, d = 25, 68934225920 bytes (64.20 GiB)" in p.stdout, p.stdout)
    check("cells: 36" in p.stdout, p.stdout)
    check("[cell 36/36] fused Q=32 C=1" in p.stdout, p.stdout)
    check("output: " + env["PAGEQUERY_RESULTS"] + " (a new file)" in p.stdout, p.stdout)
    with open(ctx.sbatch) as f:
        script = f.read()
    for directive in ("#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=4", "#SBATCH --gpus-per-node=4"):
        check(directive in script, f"missing {directive}")
    check('PAGEQUERY_GPU_LAYOUT="${PAGEQUERY_GPU_LAYOUT:-per-task}"' in script, "the default GPU layout")
    check("spack env activate" in script and "PAGEQUERY_SPACK_ENV" in script, "spack activation")


def case_sbatch_run(ctx):
    """The whole script outside Slurm: no spack, a wrapper that shrinks the matrix."""
    h5py = need_h5py()
    wrapper = ctx.path("pagequery-small")
    with open(wrapper, "w") as f:
        f.write("#!/bin/bash\n# the sbatch's pagequery with a 27-page matrix instead of 64.2 GiB\n"
                "args=()\nfor a in \"$@\"; do [ \"$a\" = 64.2 ] && a=0.0001; args+=(\"$a\"); done\n"
                f"exec {shlex.quote(ctx.bin)} \"${{args[@]}}\"\n")
    os.chmod(wrapper, 0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "PAGEQUERY_", "MORPHOGEN_GPU_"))}
    env.update(SLURM_SUBMIT_DIR=ctx.dir, SLURM_JOB_ID="777", PAGEQUERY_SPACK_ENV="none",
               PAGEQUERY_BIN=wrapper, OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "2"))
    p = subprocess.run(["bash", ctx.sbatch], cwd="/", env=env, capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    check("Batch throughput (`batch_qps`)" in p.stdout, p.stdout)
    results = ctx.path("pagequery-sweep-777.h5")
    with h5py.File(results, "r") as f:
        g = f["runs"][list(f["runs"])[0]]
        check(len(g["cells"]) == 36 and text(g.attrs["status"]) == "complete", "36 complete cells")
        check(text(g.attrs["slurm_job_id"]) == "777", "job id recorded")
        check(int(g.attrs["pages"]) == 27, f"pages {g.attrs['pages']}")
    with open(ctx.path("pagequery-sweep-777.csv")) as f:
        check(len(f.read().splitlines()) == 1 + 36, "the CSV beside the results")
    # Refusals: a missing binary, a missing spack.
    env2 = dict(env, PAGEQUERY_BIN=ctx.path("nope"))
    p = subprocess.run(["bash", ctx.sbatch], cwd="/", env=env2, capture_output=True, text=True, timeout=60)
    check(p.returncode == 1 and "is not an executable" in p.stderr, p.stderr)
    env3 = dict(env, PAGEQUERY_SPACK_ENV=ctx.dir, PATH="/usr/bin:/bin")
    env3.pop("SPACK_ROOT", None)
    p = subprocess.run(["bash", ctx.sbatch], cwd="/", env=env3, capture_output=True, text=True, timeout=60)
    check(p.returncode == 1 and "spack not found" in p.stderr, p.stderr)


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


if __name__ == "__main__":
    sys.exit(sweep_driver_main(CASES, Ctx))
