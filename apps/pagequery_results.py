"""pandas frames of `pagequery sweep` results files (layout: data/README.md, "HDF5
results layout"). h5py reads the string fields of the cells as bytes; these frames
hold them as str, and carry the fields' units in `frame.attrs["units"]`.

    import sys; sys.path.insert(0, "<prefix>/share/pagequery")  # or the source's apps/
    import pagequery_results as pq
    pq.runs("results.h5")                  # one row per run (in the order report lists them)
    cells = pq.cells("results.h5")         # the last run's cells; run="<id>" for another
    cells.groupby(["dpf", "queries"]).batch_ms_median.min()
    pq.samples("results.h5")               # every measured iteration (path 0 single, 1 batch, ...)

Needs h5py and pandas (Debian: python3-h5py, python3-pandas).
"""
import h5py
import pandas

__all__ = ["runs", "cells", "samples"]


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _run_order(run):
    """Run ids are a UTC stamp and, for later runs of the same second, "-N": by stamp, then N
    (the order of `pagequery report --list`)."""
    stamp, dash, suffix = run.rpartition("-")
    if dash and suffix.isdigit() and len(suffix) <= 9:
        return stamp, int(suffix)
    return run, 1


def _ids(f):
    return sorted(f["runs"], key=_run_order) if "runs" in f else []


def _frame(dataset):
    frame = pandas.DataFrame(dataset[()])
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].map(_text)
    if "units" in dataset.attrs:
        frame.attrs["units"] = dict(zip(dataset.dtype.names, (_text(u) for u in dataset.attrs["units"])))
    return frame


def _group(f, path, run):
    ids = _ids(f)
    if not ids:
        raise ValueError(f"{path}: no runs")
    if run is None:
        run = ids[-1]
    if run not in ids:
        raise ValueError(f"{path}: no run '{run}' (runs: {', '.join(ids)})")
    return f["runs"][run], run


def runs(path):
    """One row per run: `run` (its id) and its attributes, strings as str."""
    with h5py.File(path, "r") as f:
        rows = [{"run": run, **{k: _text(v) for k, v in f["runs"][run].attrs.items()}} for run in _ids(f)]
    return pandas.DataFrame(rows)


def _table(path, run, name):
    with h5py.File(path, "r") as f:
        group, run = _group(f, path, run)
        frame = _frame(group[name])
    frame.attrs["run"] = run
    return frame


def cells(path, run=None):
    """The cells of `run` (default: the last), one row each, strings as str."""
    return _table(path, run, "cells")


def samples(path, run=None):
    """The raw samples of `run` (default: the last): cell, path, iteration, ms, reduce_ms."""
    return _table(path, run, "samples")
