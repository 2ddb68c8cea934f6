#!/usr/bin/env python3
"""apps/slurm/*.sbatch, unchanged, submitted to the one-node Slurm of cluster.sh
(run by ctest inside its fixture, one case each):

    slurm_tests.py CASE --pagequery BIN --repo SRC --cluster RECORD --workdir DIR

The scripts run as written: their #SBATCH lines (the node has 8 GPUs without
devices), their environment variables for the binary, the Spack switch and the
sweep's arguments, and sbatch options where the cluster is smaller than theirs.
Exit 0: pass, 1: fail, 77: skipped.
"""
import argparse
import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from testsupport import SKIP, Failure, binary_for, check, need_h5py, text, run_case  # noqa: E402

# The small synthetic matrix: 2 strategies x 2 batch sizes, a second or two.
SMALL = ("--synthetic-pages 300 --strategies fused,baseline_full_batch --batch-sizes 1,4 "
         "--iterations 2 --warmup 0 --concurrency 1 --seed 5")
SMALL_CELLS = [(s, q) for s in ("fused", "baseline_full_batch") for q in (1, 4)]
# Far more than the one-minute limit (Slurm enforces it up to 30 s late): 64 cells
# of a few seconds, each iteration short enough to end within KillWait.
LONG_Q = range(1, 33)
LONG = ("--synthetic-pages 2048 --strategies fused,baseline_full_batch --batch-sizes "
        + ",".join(map(str, LONG_Q)) + " --iterations 60 --warmup 0 --concurrency 1 --seed 9")
LONG_CELLS = [(s, q) for s in ("fused", "baseline_full_batch") for q in LONG_Q]
LONG_ITERATIONS = 60

ACTIVE = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING"}


class Ctx:
    def __init__(self, args):
        self.bin = args.pagequery
        self.hooks = args.pagequery_hooks
        self.scripts = os.path.join(args.repo, "apps", "slurm")
        if not os.path.exists(args.cluster):  # slurm.cluster_start skipped (a failed one runs no case)
            print(f"SKIP: no test cluster ({args.cluster} is missing; see slurm.cluster_start)")
            sys.exit(SKIP)
        with open(args.cluster) as f:
            self.conf = os.path.join(f.read().strip(), "etc", "slurm.conf")
        self.dir = args.workdir
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.jobs = []

    def path(self, name):
        return os.path.join(self.dir, name)

    def env(self, **extra):
        """The submitter's environment (sbatch exports it to the job): our cluster,
        no Spack, the CPU build, one OpenMP thread per process."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLURM_", "SBATCH_", "PAGEQUERY_", "MORPHOGEN_GPU_", "OMPI_", "PMI"))}
        env.update(SLURM_CONF=self.conf, PAGEQUERY_SPACK_ENV="none", PAGEQUERY_BIN=binary_for(self, extra),
                   OMP_NUM_THREADS="1", OMP_PROC_BIND="false")
        env.update(extra)
        return env

    def slurm(self, *argv):
        p = subprocess.run(argv, env=self.env(), capture_output=True, text=True, timeout=60)
        check(p.returncode == 0, f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()}")
        return p.stdout

    def submit(self, script, *options, env):
        p = subprocess.run(["sbatch", "--parsable", *options, os.path.join(self.scripts, script)],
                           cwd=self.dir, env=env, capture_output=True, text=True, timeout=60)
        check(p.returncode == 0, f"sbatch {script}: exit {p.returncode}: {p.stderr.strip()}")
        job = p.stdout.strip().split(";")[0]
        self.jobs.append(job)
        return job

    def job(self, job):
        """`scontrol show job` with details (JOB_GRES: the GPUs allocated), as a dict;
        Slurm keeps it for MinJobAge after the job ends."""
        out = self.slurm("scontrol", "-o", "-d", "show", "job", job)
        return dict(field.partition("=")[::2] for field in out.split())

    def wait(self, job, timeout):
        deadline = time.time() + timeout
        while True:
            info = self.job(job)
            if info["JobState"] not in ACTIVE:
                print(f"job {job} {info['JobName']}: {info['JobState']}, exit code {info['ExitCode']}, "
                      f"ran {info['RunTime']} ({info['StartTime']} .. {info['EndTime']})")
                return info
            if time.time() > deadline:
                raise Failure(f"job {job} still {info['JobState']} after {timeout} s")
            time.sleep(0.5)

    def log(self, name, job):
        with open(self.path(f"{name}-{job}.out")) as f:
            return f.read()

    def cancel_leftovers(self):
        """A failed case leaves no job behind to delay the next one."""
        if self.jobs:
            subprocess.run(["scancel", *self.jobs], env=self.env(), capture_output=True, timeout=60)


def finished(ctx, job, state, exit_code, timeout=240):
    info = ctx.wait(job, timeout)
    check(info["JobState"] == state and info["ExitCode"] == exit_code,
          f"job {job}: {info['JobState']} {info['ExitCode']}, expected {state} {exit_code}")
    return info


def read_run(h5py, path):
    with h5py.File(path, "r") as f:
        runs = list(f["runs"])
        check(len(runs) == 1, f"{path}: runs {runs}")
        g = f["runs"][runs[0]]
        return {k: g.attrs[k] for k in g.attrs}, g["cells"][()], g["samples"][()]


def csv_rows(results, run_id):
    """The CSV the script writes beside the results: the run's cells."""
    with open(results[:-3] + ".csv") as f:
        rows = list(csv.DictReader(io.StringIO(f.read())))
    check(all(r["run"] == run_id for r in rows), f"the CSV holds another run than {run_id}")
    return rows


