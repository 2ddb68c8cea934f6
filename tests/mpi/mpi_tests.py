#!/usr/bin/env python3
"""MPI scale-out tests (ctest, one case each; PAGEQUERY_ENABLE_MPI builds only).

    mpi_tests.py CASE --pagequery BIN --mpiexec MPIEXEC [--preflag F ...] --data DIR --workdir DIR

Every rank answers over its shard of the matrix and rank 0 prints the XOR-reduced
answers: the bytes must equal a run of the same binary without mpirun (one rank,
the whole matrix), for every policy, for uneven shards and with ranks that hold no
page. Exit 0: pass, 1: fail, 77: skipped (h5py missing in this python3).
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from testsupport import Failure, binary_for, check, need_h5py, text, run_case  # noqa: E402

PAGE = 4096
POLICIES = [[], ["--policy", "fused"], ["--streams", "2"], ["--graph", "on"],
            ["--policy", "baseline_full_batch"], ["--policy", "throughput"], ["--policy", "tiled_tile4"]]


class Ctx:
    def __init__(self, args):
        self.bin = args.pagequery
        self.hooks = args.pagequery_hooks
        self.mpiexec = args.mpiexec
        self.preflags = args.preflag or []
        self.data = args.data
        self.dir = args.workdir
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)

    def path(self, name):
        return os.path.join(self.dir, name)

    def env(self, extra=None):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MORPHOGEN_GPU_", "PAGEQUERY_TEST_", "SLURM_", "PMI_", "OMPI_COMM_WORLD_"))}
        env.setdefault("OMP_NUM_THREADS", "1")
        env.setdefault("OMP_PROC_BIND", "false")
        env.update(extra or {})
        return env

    def serial(self, *args, stdin=None, env=None, timeout=120):
        return subprocess.run([binary_for(self, env), *args], cwd=self.dir, env=self.env(env), input=stdin,
                              capture_output=True, timeout=timeout)

    def mpirun(self, n, *args, stdin=None, env=None, timeout=180):
        cmd = [self.mpiexec, *self.preflags, "-np", str(n), binary_for(self, env), *args]
        try:
            return subprocess.run(cmd, cwd=self.dir, env=self.env(env), input=stdin, capture_output=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"{' '.join(cmd)}: no result in {timeout} s (a hang?)")


def ok(p, what):
    check(p.returncode == 0, f"{what}: exit {p.returncode}\nstdout: {p.stdout[:400]!r}\n"
                             f"stderr: {p.stderr.decode(errors='replace')[:2000]}")


def our_lines(p):
    """pagequery's own stderr lines (mpirun adds its banners around them)."""
    return [l for l in p.stderr.decode(errors="replace").splitlines() if l.startswith("pagequery")]


def pages_of(response):
    """The answers of a response, in key order, as bytes."""
    doc = json.loads(response)
    return [bytes.fromhex(h[2:]) for r in doc["results"] for h in r["pages"]]


def write_matrix(path, pages, partial=700):
    """`pages` pages (the last one `partial` bytes short: zero-padded by the reader)."""
    out = bytearray()
    n = 0
    size = pages * PAGE - partial
    while len(out) < size:
        out += hashlib.sha256(b"pagequery mpi test %d" % n).digest()
        n += 1
    with open(path, "wb") as f:
        f.write(out[:size])
    return bytes(out[:size]) + bytes(partial)


def keygen(ctx, d, x, format="morphogen"):
    p = ctx.serial("keygen", "--format", format, "--domain-bits", str(d), "--index", str(x))
    ok(p, "keygen")
    doc = json.loads(p.stdout)
    return doc["party0"], doc["party1"]


def request(keys):
    return json.dumps({"queries": [{"keys": keys[i:i + 3]} for i in range(0, len(keys), 3)]}).encode()


