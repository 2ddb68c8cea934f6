#!/usr/bin/env python3
"""Batch QPS vs batch size Q, one line per strategy and key format, for one run of a
`pagequery sweep` results file (layout: data/README.md, "HDF5 results layout").

    plot_qps.py RESULTS.h5 RUN_ID OUT.png

One panel per concurrency; log2 x axis; the dashed lines are the single-query
loop of each key format (the same latency policy in every cell, averaged over
strategies).
`pagequery report --plot` runs this script. Exit codes: 0 ok (the last line of
stdout is "plot_qps.py: wrote OUT.png"), 2 bad input, 3 h5py or matplotlib missing.
"""
import sys


def main(argv):
    if len(argv) != 4:
        print("usage: plot_qps.py RESULTS.h5 RUN_ID OUT.png", file=sys.stderr)
        return 2
    path, run, out = argv[1:]
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
        f = h5py.File(path, "r")
    except OSError as e:
        print(f"plot_qps.py: {path}: {e}", file=sys.stderr)
        return 2
    with f:
        if "runs" not in f or run not in f["runs"]:
            print(f"plot_qps.py: {path}: no run '{run}'", file=sys.stderr)
            return 2
        group = f["runs"][run]
        if "cells" not in group or group["cells"].shape[0] == 0:
            print(f"plot_qps.py: {path}: run '{run}' has no cells", file=sys.stderr)
            return 2
        cells = group["cells"][()]
        attrs = {k: group.attrs[k] for k in group.attrs}

    def text(value):
        return value.decode() if isinstance(value, bytes) else str(value)

    # Runs before packed keys have no dpf column: Morphogen's keys only.
    dpf = np.array([text(d) or "morphogen" for d in cells["dpf"]] if "dpf" in cells.dtype.names
                   else ["morphogen"] * len(cells))
    strategy = np.array([s if d == "morphogen" else f"{s} ({d})"
                         for s, d in zip((text(s) for s in cells["strategy"]), dpf)])
    names = list(dict.fromkeys(strategy))  # order of first appearance
    concurrencies = sorted(set(int(c) for c in cells["concurrency"]))

    fig, axes = plt.subplots(1, len(concurrencies), figsize=(6.4 * len(concurrencies), 4.8), squeeze=False)
    for ax, c in zip(axes[0], concurrencies):
        in_c = cells["concurrency"] == c
        qs = sorted(set(int(q) for q in cells["queries"][in_c]))
        for name in names:
            rows = cells[in_c & (strategy == name)]
            order = np.argsort(rows["queries"])
            ax.plot(rows["queries"][order], rows["batch_qps"][order], marker="o", label=name)
        for fmt, style in zip(dict.fromkeys(dpf), ("--", ":")):
            in_f = in_c & (dpf == fmt)
            fqs = [q for q in qs if np.any(in_f & (cells["queries"] == q))]
            single = [float(np.mean(cells["single_qps"][in_f & (cells["queries"] == q)])) for q in fqs]
            ax.plot(fqs, single, linestyle=style, color="black",
                    label="single loop" if fmt == "morphogen" else f"single loop ({fmt})")
        try:
            ax.set_xscale("log", base=2)
        except TypeError:  # matplotlib < 3.3
            ax.set_xscale("log", basex=2)
        ax.set_xticks(qs)
        ax.set_xticklabels([str(q) for q in qs])
        ax.set_xlabel("Q (queries per batch)")
        ax.set_ylabel("QPS (batch)")
        ax.set_title(f"concurrency {c}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")

    device = text(attrs.get("device", "?"))
    pages = attrs.get("pages")
    size = attrs.get("size_bytes")
    matrix = ""
    if pages is not None and size is not None:
        size = int(size)
        human = f"{size / 2**30:.2f} GiB" if size >= 2**30 else f"{size / 2**20:.2f} MiB"
        matrix = f", {int(pages)} pages ({human})"
    accumulate = text(attrs.get("accumulate", "lop3"))  # runs before --accumulate ran lop3
    fig.suptitle(f"pagequery sweep {run}, accumulate {accumulate}\n{device}{matrix}", fontsize="medium")
    fig.tight_layout()
    # format="png": without it, a name with no extension gets ".png" appended (noext
    # became noext.png, /dev/full became /dev/full.png) and the caller names a file
    # that was never written. The last line says what was written.
    fig.savefig(out, dpi=120, format="png")
    print(f"plot_qps.py: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
