#!/usr/bin/env python3
"""CLI tests of the sweep's live-updates axis (issue 28, `--update-pages`), run by
ctest, one case each.

    updates_tests.py CASE --pagequery BIN --sbatch apps/slurm/sweep.sbatch --workdir DIR

Exit 0: pass, 1: fail, 77: skipped (no h5py in this python3).
"""
import csv
import io
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testsupport import check, need_h5py, sweep_driver_main  # noqa: E402
from sweep_tests import Ctx, one_line_error  # noqa: E402
from decide_tests import SCHEMA, validate  # noqa: E402

# 2 strategies (one replays a captured graph, which must see the patched pages) x C 1, 2
# x U 0, 16, 64 (64: every page, so every answer changes) = 12 cells of 3 iterations.
TINY = ["--synthetic-pages", "64", "--batch-sizes", "2", "--strategies", "fused,cuda_graph_replay",
        "--concurrency", "1,2", "--iterations", "3", "--warmup", "1", "--seed", "11"]
UPDATES = ["--update-pages", "0,16,64"]


def live_rows(stdout):
    """The Live updates table's rows: (C, strategy, Q, U, ..., latency cost)."""
    check("### Live updates" in stdout, f"no Live updates table:\n{stdout}")
    rows = []
    for line in stdout.split("### Live updates", 1)[1].split("\n### ", 1)[0].splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) == 9 and cols[0].isdigit():
            rows.append(cols)
    return rows


def latest_run(h5py, path):
    f = h5py.File(path, "r")
    return f, f["runs"][list(f["runs"])[-1]]


def case_axis(ctx):
    """--update-pages 0,16,64: the update cells after the baseline, their fields, samples and table."""
    h5py = need_h5py()
    out = ctx.path("u.h5")
    p = ctx.run("sweep", *TINY, *UPDATES, "--output", out, "--json", ctx.path("u.json"), expect=0)
    rows = live_rows(p.stdout)
    check([(r[0], r[1], r[3]) for r in rows] ==
          [(c, s, u) for u in ("16", "64") for c in ("1", "2") for s in ("fused", "cuda_graph_replay")], rows)
    check(all(re.fullmatch(r"\d+\.\d\dx", r[8]) for r in rows), rows)  # a ratio beside every baseline cell
    verdict = p.stdout.split("### Verdict", 1)[1].split("\n### ", 1)[0]
    check(len(re.findall(r"^\| \d", verdict, re.M)) == 2, f"the verdict ranks the baseline cells:\n{verdict}")
    check("`checksum_match=1` for all 12 rows" in p.stdout, p.stdout)

    ctx.run("sweep", *TINY, "--output", ctx.path("plain.h5"), expect=0)
    f, g = latest_run(h5py, out)
    with f:
        cells, samples = g["cells"][()], g["samples"][()]
        units = dict(zip(cells.dtype.names, g["cells"].attrs["units"]))
        check(units["update_pages"] == "1" and units["update_ms_median"] == "ms" and units["update_gbs"] == "GB/s"
              and units["update_ms_noise_pct"] == "%", units)
        check(list(g.attrs["update_pages"]) == [0, 16, 64] and g.attrs["update_zipf"] == 1.0, dict(g.attrs))
        check(list(cells["update_pages"]) == [0] * 4 + [16] * 4 + [64] * 4, cells["update_pages"])
        for i, row in enumerate(cells):
            u = int(row["update_pages"])
            applies = samples["ms"][(samples["cell"] == i) & (samples["path"] == 3)]
            check(row["checksum_match"] == 1, f"cell {i}: checksum mismatch")
            if u == 0:
                check(len(applies) == 0 and row["update_ms_median"] == 0 and row["update_gbs"] == 0, row)
                continue
            check(len(applies) == 3 and row["iterations"] == 3, f"cell {i}: {len(applies)} apply samples")
            check(0 < row["update_ms_min"] <= row["update_ms_median"] <= row["update_ms_max"], row)
            gbs = u * 4096 / row["update_ms_median"] / 1e6
            check(abs(row["update_gbs"] - gbs) <= 1e-9 * gbs, f"update_gbs {row['update_gbs']} != {gbs}")
    f, plain = latest_run(h5py, ctx.path("plain.h5"))
    with f:
        plain_sums = [int(s) for s in plain["cells"][()]["single_checksum"]]
    sums = [int(s) for s in cells["single_checksum"]]
    check(sums[:4] == plain_sums, f"the baseline cells scan the matrix as loaded: {sums[:4]} != {plain_sums}")
    check(all(s not in plain_sums for s in sums[8:]), f"U=64 changes every page, so every answer: {sums}")

    report = ctx.run("report", out, "--json", ctx.path("r.json"), expect=0)
    check(live_rows(report.stdout) == rows, "report prints the sweep's Live updates table")
    with open(SCHEMA) as fh:
        schema = json.load(fh)
    with open(ctx.path("r.json")) as fh:
        doc = json.load(fh)
    validate(doc, schema, schema)
    apply = [b for b in doc["benchmarks"] if b["path"] == "update_apply"]
    check(len(apply) == 8 and apply[0]["name"] == "fused/dpf:morphogen/Q:2/C:1/U:16/update_apply", apply[:1])
    check(abs(apply[0]["items_per_second"] - 16 / (apply[0]["real_time"] / 1e3)) < 1e-6 * apply[0]["items_per_second"],
          apply[0])
    check(len(doc["benchmarks"]) == 4 * 3 + 8 * 4 and len(doc["verdicts"]) == 2, len(doc["benchmarks"]))
    rows_csv = list(csv.DictReader(io.StringIO(ctx.run("report", out, "--csv", expect=0).stdout)))
    check([r["update_pages"] for r in rows_csv] == [str(int(u)) for u in cells["update_pages"]], rows_csv[:1])
    changes = ctx.run("compare", out, out, "--json", ctx.path("c.json"), expect=0)
    with open(ctx.path("c.json")) as fh:
        compared = json.load(fh)
    check(len(compared["changes"]) == 12 and not compared["only_a"], compared["only_a"])
    check("fused Q=2 C=1 U=16" in changes.stdout, changes.stdout)


def case_refusals(ctx):
    """Bad --update-pages / --update-zipf values: one line, exit 2, before anything runs."""
    base = ["sweep", "--dry-run", "--synthetic-pages", "64", "--output", ctx.path("x.h5")]
    for values, pattern in (("65", r"--update-pages 65 exceeds the matrix's 64 pages"),
                            ("0,16,16", r"--update-pages: 16 is listed twice"),
                            ("-1", "whole number of pages, got '-1'"), ("abc", "got 'abc'"), ("1.5", "got '1.5'"),
                            ("16,x", "got 'x'")):
        one_line_error(ctx.run(*base, "--update-pages", values, expect=2), r"^pagequery: .*" + pattern)
    one_line_error(ctx.run(*base, "--update-zipf", "5", expect=2), r"--update-zipf")
    p = ctx.run(*base, "--strategies", "fused", "--batch-sizes", "1", "--update-pages", "16", expect=0)
    check("update pages 0,16 (Zipf s = 1)" in p.stdout and "cells: 2" in p.stdout, p.stdout)
    check("fused U=16 Q=1 C=1" in p.stdout, p.stdout)
    p = ctx.run(*base, "--update-pages", "010", expect=0)  # decimal, not CLI11's octal
    check("update pages 0,10 (" in p.stdout, p.stdout)
    check(not os.path.exists(ctx.path("x.h5")), "a dry run writes nothing")


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


if __name__ == "__main__":
    sys.exit(sweep_driver_main(CASES, Ctx))
