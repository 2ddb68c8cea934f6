#!/usr/bin/env python3
"""Batch QPS vs batch size Q, one line per strategy and key format, for runs of
`pagequery sweep` results files (layout: data/README.md, "HDF5 results layout").

    plot_qps.py RESULTS.h5 RUN_ID OUT.png [RESULTS.h5 RUN_ID ...]

One panel per concurrency; log2 x axis; log y when the values span more than 10x.
A point is the median batch QPS (C * Q / median ms), its error bar the interquartile
range of the per-iteration QPS (runs before the samples were kept: none). Each
strategy has its own marker, each run its own dash pattern (readable in grayscale):
the runs after the first are overlaid, labelled with their run id. The black lines
are the single-query loop of each key format (the same latency policy in every cell,
the median over strategies).
`pagequery report --plot` runs this script. Exit codes: 0 ok (the last line of
stdout is "plot_qps.py: wrote OUT.png"), 2 bad input, 3 h5py or matplotlib missing.
"""
import sys

MARKERS = "osD^vP*Xph<>"
DASHES = ["-", "--", "-.", ":"]


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def load(h5py, np, path, run):
    """(cells, attrs, per-cell batch ms samples) of one run; raises ValueError to refuse."""
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"{path}: {e}")
    with f:
        if "runs" not in f or run not in f["runs"]:
            raise ValueError(f"{path}: no run '{run}'")
        group = f["runs"][run]
        if "cells" not in group or group["cells"].shape[0] == 0:
            raise ValueError(f"{path}: run '{run}' has no cells")
        cells = group["cells"][()]
        attrs = {k: group.attrs[k] for k in group.attrs}
        samples = group["samples"][()] if "samples" in group else None
    batch = [np.array([])] * len(cells)
    if samples is not None and len(samples):
        for i in range(len(cells)):
            batch[i] = samples["ms"][(samples["cell"] == i) & (samples["path"] == 1)]
    if "update_pages" in cells.dtype.names:  # the baseline cells: those with live updates are another plot's
        keep = np.flatnonzero(cells["update_pages"] == 0)
        cells, batch = cells[keep], [batch[i] for i in keep]
    return cells, attrs, batch


def labels_of(np, cells):
    # Runs before packed keys have no dpf column: Morphogen's keys only.
    dpf = np.array([text(d) or "morphogen" for d in cells["dpf"]] if "dpf" in cells.dtype.names
                   else ["morphogen"] * len(cells))
    strategy = np.array([s if d == "morphogen" else f"{s} ({d})"
                         for s, d in zip((text(s) for s in cells["strategy"]), dpf)])
    return dpf, strategy


def qps_points(np, cells, batch, index):
    """Median QPS and its IQR (lower, upper error) of the cells `index`, in Q order."""
    order = index[np.argsort(cells["queries"][index])]
    q, qps, low, high = [], [], [], []
    for i in order:
        n = float(cells["queries"][i]) * float(cells["concurrency"][i])
        median = float(cells["batch_ms_median"][i])
        samples = batch[i]
        point = n / (median / 1e3) if median > 0 else float(cells["batch_qps"][i])
        q25, q75 = (np.percentile(samples, [25, 75]) if len(samples) else (median, median))
        q.append(int(cells["queries"][i]))
        qps.append(point)
        low.append(max(point - n / (q75 / 1e3), 0.0) if q75 > 0 else 0.0)
        high.append(max(n / (q25 / 1e3) - point, 0.0) if q25 > 0 else 0.0)
    return q, qps, low, high


