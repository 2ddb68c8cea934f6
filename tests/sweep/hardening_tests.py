#!/usr/bin/env python3
"""Hostile inputs for `pagequery sweep` / `pagequery report` (issue 16), one ctest case each.

    hardening_tests.py CASE --pagequery BIN --sbatch apps/slurm/sweep.sbatch --workdir DIR

Damaged and hostile results files, `report --plot` failures, signals and closed pipes
during a sweep, refusals that must come before the first measurement, a full disk, and
a fuzz test of the results-file reader. Exit 0: pass, 1: fail, 77: skipped (no h5py).
"""
import csv
import io
import os
import random
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testsupport import Failure, binary_for, check, need_h5py, sweep_driver_main, text  # noqa: E402
from sweep_tests import SMALL, Ctx, one_line_error, sha256  # noqa: E402

ONE_CELL = ["--synthetic-pages", "64", "--batch-sizes", "1", "--strategies", "fused", "--iterations", "1",
            "--warmup", "0", "--seed", "5"]
FIXTURE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "data",
                       "fixture_results.h5")


_MEMORY_BOUND = {}


def bounded_memory(binary, limit_bytes):
    """preexec_fn: the child may map at most `limit_bytes` (a reader that trusts declared sizes
    fails). None where the binary cannot start so bounded (an ASan build reserves its shadow
    memory up front): there the refusal messages alone show that nothing was allocated."""
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    if binary not in _MEMORY_BOUND:
        ok = subprocess.run([binary, "--help"], capture_output=True, preexec_fn=apply).returncode == 0
        _MEMORY_BOUND[binary] = ok
        if not ok:
            print(f"note: {binary} does not start with {limit_bytes} bytes of address space; runs unbounded")
    return apply if _MEMORY_BOUND[binary] else None


