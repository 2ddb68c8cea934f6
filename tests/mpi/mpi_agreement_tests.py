#!/usr/bin/env python3
"""MPI ranks that disagree (ctest, one case each; PAGEQUERY_ENABLE_MPI builds only).

    mpi_agreement_tests.py CASE --pagequery BIN --mpiexec MPIEXEC [--preflag F ...] --data DIR --workdir DIR

Each rank gets its own command line (Open MPI's MPMD form, `-np 1 A : -np 1 B`).
Ranks that disagree on the plan, the matrix or the command line must all exit 2
with one pagequery line on stderr: before this check they crashed
(std::rethrow_exception), hung (--dry-run on one rank) or finished a run on
mismatched data with exit 0. Exit 0: pass, 1: fail.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from mpi_tests import keygen, main, ok, our_lines, request, write_matrix  # noqa: E402
from testsupport import Failure, check  # noqa: E402

SWEEP = ["sweep", "--synthetic-pages", "64", "--batch-sizes", "1,2", "--strategies", "fused,baseline_full_batch",
         "--iterations", "2", "--warmup", "1", "--seed", "5"]


def mpmd(ctx, argvs, stdin=None, timeout=60):
    """One rank per command line: rank r runs argvs[r]."""
    cmd = [ctx.mpiexec, *ctx.preflags]
    for i, argv in enumerate(argvs):
        cmd += ([":"] if i else []) + ["-np", "1", ctx.bin, *argv]
    try:
        return subprocess.run(cmd, cwd=ctx.dir, env=ctx.env(), input=stdin, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failure(f"{' '.join(cmd)}: no result in {timeout} s (a hang)")


def refused(p, what, pattern):
    """Every rank exit 2, one pagequery line matching `pattern`, nothing on stdout."""
    err = p.stderr.decode(errors="replace")
    check(p.returncode == 2, f"{what}: exit {p.returncode}, expected 2: {err[-2000:]}")
    lines = our_lines(p)
    check(len(lines) == 1 and re.search(pattern, lines[0]),
          f"{what}: expected one 'pagequery:' line matching /{pattern}/, got {lines}\n{err[-2000:]}")
    check("rethrow_exception" not in err and "Segmentation" not in err, f"{what}: a crash: {err[-2000:]}")
    check(p.stdout == b"", f"{what}: refused but wrote stdout: {p.stdout[:300]!r}")


def with_flag(args, flag, value):
    """`args` with `flag`'s value replaced (or the flag added)."""
    out = list(args)
    if flag in out:
        out[out.index(flag) + 1] = value
    else:
        out += [flag, value]
    return out


def case_sweep_plans_differ(ctx):
    """Each flag that changes the plan, different on rank 1 (and on rank 2 of 3)."""
    base = SWEEP + ["--output", ctx.path("s.h5")]
    variants = [
        ("--iterations", "3", r"'iterations 3' where rank 0 has 'iterations 2'"),
        ("--warmup", "0", r"'warmup 0' where rank 0 has 'warmup 1'"),
        ("--strategies", "fused", r"'strategies fused \(policy=fused"),
        ("--synthetic-pages", "65", r"'matrix synthetic 65 pages"),
        ("--dpf", "packed", r"'dpf packed' where rank 0 has 'dpf morphogen'"),
        ("--fill", "morphogen", r"'matrix synthetic 64 pages, fill morphogen, seed 1' where rank 0 has '.*fill hash"),
        ("--seed", "6", r"'seed 6' where rank 0 has 'seed 5'"),
        ("--batch-sizes", "1", r"'batch sizes 1' where rank 0 has 'batch sizes 1,2'"),
    ]
    for flag, value, pattern in variants:
        p = mpmd(ctx, [base, with_flag(base, flag, value)])
        refused(p, f"{flag} {value} on rank 1", r"the MPI ranks disagree on the sweep plan: rank 1 has " + pattern)
        p = mpmd(ctx, [base, base, with_flag(base, flag, value)])
        refused(p, f"{flag} {value} on rank 2 of 3", r"disagree on the sweep plan: rank 2 has")
    p = mpmd(ctx, [base, base + ["--dry-run"]])
    refused(p, "--dry-run on rank 1 only", r"rank 1 has 'dry run yes' where rank 0 has 'dry run no'")
    p = mpmd(ctx, [base + ["--dry-run"], base])
    refused(p, "--dry-run on rank 0 only", r"rank 1 has 'dry run no' where rank 0 has 'dry run yes'")
    check(not os.path.exists(ctx.path("s.h5")), "a refused sweep wrote its output")
    # Agreeing ranks still run (the output is rank 0's alone, so it may differ).
    p = mpmd(ctx, [base, with_flag(base, "--output", ctx.path("other.h5"))])
    ok(p, "ranks that differ only in --output")
    check(os.path.exists(ctx.path("s.h5")), "rank 0 wrote its --output")