def progress_lines(log):
    """The sweep's "[cell k/N]" lines in the job log: (k, N) in order."""
    return [(int(k), int(n)) for k, n in re.findall(r"^\[cell (\d+)/(\d+)\] ", log, re.M)]


def check_complete_run(h5py, results, log, job, cells_expected):
    attrs, cells, _ = read_run(h5py, results)
    n = len(cells_expected)
    check(text(attrs["status"]) == "complete", f"status {attrs['status']}")
    check(int(attrs["cells_done"]) == n == len(cells), f"{len(cells)} cells, expected {n}")
    check([(text(c["strategy"]), int(c["queries"])) for c in cells] == cells_expected, "cells")
    check(all(cells["checksum_match"] == 1) and all(cells["single_checksum"] == cells["batch_checksum"]),
          "checksums differ")
    check(text(attrs["slurm_job_id"]) == job, f"slurm_job_id {attrs['slurm_job_id']}")
    check(progress_lines(log) == [(k, n) for k in range(1, n + 1)], f"progress lines in the log:\n{log}")
    for title in ("Batch-vs-single speedup", "Batch latency", "Batch throughput"):
        check(title in log, f"the log lacks the table {title!r}:\n{log}")
    check(f"`checksum_match=1` for all {n} rows" in log, log)
    check(len(csv_rows(results, text(attrs["run_id"]))) == n, "CSV rows")
    return attrs, cells


# ------------------------------------------------------------------ cases

def case_sweep(ctx):
    """sweep.sbatch: its own #SBATCH lines (8 CPUs, 1 GPU, 45 min), the small matrix."""
    h5py = need_h5py()
    job = ctx.submit("sweep.sbatch", env=ctx.env(PAGEQUERY_SWEEP_ARGS=SMALL, OMP_NUM_THREADS="2"))
    info = finished(ctx, job, "COMPLETED", "0:0")
    check(info["JobName"] == "pagequery-sweep" and info["NumCPUs"] == "8" and info["TimeLimit"] == "00:45:00",
          f"not the script's #SBATCH lines: {info}")
    check(info.get("JOB_GRES") == "gpu:1", f"GRES {info.get('JOB_GRES')}, not the script's one GPU")
    log = ctx.log("pagequery-sweep", job)
    first = re.match(rf"pagequery sweep: job {job} on {re.escape(socket.gethostname())}, GPUs (\d)\n", log)
    check(first, f"the log's first line:\n{log}")
    attrs, _ = check_complete_run(h5py, ctx.path(f"pagequery-sweep-{job}.h5"), log, job, SMALL_CELLS)
    check(f"CUDA_VISIBLE_DEVICES={first.group(1)}" in text(attrs["runtime_env"]).split(),
          f"runtime_env {attrs['runtime_env']}: not the job's GPU")


# 1 node x 2 ranks on 2 GPUs (sbatch options over the script's 2 x 4 on 4 GPUs a node).
TWO_RANKS = ("--nodes=1", "--ntasks-per-node=2", "--gpus-per-node=2")


def job_gpus(log, layout):
    """The job's GPUs (Slurm's CUDA_VISIBLE_DEVICES of the batch script), from the log's first line."""
    m = re.search(rf" tasks, GPUs ([\d,]+) on the first node, layout {layout}\n", log)
    check(m, f"no line of the job's GPUs and layout {layout!r}:\n{log}")
    return m.group(1).split(",")


