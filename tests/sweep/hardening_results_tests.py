#!/usr/bin/env python3
"""Hostile results files, round 2 (issue 26), one ctest case each.

    hardening_results_tests.py CASE --pagequery BIN --sbatch apps/slurm/sweep.sbatch --workdir DIR

Reads bounded by the rows in memory and the memory available, links and storage outside
the file, the format attributes, CSV escaping, owner/group/mode and symbolic links on
append, and a dead writer's leftovers. Exit 0: pass, 1: fail, 77: skipped (no h5py).
"""
import os
import shutil
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testsupport import check, need_h5py, sweep_driver_main  # noqa: E402
from sweep_tests import Ctx, sha256  # noqa: E402
from hardening_tests import ONE_CELL, bounded_memory, refused, run_raw  # noqa: E402

READS = (["report"], ["report", "--list"], ["report", "--csv"], ["sweep", "--dry-run", "--output"])


def results_file(ctx, name):
    """A fresh one-run results file written by the binary."""
    path = ctx.path(name)
    ctx.run("sweep", *ONE_CELL, "--output", path, expect=0)
    return path


def first_run(f):
    return f["runs"][list(f["runs"])[0]]


def variant(ctx, good, name, edit):
    """A copy of `good` changed by edit(h5py.File)."""
    h5py = need_h5py()
    path = ctx.path(name)
    shutil.copy(good, path)
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def all_refused(ctx, path, pattern, what, **kw):
    """Every reader (report, --list, --csv, a sweep appending to it) refuses `path` with one line."""
    for args in READS:
        p = run_raw(ctx, [*args, path], timeout=20, **kw)
        refused(p, pattern, f"{' '.join(args)} {what}")


# ------------------------------------------------------------------ cases

def case_bounded_reads(ctx):
    """Rows a file declares but does not store, or that do not fit in memory, are refused
    before they are allocated (they drove report to GBs before bad_alloc)."""
    need_h5py()
    import numpy
    good = results_file(ctx, "good.h5")
    bound = bounded_memory(ctx.bin, 2 << 30)

    def unwritten(f):  # gzip chunks, one written, 8.4 M rows declared
        g = first_run(f)
        dtype = g["cells"].dtype
        row = g["cells"][0]
        del g["cells"]
        d = g.create_dataset("cells", shape=(8_400_000,), maxshape=(None,), chunks=(64,), dtype=dtype,
                             compression="gzip")
        d[0] = row
    path = variant(ctx, good, "unwritten.h5", unwritten)
    check(os.path.getsize(path) < 1 << 20, "the file with unwritten rows is small")
    all_refused(ctx, path, r"unwritten\.h5: dataset cells declares 8400000 rows, but the file stores 1 chunks",
                "on 8.4 M unwritten gzip rows", preexec_fn=bound)

    def one_byte(f):  # 16 M one-byte rows: 16 MB on disk, GBs as cell records
        g = first_run(f)
        del g["cells"]
        g.create_dataset("cells", data=numpy.zeros(16 << 20, dtype=[("cuda_graph", "u1")]))
    path = variant(ctx, good, "one_byte.h5", one_byte)
    if not bound:
        print("note: no address-space bound here (a sanitizer build): the one-byte rows are not read")
    else:
        all_refused(ctx, path, r"one_byte\.h5: dataset cells declares 16777216 elements of \d+ bytes in memory, "
                    r"more than the \d+ MiB available", "on 16 M one-byte rows", preexec_fn=bound)


def case_outside_storage(ctx):
    """External links, external raw-data files and virtual datasets are refused before
    anything is read: they hung on a FIFO, and report --csv printed the file they named."""
    h5py = need_h5py()
    good = results_file(ctx, "good.h5")
    fifo = ctx.path("fifo.h5")
    os.mkfifo(fifo)
    secret = ctx.path("secret.txt")
    with open(secret, "w") as f:
        f.write("SECRET-LINE\n" * 4096)
    run_id = lambda f: list(f["runs"])[0]  # noqa: E731

    def link_runs(f):
        del f["runs"]
        f["runs"] = h5py.ExternalLink(fifo, "/runs")

    def link_run(f):
        rid = run_id(f)
        del f["runs"][rid]
        f["runs"][rid] = h5py.ExternalLink(fifo, "/runs/x")

    def link_cells(f):
        del first_run(f)["cells"]
        first_run(f)["cells"] = h5py.ExternalLink(fifo, "/cells")

    def soft_cells(f):
        first_run(f).move("cells", "real_cells")
        first_run(f)["cells"] = h5py.SoftLink(f"/runs/{run_id(f)}/real_cells")

    def external_storage(name):
        def edit(f):
            g = first_run(f)
            dtype = g["cells"].dtype
            del g["cells"]
            g.create_dataset("cells", shape=(4,), dtype=dtype, external=[(name, 0, 4 * dtype.itemsize)])
        return edit

    def virtual_cells(f):
        g = first_run(f)
        layout = h5py.VirtualLayout(shape=(1,), dtype=g["cells"].dtype)
        layout[:] = h5py.VirtualSource(fifo, "cells", shape=(1,), dtype=g["cells"].dtype)
        del g["cells"]
        g.create_virtual_dataset("cells", layout)

    t0 = time.time()
    for name, edit, pattern in (
            ("link_runs", link_runs, r"/runs is an external link \(refused"),
            ("link_run", link_run, r"/runs/\S+ is an external link \(refused"),
            ("link_cells", link_cells, r"cells is an external link \(refused"),
            ("soft_cells", soft_cells, r"cells is a soft link \(refused"),
            ("ext_fifo", external_storage(fifo), r"dataset cells stores its rows in external files \(refused\)"),
            ("ext_secret", external_storage(secret), r"dataset cells stores its rows in external files"),
            ("ext_passwd", external_storage("/etc/passwd"), r"dataset cells stores its rows in external files"),
            ("virtual", virtual_cells, r"dataset cells is a virtual dataset \(refused")):
        path = variant(ctx, good, name + ".h5", edit)
        digest = sha256(path)
        all_refused(ctx, path, pattern, name)
        p = run_raw(ctx, ["report", "--csv", path], timeout=20)
        check("SECRET" not in p.stdout + p.stderr and "root:" not in p.stdout, f"{name}: printed another file")
        refused(run_raw(ctx, ["sweep", *ONE_CELL, "--output", path], timeout=60), pattern, f"{name}: appending")
        check(sha256(path) == digest, f"{name}: a refused append changed the file")
    check(time.time() - t0 < 120, "the refusals took too long (a FIFO was opened?)")


