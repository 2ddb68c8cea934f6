#!/usr/bin/env python3
"""CLI tests of what a sweep decides (issue 25): the verdict, `compare`, the stopping
rule (run by ctest, one case each).

    decide_tests.py CASE --pagequery BIN --sbatch apps/slurm/sweep.sbatch --workdir DIR

Exit 0: pass, 1: fail, 77: skipped (no h5py in this python3).
"""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testsupport import check, need_h5py, sweep_driver_main  # noqa: E402
from sweep_tests import Ctx, one_line_error  # noqa: E402

# At Q = 1 both run the same single launch (full batch; adaptive is full batch up to Q = 4).
SAME_WORK = ["--synthetic-pages", "256", "--batch-sizes", "1", "--strategies",
             "baseline_full_batch,adaptive_micro_batch", "--warmup", "2", "--seed", "5"]


def verdict_rows(stdout):
    """The verdict table's rows: (C, Q, fastest, runner-up, lead, verdict)."""
    rows = []
    for line in stdout.split("### Verdict", 1)[1].split("\n### ", 1)[0].splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) == 9 and cols[0].isdigit():
            rows.append((int(cols[0]), int(cols[1]), cols[2], cols[4], cols[5], cols[6]))
    return rows


def scale_cell(h5py, path, strategy, factor):
    """Multiplies one strategy's batch times (statistics and samples, wall and device) by factor."""
    with h5py.File(path, "r+") as f:
        g = f["runs"][list(f["runs"])[-1]]
        cells, samples = g["cells"][()], g["samples"][()]
        for i, row in enumerate(cells):
            if strategy is not None and row["strategy"].decode() != strategy:
                continue
            for name in cells.dtype.names:
                if name.startswith("batch_") and name.endswith(tuple(
                        ("_min", "_median", "_mean", "_stddev", "_max", "_ci_low", "_ci_high"))):
                    cells[name][i] *= factor
            sel = (samples["cell"] == i) & (samples["path"] >= 1)
            samples["ms"][sel] *= factor
        g["cells"][...] = cells
        g["samples"][...] = samples


def case_verdict_tie(ctx):
    """Two strategies doing identical work, measured on this (loaded) machine: a tie."""
    p = ctx.run("sweep", *SAME_WORK, "--iterations", "21", "--output", ctx.path("t.h5"), expect=0)
    rows = verdict_rows(p.stdout)
    check(len(rows) == 1, p.stdout)
    check(rows[0][5] == "tie", f"identical work should tie:\n{p.stdout}")
    check(p.stdout.index("### Verdict") < p.stdout.index("### Batch-vs-single speedup"), "the verdict comes first")


def case_verdict_wins(ctx):
    """The same run with one strategy's times doubled: the other wins."""
    h5py = need_h5py()
    out = ctx.path("w.h5")
    ctx.run("sweep", *SAME_WORK, "--iterations", "41", "--output", out, expect=0)
    scale_cell(h5py, out, "adaptive_micro_batch", 2.0)
    p = ctx.run("report", out, expect=0)
    rows = verdict_rows(p.stdout)
    check(len(rows) == 1 and rows[0][2] == "baseline_full_batch" and rows[0][3] == "adaptive_micro_batch", p.stdout)
    check(rows[0][5] == "wins", p.stdout)
    lead = float(rows[0][4].rstrip(" %"))
    check(lead > 50, f"a 2x difference leads by far: {rows[0]}")  # not 100 % exactly: the two medians differ a little