def compare_answers(ctx, matrix, req, ranks, policies=POLICIES):
    """mpirun -np N == one rank, byte for byte, for every policy and rank count."""
    for pol in policies:
        ref = ctx.serial("answer", "--matrix-file", matrix, *pol, stdin=req)
        ok(ref, f"serial answer {pol}")
        for n in ranks:
            p = ctx.mpirun(n, "answer", "--matrix-file", matrix, *pol, stdin=req)
            ok(p, f"mpirun -np {n} answer {pol}")
            check(p.stdout == ref.stdout, f"-np {n} {pol}: the answers differ from one rank's")
            check(our_lines(p) == [], f"-np {n} {pol}: stderr {our_lines(p)}")
    return ref.stdout


def check_reconstruction(matrix_bytes, targets, out0, out1):
    a, b = pages_of(out0), pages_of(out1)
    for i, x in enumerate(targets):
        want = matrix_bytes[x * PAGE:(x + 1) * PAGE].ljust(PAGE, b"\0")
        check(bytes(u ^ v for u, v in zip(a[i], b[i])) == want, f"party0 XOR party1 of key {i} != page {x}")


# ------------------------------------------------------------------ answer

def case_answer_fixture(ctx, n):
    """The fixture (6 pages): -np n equals the checked-in response (the Python derivation)."""
    matrix = os.path.join(ctx.data, "fixture_matrix.bin")
    with open(os.path.join(ctx.data, "fixture_request.json"), "rb") as f:
        req = f.read()
    with open(os.path.join(ctx.data, "fixture_response.json"), "rb") as f:
        expected = f.read().rstrip(b"\n")
    out = compare_answers(ctx, matrix, req, [n])
    check(out.rstrip(b"\n") == expected, "the answer differs from data/fixture_response.json")
    # --request FILE as well as stdin (stdin reaches rank 0 only).
    p = ctx.mpirun(n, "answer", "--matrix-file", matrix, "--request",
                   os.path.join(ctx.data, "fixture_request.json"))
    ok(p, "--request FILE")
    check(p.stdout.rstrip(b"\n") == expected, "--request FILE: the answer differs")
    if n == 1:
        # Started by hand, MPI_Init is skipped; PAGEQUERY_MPI=1 forces a singleton MPI.
        p = ctx.serial("answer", "--matrix-file", matrix, stdin=req, env={"PAGEQUERY_MPI": "1"})
        ok(p, "PAGEQUERY_MPI=1")
        check(p.stdout.rstrip(b"\n") == expected, "PAGEQUERY_MPI=1: the answer differs")


def case_answer_packed(ctx):
    """Packed keys: the fixture under -np 3 is the checked-in packed response; 300 pages
    (3 leaves, d = 2) over 2 and 4 ranks cut inside leaves reduce to one rank's bytes."""
    with open(os.path.join(ctx.data, "fixture_request_packed.json"), "rb") as f:
        req = f.read()
    with open(os.path.join(ctx.data, "fixture_response_packed.json"), "rb") as f:
        expected = f.read().rstrip(b"\n")
    out = compare_answers(ctx, os.path.join(ctx.data, "fixture_matrix.bin"), req, [3], policies=[[]])
    check(out.rstrip(b"\n") == expected, "the answer differs from data/fixture_response_packed.json")
    matrix = ctx.path("three_hundred.bin")
    data = write_matrix(matrix, 300)
    targets = [0, 127, 128, 200, 299, 511]  # 511 lies past the end (zero)
    pairs = [keygen(ctx, 2, x, "packed") for x in targets]
    out0 = compare_answers(ctx, matrix, request([k0 for k0, _ in pairs]), [2, 4])
    out1 = compare_answers(ctx, matrix, request([k1 for _, k1 in pairs]), [4], policies=[[]])
    check_reconstruction(data, targets, out0, out1)