def case_format_attributes(ctx):
    """A foreign file, or one of a later format_version, is refused for reading and appending."""
    good = results_file(ctx, "good.h5")

    def setter(**attrs):
        def edit(f):
            for k, v in attrs.items():
                if v is None:
                    del f.attrs[k]
                else:
                    f.attrs[k] = v
        return edit
    for name, edit, pattern in (
            ("foreign", setter(format="someone-elses-results"),
             r"foreign\.h5: its format attribute is 'someone-elses-results', not 'pagequery-sweep-results'"),
            ("no_format", setter(format=None), r"no_format\.h5: its format attribute is '\(none\)'"),
            ("future", setter(format_version=2), r"future\.h5: its format_version is 2; this pagequery reads "
                                                 r"versions 1 to 1"),
            ("zero", setter(format_version=0), r"zero\.h5: its format_version is 0"),
            ("text_version", setter(format_version="1"), r"text_version\.h5: its format_version is 1;"),
            ("no_version", setter(format_version=None), r"no_version\.h5: its format_version is \(none\)")):
        path = variant(ctx, good, name + ".h5", edit)
        digest = sha256(path)
        all_refused(ctx, path, pattern, name)
        refused(run_raw(ctx, ["sweep", *ONE_CELL, "--output", path], timeout=60), pattern, f"{name}: appending")
        check(sha256(path) == digest, f"{name}: a refused append changed the file")
    ctx.run("report", good, expect=0)


def case_csv_escape(ctx):
    """Stored strings reach CSV escaped: one line per row of valid UTF-8 without control characters."""
    good = results_file(ctx, "good.h5")

    def hostile(f):
        g = first_run(f)
        cells = g["cells"][()]
        cells["strategy"][0] = b"a\x1b[31m,b\nc\xff\"d"
        cells["mode"][0] = b"\r\x07"
        g["cells"][0] = cells[0]
        g.attrs["accumulate"] = "lop3\x1b]0;title\x07"
        f["runs"].move(list(f["runs"])[0], "run\nid\x1b")
    path = variant(ctx, good, "esc.h5", hostile)
    p = subprocess.run([ctx.bin, "report", "--csv", path], cwd=ctx.dir, capture_output=True, timeout=60,
                       env={**os.environ, "OMP_NUM_THREADS": "2", "OMP_PROC_BIND": "false"})
    check(p.returncode == 0 and not p.stderr, f"report --csv: {p.returncode} {p.stderr!r}")
    out = p.stdout.decode("utf-8")  # raises on bytes that are not UTF-8
    lines = out.split("\n")
    check(len(lines) == 3 and lines[2] == "", f"expected a header and one row: {out!r}")
    check(not [c for c in out if (ord(c) < 0x20 and c != "\n") or ord(c) == 0x7f], f"control characters: {out!r}")
    check(lines[1].startswith("run\\nid\\x1b,lop3\\x1b]0;title\\x07,"), f"run fields: {lines[1]!r}")
    check(',"a\\x1b[31m,b\\nc\\xff""d",' in lines[1] and ",\\r\\x07," in lines[1], f"cell fields: {lines[1]!r}")


def appended(ctx, path, **kw):
    """Appends one run to `path`; the number of runs after."""
    h5py = need_h5py()
    p = run_raw(ctx, ["sweep", *ONE_CELL, "--output", path], timeout=120, **kw)
    check(p.returncode == 0, f"append to {path}: exit {p.returncode}: {p.stderr!r}")
    with h5py.File(path, "r") as f:
        return len(f["runs"])