def case_compare(ctx):
    """A run against itself: no change. Against a copy 10 % slower: flagged, --fail-above 5 exits 1."""
    h5py = need_h5py()
    import numpy as np
    a, b = ctx.path("a.h5"), ctx.path("b.h5")
    ctx.run("sweep", "--synthetic-pages", "128", "--batch-sizes", "1,2", "--strategies", "fused,tiled_tile4",
            "--iterations", "60", "--warmup", "1", "--seed", "9", "--output", a, expect=0)
    p = ctx.run("compare", a, a, "--fail-above", "5", expect=0)
    marks = re.findall(r"\| (same|\*\*slower\*\*|faster) \|$", p.stdout, re.M)
    check(marks == ["same"] * 4, f"a run against itself:\n{p.stdout}")
    # A's batch times made steady (1 % spread; their statistics left for the reader to derive
    # from the samples, as for runs written before the intervals), then B = A 10 % slower.
    with h5py.File(a, "r+") as f:
        run = list(f["runs"])[-1]
        g = f["runs"][run]
        cells, samples = g["cells"][()], g["samples"][()]
        for i in range(len(cells)):
            sel = (samples["cell"] == i) & (samples["path"] == 1)
            samples["ms"][sel] = (1 + i) * (1 + 0.01 * np.arange(sel.sum()) / sel.sum())
            cells["batch_ms_max"][i] = samples["ms"][sel].max()
            cells["batch_ms_median_ci_high"][i] = 0
        g["cells"][...] = cells
        g["samples"][...] = samples
    shutil.copy(a, b)
    scale_cell(h5py, b, None, 1.1)
    p = ctx.run("compare", a + ":" + run, b, expect=0)
    marks = re.findall(r"\| (same|\*\*slower\*\*|faster) \|$", p.stdout, re.M)
    check(marks == ["**slower**"] * 4, f"a 10 % slowdown is flagged:\n{p.stdout}")
    ratios = re.findall(r"\| (\d+\.\d+) \[[^|]*\] \| (?:same|\*\*slower\*\*|faster) \|$", p.stdout, re.M)
    check(ratios == ["1.100"] * 4, f"B / A is 1.1 in every cell: {ratios}\n{p.stdout}")
    p = ctx.run("compare", a, b, "--fail-above", "5", expect=1)
    one_line_error(p, r"^pagequery: 4 of 4 cells are significantly slower by more than 5 % \(the first: fused Q=1 C=1, B / A = 1\.100\)")
    ctx.run("compare", a, b, "--fail-above", "15", expect=0)
    one_line_error(ctx.run("compare", a + ":nope", b, expect=2), r"no run 'nope'")
    one_line_error(ctx.run("compare", a, ctx.path("missing.h5"), expect=2), r"missing\.h5: no such file")


def case_stopping_rule(ctx):
    """Without --iterations, a cell stops at the rule: min samples, then noise or max time."""
    h5py = need_h5py()
    out = ctx.path("s.h5")
    p = ctx.run("sweep", "--synthetic-pages", "64", "--batch-sizes", "1", "--strategies", "fused",
                "--min-samples", "12", "--max-noise", "50", "--min-time", "0", "--max-time", "20",
                "--output", out, expect=0)
    check("stopping rule: min samples 12, max noise 50 %, min time 0 s, max time 20 s" in p.stdout, p.stdout)
    with h5py.File(out, "r") as f:
        g = f["runs"][list(f["runs"])[-1]]
        check(int(g.attrs["iterations"]) == 0 and int(g.attrs["min_samples"]) == 12, dict(g.attrs))
        cell = g["cells"][()][0]
    check(cell["iterations"] >= 12, f"at least min samples: {cell['iterations']}")
    # max time wins over min samples
    p = ctx.run("sweep", "--synthetic-pages", "64", "--batch-sizes", "1", "--strategies", "fused",
                "--min-samples", "1000000", "--min-time", "0", "--max-time", "0.3", "--output", out, expect=0)
    with h5py.File(out, "r") as f:
        cell = f["runs"][list(f["runs"])[-1]]["cells"][()][0]
    check(1 <= cell["iterations"] < 1000000, f"max time stops the cell: {cell['iterations']}")
    for flags, pattern in ((["--min-samples", "0"], r"--min-samples"), (["--max-noise", "-1"], r"--max-noise"),
                           (["--min-time", "3", "--max-time", "2"], r"--min-time \(3 s\) must not exceed")):
        one_line_error(ctx.run("sweep", "--dry-run", *flags, expect=2), pattern)


def case_cold(ctx):
    """--cold is recorded (attribute cold, the settings line) and measures; warm runs say cold = 0."""
    h5py = need_h5py()
    out = ctx.path("c.h5")
    cold = ctx.run("sweep", *SAME_WORK, "--iterations", "2", "--cold", "--output", out, expect=0).stdout
    warm = ctx.run("sweep", *SAME_WORK, "--iterations", "2", "--output", out, expect=0).stdout
    check("warmup=2, cold caches" in cold and "cold caches" not in warm, cold + warm)
    with h5py.File(out, "r") as f:
        runs = sorted(f["runs"])
        check([int(f["runs"][r].attrs["cold"]) for r in runs] == [1, 0], [dict(f["runs"][r].attrs) for r in runs])
        check(all(c["iterations"] == 2 for c in f["runs"][runs[0]]["cells"][()]), "cold cells measured")
    check("cold caches" in ctx.run("report", out, "--run", runs[0], expect=0).stdout, "report of the cold run")