def case_sweep_mpi(ctx):
    """sweep_mpi.sbatch as 1 node x 2 ranks, per-task GPUs (the default): the bytes of one process."""
    h5py = need_h5py()
    # PAGEQUERY_TEST_GPUS: the CPU build binds GPUs as a CUDA build would (the fake ones).
    job = ctx.submit("sweep_mpi.sbatch", *TWO_RANKS, env=ctx.env(PAGEQUERY_SWEEP_ARGS=SMALL, PAGEQUERY_TEST_GPUS="8"))
    info = finished(ctx, job, "COMPLETED", "0:0")
    check(info["NumNodes"] == "1" and info["NumTasks"] == "2" and info["NumCPUs"] == "16",
          f"not 2 tasks of the script's 8 CPUs: {info}")
    check(info.get("JOB_GRES") == "gpu:2", f"GRES {info.get('JOB_GRES')}, not the job's 2 GPUs")
    log = ctx.log("pagequery-sweep-mpi", job)
    node = socket.gethostname().split(".")[0]  # the cluster's node name (hostname -s)
    check(f"pagequery sweep (MPI): job {job}, nodes {node}, 2 tasks, GPUs " in log, log)
    gpus = job_gpus(log, "per-task")
    check(len(gpus) == 2, f"the job holds GPUs {gpus}, not 2")
    check(f"GPUs of the ranks: rank 0 on GPU {gpus[0]}, rank 1 on GPU {gpus[1]}\n" in log,
          f"not one GPU of the job for each rank ({gpus}):\n{log}")
    check("- ranks: 2 (MPI" in log and "MPI reduction per batch" in log, log)
    results = ctx.path(f"pagequery-sweep-mpi-{job}.h5")
    attrs, cells = check_complete_run(h5py, results, log, job, SMALL_CELLS)
    check(re.search(r"(^| )CUDA_VISIBLE_DEVICES=\d( |$)", text(attrs["runtime_env"])),
          f"rank 0 does not see one GPU: runtime_env {attrs['runtime_env']}")
    check(int(attrs["mpi_ranks"]) == 2 and json.loads(text(attrs["shard_layout"])) == [[0, 150], [150, 150]],
          f"ranks {attrs['mpi_ranks']}, shards {attrs['shard_layout']}")
    # One process, outside Slurm, same arguments: the same checksums.
    env = ctx.env()
    del env["SLURM_CONF"]
    one = ctx.path("one-process.h5")
    p = subprocess.run([ctx.bin, "sweep", *SMALL.split(), "--output", one], cwd=ctx.dir, env=env,
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"one-process sweep: exit {p.returncode}: {p.stderr}")
    ref_attrs, ref, _ = read_run(h5py, one)
    check(int(ref_attrs["mpi_ranks"]) == 1, "the reference ran as one rank")
    for name in ("single_checksum", "batch_checksum"):
        check(list(cells[name]) == list(ref[name]), f"{name}: 2 ranks {list(cells[name])} != 1 {list(ref[name])}")


def case_gpu_layouts(ctx):
    """sweep_mpi.sbatch's other GPU layouts: per-node (the local rank picks), shared (2 ranks, 1 GPU),
    and the refusals: two ranks on one GPU without --share-gpus, a layout the script does not know."""
    env = ctx.env(PAGEQUERY_SWEEP_ARGS=SMALL, PAGEQUERY_TEST_GPUS="8")
    per_node = ctx.submit("sweep_mpi.sbatch", *TWO_RANKS, env=dict(env, PAGEQUERY_GPU_LAYOUT="per-node"))
    one_gpu = ("--nodes=1", "--ntasks-per-node=2", "--gpus-per-node=1")
    shared = ctx.submit("sweep_mpi.sbatch", *one_gpu, env=dict(env, PAGEQUERY_GPU_LAYOUT="shared"))
    refused = ctx.submit("sweep_mpi.sbatch", *one_gpu, env=dict(env, PAGEQUERY_GPU_LAYOUT="per-node"))
    unknown = ctx.submit("sweep_mpi.sbatch", *TWO_RANKS, env=dict(env, PAGEQUERY_GPU_LAYOUT="per-gpu"))
    expected = [(per_node, "per-node", lambda g: f"rank 0 on GPU {g[0]}, rank 1 on GPU {g[1]}"),
                (shared, "per-node --share-gpus", lambda g: f"rank 0 on GPU {g[0]}, rank 1 on GPU {g[0]}")]
    for job, layout, ranks in expected:
        finished(ctx, job, "COMPLETED", "0:0")
        log = ctx.log("pagequery-sweep-mpi", job)
        check(f"GPUs of the ranks: {ranks(job_gpus(log, layout))}\n" in log, f"job {job}:\n{log}")
    finished(ctx, refused, "FAILED", "2:0")
    log = ctx.log("pagequery-sweep-mpi", refused)
    gpu = job_gpus(log, "per-node")[0]
    line = (f"pagequery: ranks 0 and 1 would share GPU {gpu} of their node: give each rank a GPU of its own "
            "(srun --gpus-per-task=1, or no more ranks per node than GPUs), or pass --share-gpus\n")
    check(log.count("pagequery: ") == 1 and line in log, f"not the one refusal line {line!r}:\n{log}")
    finished(ctx, unknown, "FAILED", "1:0")
    check(ctx.log("pagequery-sweep-mpi", unknown) ==
          "sweep_mpi.sbatch: PAGEQUERY_GPU_LAYOUT must be per-task, per-node or shared, got 'per-gpu'\n",
          ctx.log("pagequery-sweep-mpi", unknown))