def full_disk(limit_bytes):
    """preexec_fn: files larger than `limit_bytes` cannot be written (EFBIG, as ENOSPC on a full disk)."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return apply


def run_raw(ctx, args, **kw):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MORPHOGEN_GPU_", "PAGEQUERY_TEST_"))}
    env.setdefault("OMP_NUM_THREADS", "2")
    env.setdefault("OMP_PROC_BIND", "false")
    extra = kw.pop("env", {})
    env.update(extra)
    # A damaged file's strings may not be UTF-8: decoded with replacement, never an exception here.
    return subprocess.run([binary_for(ctx, extra), *args], cwd=ctx.dir, env=env, capture_output=True, encoding="utf-8",
                          errors="replace", timeout=kw.pop("timeout", 60), **kw)


def refused(p, pattern, what):
    check(p.returncode == 2, f"{what}: exit {p.returncode}, expected 2: {p.stderr!r}")
    one_line_error(p, pattern)


def first_heap_objects_oversized(src, dst):
    """A copy of `src` whose first global heap collection claims objects of about 400 GiB
    (byte 4 of each object's 8-byte size set to 100): HDF5 1.10 reads past its buffer."""
    data = bytearray(open(src, "rb").read())
    start = data.find(b"GCOL")
    check(start >= 0, "no global heap in the results file")
    size = struct.unpack_from("<Q", data, start + 8)[0]
    p = start + 16
    while p < start + size:
        index, _, _, object_size = struct.unpack_from("<HHIQ", data, p)
        if index == 0:
            break
        if index >= 2:
            data[p + 12] = 100
        p += 16 + (object_size + 7) // 8 * 8
    with open(dst, "wb") as f:
        f.write(data)


# ------------------------------------------------------------------ cases

def case_hostile_results(ctx):
    h5py = need_h5py()
    good = ctx.path("good.h5")
    ctx.run("sweep", *ONE_CELL, "--output", good, expect=0)
    # A dataset that claims 10^8 rows in a 60 KB file made report allocate ~24 GB and die.
    big = ctx.path("big.h5")
    shutil.copy(good, big)
    with h5py.File(big, "r+") as f:
        f["runs"][list(f["runs"])[0]]["cells"].resize((10 ** 8,))
    for mode in ([], ["--list"], ["--csv"]):
        p = run_raw(ctx, ["report", big, *mode], preexec_fn=bounded_memory(ctx.bin, 2 << 30))
        refused(p, r"big\.h5: dataset cells declares 100000000 elements of \d+ bytes, more than the file's \d+ bytes",
                f"report {mode} on 10^8 declared rows")
    p = run_raw(ctx, ["sweep", "--dry-run", "--output", big], preexec_fn=bounded_memory(ctx.bin, 2 << 30))
    refused(p, r"--output .*big\.h5: dataset cells declares", "sweep --output a file with 10^8 declared rows")
    # A FIFO hung report; it is refused without being opened.
    fifo = ctx.path("fifo.h5")
    os.mkfifo(fifo)
    t0 = time.time()
    refused(run_raw(ctx, ["report", fifo], timeout=20), r"fifo\.h5: is not a regular file", "report FIFO")
    refused(run_raw(ctx, ["sweep", *ONE_CELL, "--output", fifo], timeout=20),
            r"fifo\.h5: exists and is not a regular file", "sweep --output FIFO")
    check(time.time() - t0 < 15, "the FIFO refusals took too long")
    # A file that crashes HDF5 1.10 (h5dump too): never a signal, never a success.
    crash = ctx.path("crash.h5")
    first_heap_objects_oversized(good, crash)
    # HDF5 2.x reads this file without crashing (Debian unstable's 2.2.0 lists it): there
    # only "never a signal, at most one line" is asserted; 1.10 must refuse it.
    hdf5_1 = h5py.version.hdf5_version.startswith("1.")
    for args in (["report", "--list", crash], ["report", crash], ["sweep", "--dry-run", "--output", crash]):
        p = run_raw(ctx, args)
        if hdf5_1 or p.returncode != 0:
            refused(p, r"crash\.h5", " ".join(args[:2]) + " on a damaged global heap")
        print(f"{' '.join(args[:2])}: exit {p.returncode} {p.stderr.strip()}")
    check(not [f for f in os.listdir(ctx.dir) if f.startswith("core")], "a crash left a core file")
    # Strings of the file go into CSV and markdown escaped.
    esc = ctx.path("esc.h5")
    shutil.copy(good, esc)
    strategy = 'a,b|"c"\nd'
    with h5py.File(esc, "r+") as f:
        g = f["runs"][list(f["runs"])[0]]
        cells = g["cells"][()]
        cells["strategy"][0] = strategy.encode()
        g["cells"][0] = cells[0]
        g.attrs["device"] = "dev|x\ny"
    p = ctx.run("report", esc, "--csv", expect=0)
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    check(len(rows) == 1 and rows[0]["strategy"] == strategy.replace("\n", "\\n"),  # one line a row (issue 26)
          f"CSV does not keep the name: {p.stdout!r}")
    p = ctx.run("report", esc, expect=0)
    check("| Q | a,b\\|\"c\"\\nd |" in p.stdout, f"markdown header not escaped:\n{p.stdout}")
    check("- device: dev\\|x\\ny (" in p.stdout, p.stdout)
    p = ctx.run("report", esc, "--list", expect=0)
    check(len(p.stdout.splitlines()) == 1 and "dev|x\\ny" in p.stdout, p.stdout)


def case_plot_errors(ctx):
    need_h5py()
    out = ctx.path("p.h5")
    ctx.run("sweep", *ONE_CELL, "--output", out, expect=0)
    # Checked before anything is printed: `--plot ''` wrote ./.png.
    for plot, pattern in (("", r"report --plot: the path is empty"),
                          (ctx.path("no/dir/q.png"), r"the directory '.*no/dir' does not exist"),
                          (ctx.dir, r"is a directory")):
        p = ctx.run("report", out, "--plot", plot)
        refused(p, pattern, f"--plot {plot!r}")
        check(p.stdout == "", f"--plot {plot!r}: tables printed before the refusal")
    check(not os.path.exists(ctx.path(".png")), "--plot '' wrote .png")
    # A failing plot script: one line (its last), not its traceback.
    fake = ctx.path("fake-python")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\necho 'Traceback (most recent call last):' >&2\n"
                "echo '  File \"plot_qps.py\", line 1, in <module>' >&2\necho 'ValueError: boom' >&2\nexit 1\n")
    os.chmod(fake, 0o755)
    p = ctx.run("report", out, "--plot", ctx.path("q.png"), env={"PAGEQUERY_PYTHON": fake})
    refused(p, r"report --plot: .*plot_qps\.py failed \(exit 1\): ValueError: boom$", "a failing plot")
    check("Traceback" not in p.stderr, p.stderr)