def draw_run(ax, np, run_index, run_label, cells, batch, c, markers, values):
    dpf, strategy = labels_of(np, cells)
    in_c = cells["concurrency"] == c
    dash = DASHES[run_index % len(DASHES)]
    suffix = f" [{run_label}]" if run_label else ""
    for name in dict.fromkeys(strategy[in_c]):
        marker, color = markers.setdefault(name, (MARKERS[len(markers) % len(MARKERS)], f"C{len(markers) % 10}"))
        q, qps, low, high = qps_points(np, cells, batch, np.flatnonzero(in_c & (strategy == name)))
        ax.errorbar(q, qps, yerr=[low, high], marker=marker, color=color, linestyle=dash, capsize=3,
                    label=name + suffix)
        values += qps
    for fmt, style in zip(dict.fromkeys(dpf[in_c]), ("x", "+")):
        in_f = in_c & (dpf == fmt)
        qs = sorted(set(int(q) for q in cells["queries"][in_f]))
        single = [float(np.median(cells["single_qps"][in_f & (cells["queries"] == q)])) for q in qs]
        name = "single loop" if fmt == "morphogen" else f"single loop ({fmt})"
        ax.plot(qs, single, linestyle=dash, marker=style, color="black", label=name + suffix)
        values += single
    return sorted(set(int(q) for q in cells["queries"][in_c]))


def main(argv):
    if len(argv) < 4 or len(argv) % 2:
        print("usage: plot_qps.py RESULTS.h5 RUN_ID OUT.png [RESULTS.h5 RUN_ID ...]", file=sys.stderr)
        return 2
    out = argv[3]
    specs = [(argv[1], argv[2])] + list(zip(argv[4::2], argv[5::2]))
    try:
        import h5py
        import numpy as np
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        print(f"plot_qps.py: needs h5py and matplotlib ({e})", file=sys.stderr)
        return 3

    try:
        runs = [(path, run) + load(h5py, np, path, run) for path, run in specs]
    except ValueError as e:
        print(f"plot_qps.py: {e}", file=sys.stderr)
        return 2

    concurrencies = sorted(set(int(c) for _, _, cells, _, _ in runs for c in cells["concurrency"]))
    fig, axes = plt.subplots(1, len(concurrencies), figsize=(6.4 * len(concurrencies), 4.8), squeeze=False)
    markers = {}  # one marker and colour per strategy, the same in every panel and run
    for ax, c in zip(axes[0], concurrencies):
        values, qs = [], set()
        for k, (path, run, cells, _, batch) in enumerate(runs):
            qs.update(draw_run(ax, np, k, run if len(runs) > 1 else "", cells, batch, c, markers, values))
        try:
            ax.set_xscale("log", base=2)
        except TypeError:  # matplotlib < 3.3
            ax.set_xscale("log", basex=2)
        positive = [v for v in values if v > 0]
        if positive and max(positive) > 10 * min(positive):
            ax.set_yscale("log")
        qs = sorted(qs)
        ax.set_xticks(qs)
        ax.set_xticklabels([str(q) for q in qs])
        ax.set_xlabel("Q (queries per batch)")
        ax.set_ylabel("QPS (batch, median; bars: IQR)")
        ax.set_title(f"concurrency {c}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")

    _, first, _, attrs, _ = runs[0]
    device = text(attrs.get("device", "?"))
    pages = attrs.get("pages")
    size = attrs.get("size_bytes")
    matrix = ""
    if pages is not None and size is not None:
        size = int(size)
        human = f"{size / 2**30:.2f} GiB" if size >= 2**30 else f"{size / 2**20:.2f} MiB"
        matrix = f", {int(pages)} pages ({human})"
    accumulate = text(attrs.get("accumulate", "lop3"))  # runs before --accumulate ran lop3
    title = f"pagequery sweep {first}" + (f" and {len(runs) - 1} more" if len(runs) > 1 else "")
    fig.suptitle(f"{title}, accumulate {accumulate}\n{device}{matrix}", fontsize="medium")
    fig.tight_layout()
    # format="png": without it, a name with no extension gets ".png" appended (noext
    # became noext.png, /dev/full became /dev/full.png) and the caller names a file
    # that was never written. The last line says what was written.
    fig.savefig(out, dpi=120, format="png")
    print(f"plot_qps.py: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