def case_pandas(ctx):
    """apps/pagequery_results.py: the cells, samples and runs as pandas frames with str columns."""
    need_h5py()
    try:
        import pandas  # noqa: F401
    except ImportError:
        print("no pandas in this python3: skipped")
        sys.exit(77)
    sys.path.insert(0, os.path.join(ROOT, "apps"))
    import pagequery_results as pq
    out = ctx.path("p.h5")
    ctx.run("sweep", *SAME_WORK, "--iterations", "3", "--output", out, expect=0)
    cells = pq.cells(out)
    check(list(cells["strategy"]) == ["baseline_full_batch", "adaptive_micro_batch"], cells["strategy"])
    check(all(isinstance(cells[c][0], str) for c in ("strategy", "mode", "dpf")), cells.dtypes)
    check(cells["queries"].dtype.kind in "iu" and cells["batch_ms_median"].dtype.kind == "f", cells.dtypes)
    check(cells.attrs["units"]["batch_ms_median"] == "ms", cells.attrs)
    samples = pq.samples(out)
    check(len(samples[(samples["cell"] == 0) & (samples["path"] == 1)]) == 3, samples)
    runs = pq.runs(out)
    check(runs["run"].iloc[-1] == cells.attrs["run"] and isinstance(runs["device"].iloc[0], str), runs)
    try:
        pq.cells(out, run="nope")
        check(False, "an unknown run is refused")
    except ValueError as e:
        check("no run 'nope'" in str(e), e)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "docs", "json-schema.json")


def validate(value, schema, root, where="$"):
    """The subset of JSON Schema that docs/json-schema.json uses ($ref, oneOf, type,
    const, enum, required, properties, items); raises Failure naming the place."""
    if "$ref" in schema:
        return validate(value, root["$defs"][schema["$ref"].rsplit("/", 1)[1]], root, where)
    if "oneOf" in schema:
        ok = 0
        for option in schema["oneOf"]:
            try:
                validate(value, option, root, where)
                ok += 1
            except Exception:  # noqa: BLE001 (a mismatch of one option)
                pass
        return check(ok == 1, f"{where}: matches {ok} of the oneOf options")
    types = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
             "integer": int, "number": (int, float)}
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        check(any(isinstance(value, types[t]) and not (t in ("integer", "number") and isinstance(value, bool))
                  for t in names), f"{where}: {value!r} is not {names}")
    if "const" in schema:
        check(value == schema["const"], f"{where}: {value!r} != {schema['const']!r}")
    if "enum" in schema:
        check(value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}")
    for key in schema.get("required", []):
        check(key in value, f"{where}: no {key!r}")
    for key, sub in schema.get("properties", {}).items():
        if key in value:
            validate(value[key], sub, root, f"{where}.{key}")
    if "items" in schema:
        for i, item in enumerate(value):
            validate(item, schema["items"], root, f"{where}[{i}]")


def case_json(ctx):
    """sweep, report and compare --json validate against docs/json-schema.json."""
    import json
    with open(SCHEMA) as f:
        schema = json.load(f)
    out = ctx.path("j.h5")
    ctx.run("sweep", *SAME_WORK, "--iterations", "5", "--output", out, "--json", ctx.path("sweep.json"), expect=0)
    ctx.run("report", out, "--json", ctx.path("report.json"), expect=0)
    ctx.run("compare", out, out, "--fail-above", "5", "--json", ctx.path("compare.json"), expect=0)
    docs = {}
    for name in ("sweep", "report", "compare"):
        with open(ctx.path(name + ".json")) as f:
            docs[name] = json.load(f)
        validate(docs[name], schema, schema)
    check(docs["sweep"]["benchmarks"] == docs["report"]["benchmarks"], "sweep and report write the same benchmarks")
    b = docs["report"]["benchmarks"]
    check([x["path"] for x in b] == ["single", "batch", "batch_device"] * 2, b)  # two cells
    check(b[1]["name"] == "baseline_full_batch/dpf:morphogen/Q:1/C:1/batch" and b[1]["iterations"] == 5, b[1])
    check(b[1]["real_time_ci_low"] <= b[1]["real_time"] <= b[1]["real_time_ci_high"], b[1])
    check(docs["report"]["context"]["attributes"]["iterations"] == 5, docs["report"]["context"])
    check(docs["report"]["verdicts"][0]["verdict"] in ("tie", "wins"), docs["report"]["verdicts"])
    check(docs["compare"]["regressions"] == 0 and all(c["change"] == "same" for c in docs["compare"]["changes"]),
          docs["compare"])
    one_line_error(ctx.run("report", out, "--json", ctx.path("no/such/dir.json"), expect=2), r"--json .*cannot write")