def case_answer_zero_page_rank(ctx):
    """3 pages over 4 and 5 ranks: the last ranks hold no page and still take part."""
    matrix = ctx.path("three.bin")
    data = write_matrix(matrix, 3)
    targets = [0, 1, 2, 3, 2]  # d = 2: page 3 lies past the end (zero)
    pairs = [keygen(ctx, 2, x) for x in targets]
    req0 = request([k0 for k0, _ in pairs] + [pairs[0][0]])
    req1 = request([k1 for _, k1 in pairs] + [pairs[0][1]])
    out0 = compare_answers(ctx, matrix, req0, [4, 5])
    out1 = compare_answers(ctx, matrix, req1, [4], policies=[[]])
    check_reconstruction(data, targets, out0, out1)


def case_answer_uneven(ctx):
    """7 pages over 2, 3 and 4 ranks: shards 4+3, 3+2+2, 2+2+2+1."""
    matrix = ctx.path("seven.bin")
    data = write_matrix(matrix, 7)
    targets = [0, 3, 4, 6, 5, 7]
    pairs = [keygen(ctx, 3, x) for x in targets]
    out0 = compare_answers(ctx, matrix, request([k0 for k0, _ in pairs]), [2, 3, 4])
    out1 = compare_answers(ctx, matrix, request([k1 for _, k1 in pairs]), [3], policies=[[]])
    check_reconstruction(data, targets, out0, out1)


def case_answer_refusals(ctx):
    """A refusal on any rank: every rank exits 2, one pagequery line on stderr, no hang."""
    matrix = os.path.join(ctx.data, "fixture_matrix.bin")
    with open(os.path.join(ctx.data, "fixture_request.json"), "rb") as f:
        req = f.read()
    cases = [
        ("invalid JSON on stdin", ["answer", "--matrix-file", matrix], b'{"queries": [', None, r"invalid JSON"),
        ("a missing matrix", ["answer", "--matrix-file", ctx.path("nope.bin")], req, None, r"--matrix-file: "),
        ("a missing request file", ["answer", "--matrix-file", matrix, "--request", ctx.path("nope.json")], b"",
         None, r"request: cannot open"),
        ("a bad env switch", ["answer", "--matrix-file", matrix], req, {"MORPHOGEN_GPU_STREAMS": "9"},
         r"MORPHOGEN_GPU_STREAMS must be an integer in 1\.\.8"),
        ("wrong domain bits", ["answer", "--matrix-file", matrix],
         request(list(keygen(ctx, 5, 1)) + [keygen(ctx, 5, 2)[0]]), None, r"domain bits"),
        # PAGEQUERY_TEST_GPUS: the CPU build binds as on a node of that many GPUs.
        ("3 ranks on 2 GPUs", ["answer", "--matrix-file", matrix], req, {"PAGEQUERY_TEST_GPUS": "2"},
         r"^pagequery: ranks 0 and 2 would share GPU 0 of their node: .* or pass --share-gpus$"),
        ("a bad GPU layout", ["answer", "--matrix-file", matrix], req, {"PAGEQUERY_GPU_LAYOUT": "per-rank"},
         r"PAGEQUERY_GPU_LAYOUT must be per-task or per-node, got 'per-rank'"),
        ("per-task, but all GPUs seen", ["answer", "--matrix-file", matrix], req,
         {"PAGEQUERY_TEST_GPUS": "4", "PAGEQUERY_GPU_LAYOUT": "per-task"}, r"the GPU layout is per-task, but"),
    ]
    for what, args, stdin, env, pattern in cases:
        p = ctx.mpirun(3, *args, stdin=stdin, env=env, timeout=60)
        check(p.returncode == 2, f"{what}: exit {p.returncode}, expected 2: {p.stderr.decode(errors='replace')}")
        lines = our_lines(p)
        check(len(lines) == 1 and re.search(pattern, lines[0]),
              f"{what}: expected one 'pagequery:' line matching /{pattern}/, got {lines}")
        check(p.stdout == b"", f"{what}: refused but wrote stdout")