def case_sweep_matrix_files_differ(ctx):
    """Two files of the same size (and domain) but other bytes: refused; copies of one file: fine."""
    data = bytearray(write_matrix(ctx.path("a.bin"), 7))[:7 * 4096 - 700]
    with open(ctx.path("a_copy.bin"), "wb") as f:
        f.write(data)
    data[4 * 4096 + 17] ^= 1  # one bit of rank 1's first page
    with open(ctx.path("b.bin"), "wb") as f:
        f.write(data)
    args = ["sweep", "--batch-sizes", "1", "--strategies", "fused", "--iterations", "1", "--warmup", "0",
            "--seed", "1", "--output", ctx.path("m.h5")]
    p = mpmd(ctx, [args + ["--matrix-file", ctx.path("a.bin")], args + ["--matrix-file", ctx.path("b.bin")]])
    refused(p, "another matrix file on rank 1", r"disagree on the sweep plan: rank 1 has 'matrix file of 27972 "
                                                r"bytes, sampled pages XXH3 [0-9a-f]{16}' where rank 0 has")
    p = mpmd(ctx, [args + ["--matrix-file", ctx.path("a.bin")], args + ["--matrix-file", ctx.path("a_copy.bin")]])
    ok(p, "two copies of one matrix")


def case_answer_matrix_files_differ(ctx):
    """answer with another --matrix-file (same domain bits) on rank 1: exit 2, never a wrong answer."""
    write_matrix(ctx.path("a.bin"), 7)
    write_matrix(ctx.path("b.bin"), 7, partial=100)  # same pages (same d), other size and bytes
    with open(ctx.path("a.bin"), "rb") as f:
        data = bytearray(f.read())
    data[6 * 4096 + 5] ^= 0x80
    with open(ctx.path("c.bin"), "wb") as f:  # same size, one byte of the last shard differs
        f.write(data)
    pairs = [keygen(ctx, 3, x) for x in (0, 4, 6)]
    req = ctx.path("req.json")
    with open(req, "wb") as f:
        f.write(request([k0 for k0, _ in pairs]))
    args = ["answer", "--request", req, "--matrix-file"]
    for other, pattern in ((ctx.path("b.bin"), r"rank 1 has 'matrix file of 28572 bytes"),
                           (ctx.path("c.bin"), r"rank 1 has 'matrix file of 27972 bytes, sampled pages XXH3")):
        p = mpmd(ctx, [args + [ctx.path("a.bin")], args + [other]])
        refused(p, f"--matrix-file {other} on rank 1", r"the MPI ranks disagree on the answer: " + pattern)
    p = mpmd(ctx, [args + [ctx.path("a.bin")], args + [ctx.path("a.bin"), "--policy", "fused"]])
    refused(p, "another --policy on rank 1", r"rank 1 has 'policy policy=fused")
    p = mpmd(ctx, [args + [ctx.path("a.bin")]] * 2)
    ok(p, "agreeing ranks")
    ref = ctx.serial(*args, ctx.path("a.bin"))
    check(p.stdout == ref.stdout, "agreeing ranks: the answer differs from one process's")


def case_parse_error_one_rank(ctx):
    """A command line refused on any rank: one pagequery line, every rank exit 2, no hang."""
    good = SWEEP + ["--dry-run"]
    for what, argvs, pattern in [
        ("rank 1 of 2", [good, good + ["--bogus"]], r"The following argument was not expected: --bogus \(see --help\)"),
        ("rank 0 of 2", [good + ["--bogus"], good], r"--bogus"),
        ("rank 2 of 3", [good, good, good + ["--iterations"]], r"--iterations"),
        ("every rank", [good + ["--bogus"]] * 3, r"--bogus"),
        ("answer, rank 1", [["answer", "--matrix-file", os.path.join(ctx.data, "fixture_matrix.bin"),
                             "--request", os.path.join(ctx.data, "fixture_request.json")],
                            ["answer", "--policy", "nope"]], r"--policy"),
        ("keygen, rank 1", [["keygen", "--domain-bits", "3", "--index", "1"],
                            ["keygen", "--domain-bits", "3", "--index"]], r"--index"),
    ]:
        p = mpmd(ctx, argvs)
        refused(p, what, pattern)


CASES = {
    "sweep_plans_differ": case_sweep_plans_differ,
    "sweep_matrix_files_differ": case_sweep_matrix_files_differ,
    "answer_matrix_files_differ": case_answer_matrix_files_differ,
    "parse_error_one_rank": case_parse_error_one_rank,
}


if __name__ == "__main__":
    sys.exit(main(CASES))