def case_version(ctx):
    """--version (also in info), and a mistyped subcommand named with the choices, exit 2."""
    p = ctx.run("--version", expect=0)
    check(re.fullmatch(r"pagequery \d+\.\d+\.\d+ \(git \S+, \S*, .+\)\n", p.stdout), p.stdout)
    one_line_error(ctx.run("sweeep", expect=2),
                   r"^pagequery: unknown subcommand 'sweeep' \(expected: keygen, answer, info, sweep, report, "
                   r"combine, updates, compare, matrix\)$")


def case_metadata(ctx):
    """Build metadata in every run; strings are UTF-8 (attributes read as str), units per cells field."""
    h5py = need_h5py()
    out = ctx.path("m.h5")
    ctx.run("sweep", *SAME_WORK, "--iterations", "2", "--output", out, expect=0)
    with h5py.File(out, "r") as f:
        g = f["runs"][list(f["runs"])[-1]]
        for key in ("compiler", "cxx_flags", "build_type", "kokkos_config", "device", "status"):
            check(isinstance(g.attrs[key], str), f"{key}: {g.attrs[key]!r} is not str")
        check(g.attrs["compiler"] != "" and "devices=" in g.attrs["kokkos_config"], dict(g.attrs))
        cells = g["cells"]
        for name in ("strategy", "mode", "dpf"):
            info = h5py.check_string_dtype(cells.dtype[name])
            check(info is not None and info.encoding == "utf-8", f"{name}: {info}")
        units = dict(zip(cells.dtype.names, cells.attrs["units"]))
        check(units["batch_ms_median"] == "ms" and units["batch_ms_noise_pct"] == "%" and units["queries"] == "1"
              and units["batch_qps"] == "1/s" and units["strategy"] == "", units)
        check(len(units) == len(cells.dtype.names) and all(isinstance(u, str) for u in units.values()), units)


README = os.path.join(os.path.dirname(SCHEMA), os.pardir, "README.md")


def case_readme_round_trip(ctx):
    """The README's five commands, exactly: the pages come back byte for byte."""
    import subprocess
    with open(README) as f:
        block = f.read().split("<!-- round trip: tests/sweep/decide_tests.py readme_round_trip -->\n```\n", 1)[1]
    commands = block.split("\n```", 1)[0].splitlines()
    check(len(commands) == 5 and all(c.startswith("pagequery ") for c in commands), commands)
    env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(ctx.bin)) + os.pathsep + os.environ["PATH"])
    env.setdefault("OMP_NUM_THREADS", "2")
    for command in commands:
        p = subprocess.run(["bash", "-c", command], cwd=ctx.dir, env=env, capture_output=True, text=True, timeout=120)
        check(p.returncode == 0, f"{command}: exit {p.returncode}\n{p.stderr}")
    with open(ctx.path("m.bin"), "rb") as f:
        matrix = f.read()
    with open(ctx.path("pages.bin"), "rb") as f:
        pages = f.read()
    check(len(matrix) == 300 * 4096, "the matrix")
    check(pages == b"".join(matrix[i * 4096:(i + 1) * 4096] for i in (2, 5, 299)), "the pages read privately")


def case_matrix_file(ctx):
    """`matrix` writes the bytes `sweep --synthetic-pages` scans: the same checksums."""
    h5py = need_h5py()
    ctx.run("matrix", "--synthetic-pages", "200", "--matrix-seed", "4", "-o", ctx.path("m.bin"), expect=0)
    common = ["--batch-sizes", "2", "--strategies", "fused", "--iterations", "1", "--warmup", "0", "--seed", "3"]
    ctx.run("sweep", "--synthetic-pages", "200", "--matrix-seed", "4", *common, "--output", ctx.path("s.h5"), expect=0)
    ctx.run("sweep", "--matrix-file", ctx.path("m.bin"), *common, "--output", ctx.path("f.h5"), expect=0)
    sums = []
    for name in ("s.h5", "f.h5"):
        with h5py.File(ctx.path(name), "r") as f:
            sums.append(int(f["runs"][list(f["runs"])[-1]]["cells"][()][0]["single_checksum"]))
    check(sums[0] == sums[1], f"synthetic and file checksums differ: {sums}")
    one_line_error(ctx.run("matrix", "--synthetic-pages", "4", "--fill", "zeros", "-o", ctx.path("x"), expect=2),
                   r"--fill")
    one_line_error(ctx.run("keygen", "--domain-bits", "9", "--indices", "2,5", "--request", ctx.path("r"),
                           expect=2), r"--indices: a request holds 3 pages a query")


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


if __name__ == "__main__":
    sys.exit(sweep_driver_main(CASES, Ctx))