def case_interrupt_first_cell(ctx):
    """SIGTERM / SIGINT in the middle of the first (only) cell: its finished iterations are
    written (a signal in the first cell wrote nothing before)."""
    h5py = need_h5py()
    for sig, concurrency in ((signal.SIGTERM, "1"), (signal.SIGINT, "2")):
        out = ctx.path(f"i{concurrency}.h5")
        args = ["sweep", "--synthetic-pages", "300", "--batch-sizes", "3", "--strategies", "fused",
                "--concurrency", concurrency, "--iterations", "1000000", "--warmup", "1", "--seed", "1",
                "--output", out]
        env = dict(os.environ, OMP_NUM_THREADS="2", OMP_PROC_BIND="false")
        proc = subprocess.Popen([ctx.bin, *args], cwd=ctx.dir, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        line = proc.stderr.readline()
        while line and not line.startswith("[cell 1/1]"):
            line = proc.stderr.readline()
        time.sleep(1.0)  # some iterations finish
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
        name = signal.Signals(sig).name
        check(proc.returncode == 1, f"{name}: exit {proc.returncode}: {stderr}")
        check(re.search(rf"interrupted by {name} after 1 of 1 cells \(the last with \d+ of 1000000 iterations\)",
                        stderr.splitlines()[-1]), stderr)
        with h5py.File(out, "r") as f:
            g = f["runs"][list(f["runs"])[0]]
            check(text(g.attrs["status"]) == f"interrupted by {name}", f"status {g.attrs['status']}")
            cells, samples = g["cells"][()], g["samples"][()]
        check(len(cells) == 1, f"{len(cells)} cells")
        n = int(cells["iterations"][0])
        check(1 <= n < 1000000, f"{n} iterations recorded")
        check(len(samples) == 3 * n, f"{len(samples)} samples for {n} iterations")  # single, batch, batch device
        check(cells["checksum_match"][0] == 1, "the partial cell's checksums")
        check("Batch throughput" in stdout, "the partial run's tables are printed")


def case_closed_stderr(ctx):
    """A sweep whose stderr reader went away (a closed pipe) finishes and writes a complete run."""
    h5py = need_h5py()
    out = ctx.path("c.h5")
    r, w = os.pipe()
    os.close(r)
    env = dict(os.environ, OMP_NUM_THREADS="2", OMP_PROC_BIND="false")
    p = subprocess.run([ctx.bin, "sweep", *SMALL, "--output", out], cwd=ctx.dir, env=env, stderr=w,
                       stdout=subprocess.PIPE, text=True, timeout=120)
    os.close(w)
    check(p.returncode == 0, f"exit {p.returncode} (-13 is SIGPIPE)")
    check("Batch throughput" in p.stdout, p.stdout)
    with h5py.File(out, "r") as f:
        g = f["runs"][list(f["runs"])[0]]
        check(text(g.attrs["status"]) == "complete" and len(g["cells"]) == 2, f"status {g.attrs['status']}")


def case_early_refusals(ctx):
    """What a run refuses is refused before the first measurement, and by --dry-run."""
    need_h5py()
    out = ctx.path("e.h5")
    refusals = [
        (["--output", ctx.path("x" * 250 + ".h5")], {}, r"the file name is too long"),
        (["--output", ctx.path("locked.h5")], {}, r"its lock file .*\.locked\.h5\.lock is not a readable regular file"),
        ([], {"MORPHOGEN_GPU_STREAMS": "x"}, r"MORPHOGEN_GPU_STREAMS must be an integer"),
        ([], {"KOKKOS_NUM_THREADS": "x"}, r"KOKKOS_NUM_THREADS='x'"),
        ([], {"PAGEQUERY_TEST_FAIL_AFTER_CELLS": "x"}, r"PAGEQUERY_TEST_FAIL_AFTER_CELLS"),
    ]
    if os.environ.get("PAGEQUERY_HAVE_OPENMP", "1") == "1":  # other backends run any concurrency
        refusals.append((["--concurrency", "3"], {"OMP_NUM_THREADS": "2"},
                         r"--concurrency 3 needs as many threads of the OpenMP backend, which will run 2"))
    os.mkdir(ctx.path(".locked.h5.lock"))
    at = SMALL.index("--concurrency")
    base = SMALL[:at] + SMALL[at + 2:]
    for extra, env, pattern in refusals:
        for dry in ([], ["--dry-run"]):
            t0 = time.time()
            p = run_raw(ctx, ["sweep", *dry, *base, *(["--output", out] if "--output" not in extra else []), *extra],
                        env=env)
            refused(p, pattern, f"sweep {dry} {extra} {env}")
            check(p.stdout == "", f"{extra} {env}: refused after printing:\n{p.stdout}")
            check("[cell " not in p.stderr and time.time() - t0 < 20, f"{extra}: measured before refusing")
    check(not os.path.exists(out), "a refused sweep wrote its output")
    # The pagequery binary reads no test hook (pagequery_testhooks does): the variable changes nothing.
    env = dict(os.environ, PAGEQUERY_TEST_FAIL_AFTER_CELLS="x", OMP_NUM_THREADS="2", OMP_PROC_BIND="false")
    p = subprocess.run([ctx.bin, "sweep", "--dry-run", *base, "--output", out], cwd=ctx.dir, env=env,
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f"pagequery read PAGEQUERY_TEST_FAIL_AFTER_CELLS: exit {p.returncode}: {p.stderr}")
    with open(ctx.bin, "rb") as f:
        check(b"PAGEQUERY_TEST_" not in f.read(), "the pagequery binary names a PAGEQUERY_TEST_* variable")
    # A failed write to stdout is an error (exit 2, one line); the run itself is kept.
    with open("/dev/full", "w") as full:
        env = dict(os.environ, OMP_NUM_THREADS="2", OMP_PROC_BIND="false")
        for args in (["sweep", *SMALL, "--output", out], ["sweep", "--dry-run"], ["report", "--list", out],
                     ["report", out, "--csv"]):
            p = subprocess.run([ctx.bin, *args], cwd=ctx.dir, env=env, stdout=full, stderr=subprocess.PIPE,
                               text=True, timeout=120)
            check(p.returncode == 2, f"{args[:2]} >/dev/full: exit {p.returncode}")
            check(re.search(r"^pagequery: \w+: cannot write to stdout: No space left on device$",
                            p.stderr.splitlines()[-1]), p.stderr)
    p = ctx.run("report", out, "--list", expect=0)
    check(re.match(r"\S+  complete  2 cells", p.stdout), f"the sweep's run was not kept: {p.stdout}")


def case_full_disk(ctx):
    """A full disk during a save: one line and exit 2 (HDF5's shutdown segfaulted), the old
    file untouched, no temporary copy left."""
    need_h5py()
    env = dict(os.environ, OMP_NUM_THREADS="2", OMP_PROC_BIND="false")
    new = ctx.path("new.h5")
    p = subprocess.run([ctx.bin, "sweep", *SMALL, "--output", new], cwd=ctx.dir, env=env, capture_output=True,
                       text=True, timeout=120, preexec_fn=full_disk(16384))
    check(p.returncode == 2, f"exit {p.returncode} (-11 was the crash): {p.stderr}")
    errors = [line for line in p.stderr.splitlines() if line.startswith("pagequery: ")]
    check(len(errors) == 1 and "File too large" in errors[0], f"one error line expected: {p.stderr}")
    check(not os.path.exists(new), "a failed first save left a file")
    old = ctx.path("old.h5")
    ctx.run("sweep", *ONE_CELL, "--output", old, expect=0)
    digest = sha256(old)
    p = subprocess.run([ctx.bin, "sweep", *SMALL, "--output", old], cwd=ctx.dir, env=env, capture_output=True,
                       text=True, timeout=120, preexec_fn=full_disk(os.path.getsize(old) + 4096))
    check(p.returncode == 2, f"exit {p.returncode}: {p.stderr}")
    check(sha256(old) == digest, "the results file changed although the save failed")
    leftovers = [f for f in os.listdir(ctx.dir) if f.endswith(".tmp")]
    check(not leftovers, f"temporary copies left: {leftovers}")


def mutate(data, rng):
    d = bytearray(data)
    kind = rng.choice(("flip", "byte", "block", "truncate"))
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            d[rng.randrange(len(d))] ^= 1 << rng.randrange(8)
    elif kind == "byte":
        for _ in range(rng.randint(1, 4)):
            d[rng.randrange(len(d))] = rng.randrange(256)
    elif kind == "block":
        at = rng.randrange(len(d))
        d[at:at + 64] = bytes(rng.randrange(256) for _ in range(len(d[at:at + 64])))
    else:
        d = d[:rng.randrange(len(d))]
    return kind, bytes(d)


def case_fuzz_report(ctx):
    """Mutants of a valid results file (data/fixture_results.h5; fixed seed): `report` exits 0
    or 2, never by a signal, and on 2 with one line on stderr; nothing on stderr on 0."""
    with open(FIXTURE, "rb") as f:
        data = f.read()
    rng = random.Random(16)
    # A binary that cannot start in 2 GiB of address space is a sanitizer build, several
    # times slower: it takes the first 40 mutants of the same sequence. More for a local run.
    bound = bounded_memory(ctx.bin, 2 << 30)
    mutants = int(os.environ.get("PAGEQUERY_FUZZ_MUTANTS", "120" if bound else "40"))
    outcomes = {}
    for i in range(mutants):
        kind, mutant = mutate(data, rng)
        path = ctx.path("mutant.h5")
        with open(path, "wb") as f:
            f.write(mutant)
        modes = [["report", path], ["report", "--list", path], ["report", "--csv", path]]
        if i % 4 == 0:
            modes.append(["sweep", "--dry-run", "--output", path])
        for args in modes:
            p = run_raw(ctx, args, timeout=30, preexec_fn=bound)
            crashed = "crashed the HDF5 library" in p.stderr
            outcomes[(p.returncode, crashed)] = outcomes.get((p.returncode, crashed), 0) + 1
            lines = p.stderr.splitlines()
            ok = (p.returncode == 0 and not p.stderr) or (p.returncode == 2 and len(lines) == 1 and
                                                          lines[0].startswith("pagequery: "))
            if not ok:
                kept = ctx.path(f"failing_mutant_{i}.h5")
                shutil.copy(path, kept)
                raise Failure(f"mutant {i} ({kind}), {' '.join(args[:2])}: exit {p.returncode}, stderr "
                              f"{p.stderr[:500]!r}; kept as {kept}")
    print(f"{mutants} mutants: (exit code, HDF5 crash contained) -> runs: {outcomes}")


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


if __name__ == "__main__":
    sys.exit(sweep_driver_main(CASES, Ctx))