def case_answer_shared_gpu(ctx):
    """Ranks on their own GPUs, and 3 ranks sharing one with --share-gpus: one rank's bytes."""
    matrix = os.path.join(ctx.data, "fixture_matrix.bin")
    with open(os.path.join(ctx.data, "fixture_request.json"), "rb") as f:
        req = f.read()
    ref = ctx.serial("answer", "--matrix-file", matrix, stdin=req)
    ok(ref, "serial answer")
    for gpus, flags in (("4", []), ("1", ["--share-gpus"])):
        p = ctx.mpirun(3, "answer", "--matrix-file", matrix, *flags, stdin=req, env={"PAGEQUERY_TEST_GPUS": gpus})
        ok(p, f"-np 3 on {gpus} GPU(s) {flags}")
        check(p.stdout == ref.stdout and our_lines(p) == [], f"{gpus} GPU(s) {flags}: {our_lines(p)}")


# ------------------------------------------------------------------- sweep

SWEEP = ["--batch-sizes", "1,3", "--strategies", "fused,baseline_full_batch,multi_stream_2,cuda_graph_replay",
         "--iterations", "2", "--warmup", "1", "--seed", "11"]


def sweep_cells(h5py, path):
    with h5py.File(path, "r") as f:
        runs = sorted(f["runs"])
        check(len(runs) == 1, f"runs {runs}")
        g = f["runs"][runs[0]]
        return dict(g.attrs), g["cells"][()], g["samples"][()]


def compare_sweep(ctx, n, pages, concurrency="1", threads="1"):
    """An MPI sweep reduces to the bytes of a one-rank sweep (same seed, same checksums)."""
    h5py = need_h5py()
    args = ["sweep", "--synthetic-pages", str(pages), *SWEEP, "--concurrency", concurrency]
    env = {"OMP_NUM_THREADS": threads}
    ref = ctx.serial(*args, "--output", ctx.path("serial.h5"), env=env)
    ok(ref, "serial sweep")
    p = ctx.mpirun(n, *args, "--output", ctx.path("mpi.h5"), env=env)
    ok(p, f"mpirun -np {n} sweep")
    out = p.stdout.decode()
    check(out.count("## pagequery sweep ") == 1, f"only rank 0 prints the summary:\n{out}")
    check("`checksum_match=1` for all" in out, out)
    check(f"- ranks: {n} (MPI" in out and "MPI reduction per batch" in out, out)
    progress = [l for l in p.stderr.decode().splitlines() if l.startswith("[cell ")]
    cells_planned = 4 * 2 * len(concurrency.split(","))
    check(len(progress) == cells_planned, f"rank 0 alone reports progress: {len(progress)} lines")

    a, cells, samples = sweep_cells(h5py, ctx.path("mpi.h5"))
    ra, rcells, _ = sweep_cells(h5py, ctx.path("serial.h5"))
    check(int(a["mpi_ranks"]) == n and int(ra["mpi_ranks"]) == 1, "mpi_ranks")
    base, extra = divmod(pages, n)
    layout, first = [], 0
    for r in range(n):
        count = base + (1 if r < extra else 0)
        layout.append([first, count])
        first += count
    check(json.loads(text(a["shard_layout"])) == layout, f"shard_layout {a['shard_layout']} != {layout}")
    check(json.loads(text(ra["shard_layout"])) == [[0, pages]], "one rank's shard_layout")
    check(int(a["pages"]) == pages and int(a["local_pages"]) == layout[0][1], "pages / rank 0's shard")
    check(text(a["status"]) == "complete", f"status {a['status']}")
    check("mpi_library" in a and text(a["mpi_library"]) != "", "mpi_library")
    check(len(cells) == cells_planned, f"{len(cells)} cells")
    check(all(cells["checksum_match"] == 1), "checksum_match")
    check(list(cells["single_checksum"]) == list(rcells["single_checksum"]), "single checksums != one rank's")
    check(list(cells["batch_checksum"]) == list(rcells["batch_checksum"]), "batch checksums != one rank's")
    check(all(rcells["single_reduce_ms"] == 0) and all(rcells["batch_reduce_ms"] == 0), "one rank reduces nothing")
    check(all(cells["batch_reduce_ms"] > 0) and all(cells["single_reduce_ms"] > 0), "reductions are timed")
    # C = 1 only: with C > 1 the main thread times the iteration between two thread
    # barriers, and on oversubscribed cores it may take both stamps late.
    one = cells["concurrency"] == 1
    check(all(cells["batch_reduce_ms"][one] <= cells["batch_ms_mean"][one]), "the reduction is part of the batch time")
    check(all(cells["single_reduce_ms"][one] <= cells["single_ms_mean"][one]),
          "the reduction is part of the single time")
    import numpy as np
    for i, row in enumerate(cells):
        for path, name in ((0, "single_reduce_ms"), (1, "batch_reduce_ms")):
            r = samples["reduce_ms"][(samples["cell"] == i) & (samples["path"] == path)]
            check(np.isclose(row[name], r.mean(), rtol=1e-12), f"{name} = mean of the samples' reduce_ms")
    # report prints the reduction tables for the MPI run, not for the serial one.
    rep = ctx.serial("report", ctx.path("mpi.h5"))
    ok(rep, "report")
    check("MPI reduction per query in the single loop" in rep.stdout.decode(), rep.stdout.decode())
    rep = ctx.serial("report", ctx.path("serial.h5"))
    check("MPI reduction" not in rep.stdout.decode() and "- ranks:" not in rep.stdout.decode(), "serial report")
    csv = ctx.serial("report", ctx.path("mpi.h5"), "--csv").stdout.decode().splitlines()
    check(",single_reduce_ms,batch_reduce_ms," in csv[0], csv[0])