def check_partial_run(h5py, results, log, job, iterations, ranks):
    """A run cut by the time limit: readable, marked, every cell finished before the signal."""
    check(f"*** JOB {job} ON " in log and "DUE TO TIME LIMIT ***" in log, log)
    progress = progress_lines(log)
    check(progress and progress == [(k, len(LONG_CELLS)) for k in range(1, len(progress) + 1)],
          f"progress lines:\n{log}")
    started = len(progress)  # the cell running at the signal keeps its finished iterations
    attrs, cells, samples = read_run(h5py, results)
    n = len(cells)
    check(text(attrs["status"]) == "interrupted by SIGTERM", f"status {attrs['status']}")
    check(int(attrs["cells_done"]) == n and int(attrs["cells_planned"]) == len(LONG_CELLS), "cell counts")
    check(1 <= n < len(LONG_CELLS) and started - 1 <= n <= started,
          f"{n} cells written, {started} started before the signal")
    check([(text(c["strategy"]), int(c["queries"])) for c in cells] == LONG_CELLS[:n], "not the plan's first cells")
    check(all(cells["checksum_match"] == 1), "checksum_match")
    done = [int(c["iterations"]) for c in cells]  # the last may be cut short
    check(all(i == iterations for i in done[:-1]) and 1 <= done[-1] <= iterations, f"iterations {done}")
    check(len(samples) == 3 * sum(done), f"{len(samples)} samples for cells of {done} iterations")  # single, batch, device
    check(int(attrs["mpi_ranks"]) == ranks, f"mpi_ranks {attrs['mpi_ranks']}")
    check(f"sweep interrupted by SIGTERM after {n} of {len(LONG_CELLS)} cells" in log, log)
    check("Batch throughput" in log, f"the partial run's tables are not in the log:\n{log}")
    check(len(csv_rows(results, text(attrs["run_id"]))) == n, "the CSV beside it (the script outlived SIGTERM)")
    return n


def case_time_limit(ctx):
    """Both scripts under --time=1 (command line over #SBATCH): SIGTERM mid-sweep, partial runs."""
    h5py = need_h5py()
    env = ctx.env(PAGEQUERY_SWEEP_ARGS=LONG)
    jobs = [("pagequery-sweep", ctx.submit("sweep.sbatch", "--time=1", env=env), 1),
            ("pagequery-sweep-mpi", ctx.submit("sweep_mpi.sbatch", "--time=1", *TWO_RANKS, env=env), 2)]
    for name, job, ranks in jobs:
        info = ctx.wait(job, 200)
        check(info["JobState"] == "TIMEOUT" and info["TimeLimit"] == "00:01:00", f"job {job}: {info}")
        n = check_partial_run(h5py, ctx.path(f"{name}-{job}.h5"), ctx.log(name, job), job, LONG_ITERATIONS, ranks)
        print(f"job {job}: {n} of {len(LONG_CELLS)} cells written before the time limit")


def case_prerequisites(ctx):
    """A missing binary or Spack fails the job at once, with one line in its log."""
    a = ctx.submit("sweep.sbatch", env=ctx.env(PAGEQUERY_BIN=ctx.path("no-such-pagequery")))
    env = ctx.env(PAGEQUERY_SPACK_ENV=ctx.dir, PATH="/usr/bin:/bin")
    env.pop("SPACK_ROOT", None)
    b = ctx.submit("sweep_mpi.sbatch", *TWO_RANKS, env=env)
    expected = [("pagequery-sweep", a, f"sweep.sbatch: {ctx.path('no-such-pagequery')} is not an executable "
                                       "(build it, or set PAGEQUERY_BIN)\n"),
                ("pagequery-sweep-mpi", b, "sweep_mpi.sbatch: spack not found "
                                           "(set SPACK_ROOT, or PAGEQUERY_SPACK_ENV=none)\n")]
    for name, job, line in expected:
        info = finished(ctx, job, "FAILED", "1:0", timeout=120)
        check(info["RunTime"] <= "00:00:05", f"job {job} took {info['RunTime']}")
        log = ctx.log(name, job)
        check(log == line, f"job {job}'s log is not the one line {line!r}:\n{log}")


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--pagequery", required=True)
    ap.add_argument("--pagequery-hooks", required=True, help="pagequery_testhooks (tests/test_hooks.cpp)")
    ap.add_argument("--repo", required=True)
    ap.add_argument("--cluster", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    ctx = Ctx(args)
    try:
        return run_case(CASES, ctx, args.case)
    finally:
        ctx.cancel_leftovers()


if __name__ == "__main__":
    sys.exit(main())