def mode_owner(path):
    st = os.lstat(path)
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


def runs_as(ctx, demote):
    """Whether the binary starts (from the test's directory) after `demote`: a build under a
    private directory, as Spack's stage under /tmp/root, is out of another user's reach."""
    try:
        return run_raw(ctx, ["--version"], preexec_fn=demote, timeout=60).returncode == 0
    except OSError:
        return False


def case_append_ownership(ctx):
    """Appending keeps the file's owner, group and mode, or refuses when it cannot."""
    path = results_file(ctx, "shared.h5")
    os.chmod(path, 0o664)
    umask = lambda: os.umask(0o022)  # noqa: E731
    check(appended(ctx, path, preexec_fn=umask) == 2 and mode_owner(path)[0] == 0o664,
          f"a group-shared 0664 file became {mode_owner(path)[0]:o}")
    if os.geteuid() != 0:
        print("not root: the owner cases need root")
        return
    nobody = 65534
    os.chown(path, nobody, nobody)
    os.chmod(path, 0o600)
    check(appended(ctx, path) == 3, "root appends")
    check(mode_owner(path) == (0o600, nobody, nobody), f"root's append made it {mode_owner(path)}")
    # A user who may write the file (and the directory) but is not its owner: refused.
    shared = ctx.path("shared_dir")
    os.mkdir(shared)
    os.chmod(shared, 0o777)
    theirs = os.path.join(shared, "theirs.h5")
    shutil.copy(path, theirs)
    os.chown(theirs, 0, 0)
    os.chmod(theirs, 0o666)
    digest = sha256(theirs)

    def as_nobody():
        os.setgroups([])
        os.setgid(nobody)
        os.setuid(nobody)
    if not runs_as(ctx, as_nobody):
        print("uid 65534 cannot run the binary from here (a private build tree): the non-owner case is skipped")
        return
    for args in (["sweep", "--dry-run", "--output", theirs], ["sweep", *ONE_CELL, "--output", theirs]):
        refused(run_raw(ctx, args, preexec_fn=as_nobody, timeout=60),
                r"theirs\.h5: belongs to uid 0 gid 0; appending as uid 65534 would change that", "non-owner append")
    check(sha256(theirs) == digest and mode_owner(theirs) == (0o666, 0, 0), "a refused append changed the file")


def case_append_symlinks(ctx):
    """--output through a symbolic link appends to its target; a dangling link or a loop is refused."""
    real = results_file(ctx, "real.h5")
    link = ctx.path("link.h5")
    os.symlink("real.h5", link)
    check(appended(ctx, link) == 2 and os.path.islink(link) and os.readlink(link) == "real.h5",
          "the link was replaced")
    check(os.path.isfile(real) and not os.path.islink(real), "the target is a file")
    dangling = ctx.path("dangling.h5")
    os.symlink("missing/nowhere.h5", dangling)
    os.symlink("loop_b.h5", ctx.path("loop_a.h5"))
    os.symlink("loop_a.h5", ctx.path("loop_b.h5"))
    for name, pattern in (("dangling.h5", r"dangling\.h5: is a dangling symbolic link \(refusing to replace it\)"),
                          ("loop_a.h5", r"loop_a\.h5: is a symbolic link loop \(refusing to replace it\)")):
        for args in (["sweep", "--dry-run", "--output", name], ["sweep", *ONE_CELL, "--output", name]):
            refused(run_raw(ctx, args, timeout=60), pattern, " ".join(args))
        check(os.path.islink(ctx.path(name)), f"{name} was replaced")
    check(os.readlink(dangling) == "missing/nowhere.h5", "the dangling link changed")


def case_dead_writer_leftovers(ctx):
    """A writer killed mid-commit leaves its lock file (and, killed while writing, its
    temporary copy); the next append removes those of dead writers, not of live ones."""
    path = results_file(ctx, "k.h5")
    p = run_raw(ctx, ["sweep", *ONE_CELL, "--output", path], env={"PAGEQUERY_TEST_FAIL_AFTER_CELLS": "1"})
    check(p.returncode != 0, "the test hook did not abort the commit")
    lock = ctx.path(".k.h5.lock")
    check(os.path.exists(lock), "the aborted commit left no lock file")
    dead = subprocess.Popen(["true"])
    dead.wait()
    dead_tmp, live_tmp = ctx.path(f".k.h5.{dead.pid}.tmp"), ctx.path(f".k.h5.{os.getpid()}.tmp")
    other = ctx.path(".other.h5.999999.tmp")
    for leftover in (dead_tmp, live_tmp, other):
        with open(leftover, "wb") as f:
            f.write(b"half an image")
    check(appended(ctx, path) == 2, "append after the crash")
    check(not os.path.exists(dead_tmp) and not os.path.exists(lock), "a dead writer's leftovers stayed")
    check(os.path.exists(live_tmp) and os.path.exists(other), "a live writer's (or another file's) copy was removed")


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


if __name__ == "__main__":
    sys.exit(sweep_driver_main(CASES, Ctx))