def case_sweep_np2(ctx):
    compare_sweep(ctx, 2, 300, concurrency="1,2", threads="2")


def case_sweep_np3_uneven(ctx):
    compare_sweep(ctx, 3, 7)


def case_sweep_zero_page_rank(ctx):
    compare_sweep(ctx, 4, 3)


def case_sweep_mismatch(ctx):
    h5py = need_h5py()
    out = ctx.path("m.h5")
    p = ctx.mpirun(2, "sweep", "--synthetic-pages", "64", "--batch-sizes", "2", "--strategies", "fused,tiled_tile4",
                   "--iterations", "2", "--warmup", "0", "--seed", "3", "--output", out,
                   env={"PAGEQUERY_TEST_FLIP_BATCH_BYTE": "1"})
    check(p.returncode == 1, f"exit {p.returncode}, expected 1: {p.stderr.decode(errors='replace')}")
    lines = [l for l in our_lines(p) if not l.startswith("pagequery sweep:")]
    check(len(lines) == 1 and "checksum mismatch" in lines[0], f"stderr {lines}")
    a, cells, _ = sweep_cells(h5py, out)
    check(text(a["status"]) == "checksum_mismatch", f"status {a['status']}")
    check(all(cells["checksum_match"] == 0), "checksum_match must be 0")


def case_sweep_refusals(ctx):
    """Refused sweeps: all ranks exit 2 with one line, and nothing is written."""
    with open(ctx.path("notes.txt"), "w") as f:
        f.write("not a results file\n")
    for what, args, env, pattern in [
        ("a bad flag", ["--batch-sizes", "33"], None, r"--batch-sizes"),
        ("an unknown flag", ["--bogus"], None, r"bogus"),
        ("a non-HDF5 output", ["--batch-sizes", "2", "--output", ctx.path("notes.txt")], None, r"not an HDF5 file"),
        ("a bad env switch", ["--batch-sizes", "2", "--output", ctx.path("x.h5")], {"MORPHOGEN_GPU_STREAMS": "many"},
         r"MORPHOGEN_GPU_STREAMS"),
    ]:
        p = ctx.mpirun(2, "sweep", "--synthetic-pages", "64", *args, env=env, timeout=60)
        check(p.returncode == 2, f"{what}: exit {p.returncode}: {p.stderr.decode(errors='replace')}")
        lines = our_lines(p)
        check(len(lines) == 1 and re.search(pattern, lines[0]), f"{what}: stderr {lines}")
    check(not os.path.exists(ctx.path("x.h5")), "nothing written")


def case_sweep_dry_run(ctx):
    p = ctx.mpirun(3, "sweep", "--dry-run", "--synthetic-pages", "10", "--strategies", "fused", "--batch-sizes", "1,2")
    ok(p, "dry run")
    out = p.stdout.decode()
    check(out.count("pagequery sweep: dry run") == 1, f"rank 0 alone prints:\n{out}")
    check("ranks: 3 (MPI), shards [first, count] [[0,4],[4,3],[7,3]]" in out, out)
    check("cells: 2" in out and os.listdir(ctx.dir) == [], out)


def case_sweep_interrupt(ctx):
    """SIGTERM to the launcher reaches every rank: all stop together, rank 0 writes the partial run."""
    h5py = need_h5py()
    out = ctx.path("i.h5")
    cmd = [ctx.mpiexec, *ctx.preflags, "-np", "2", ctx.bin, "sweep", "--synthetic-pages", "3000",
           "--batch-sizes", ",".join(str(q) for q in range(1, 33)), "--strategies", "fused,baseline_full_batch",
           "--iterations", "20", "--warmup", "0", "--seed", "1", "--checkpoint-interval", "0", "--output", out]
    proc = subprocess.Popen(cmd, cwd=ctx.dir, env=ctx.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 90
    while not os.path.exists(out) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    if proc.poll() is not None:
        raise Failure(f"the sweep ended before it could be interrupted: {proc.communicate()}")
    proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise Failure("the ranks did not stop after SIGTERM")
    check(proc.returncode != 0, f"exit {proc.returncode}")
    with h5py.File(out, "r") as f:
        g = f["runs"][sorted(f["runs"])[0]]
        check(text(g.attrs["status"]) == "interrupted by SIGTERM", f"status {g.attrs['status']}")
        check(0 < len(g["cells"]) < 64, f"{len(g['cells'])} cells")
        check(int(g.attrs["mpi_ranks"]) == 2, "mpi_ranks")


CASES = {
    "answer_np1": lambda ctx: case_answer_fixture(ctx, 1),
    "answer_np2": lambda ctx: case_answer_fixture(ctx, 2),
    "answer_np3": lambda ctx: case_answer_fixture(ctx, 3),
    "answer_zero_page_rank": case_answer_zero_page_rank,
    "answer_uneven": case_answer_uneven,
    "answer_refusals": case_answer_refusals,
    "answer_packed": case_answer_packed,
    "answer_shared_gpu": case_answer_shared_gpu,
    "sweep_np2": case_sweep_np2,
    "sweep_np3_uneven": case_sweep_np3_uneven,
    "sweep_zero_page_rank": case_sweep_zero_page_rank,
    "sweep_mismatch": case_sweep_mismatch,
    "sweep_refusals": case_sweep_refusals,
    "sweep_dry_run": case_sweep_dry_run,
    "sweep_interrupt": case_sweep_interrupt,
}


def main(cases):
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(cases))
    ap.add_argument("--pagequery", required=True)
    ap.add_argument("--pagequery-hooks", required=True, help="pagequery_testhooks (tests/test_hooks.cpp)")
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--preflag", action="append", help="an mpiexec flag before -np (repeatable)")
    ap.add_argument("--data", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    return run_case(cases, Ctx(args), args.case)


if __name__ == "__main__":
    sys.exit(main(CASES))
