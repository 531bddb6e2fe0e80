"""Reading mpisweep archives (docs/archive.md) into pandas and numpy.

Works on a finished archive, on one that `mpisweep run` is writing right now (HDF5 SWMR: every
row the writer has flushed is visible) and on the archive of a killed sweep. Needs only Debian's
python3-h5py, python3-numpy and python3-pandas.

Task ids are given as 16 lower-case hex digits (the `{task_id}` of a command experiment and
MPISWEEP_TASK_ID), not as integers: a uint64 loses digits in JSON, spreadsheets and float
columns, and the hex text is what `mpisweep status` prints.
"""
import math

import h5py
import numpy as np
import pandas as pd

__all__ = ["open_archive", "load", "series", "summary", "STATUS_NAMES"]

# /tasks/status is an int8 enum (docs/archive.md).
STATUS_NAMES = ("pending", "done", "failed", "timeout")
_TASK_COLUMNS = ("id", "seed", "status", "attempts", "worker", "host", "started", "wall_seconds",
                 "error")


def open_archive(path):
    """The archive as an open h5py.File (use it in a `with`). SWMR read first, so it works while a
    sweep writes and after a killed writer; a plain read-only open for files written without
    SWMR."""
    try:
        return h5py.File(path, "r", swmr=True, libver="latest")
    except OSError as swmr_error:
        try:
            return h5py.File(path, "r")
        except OSError:
            raise swmr_error from None


def _hex_ids(ids):
    return np.array(["%016x" % int(i) for i in ids], dtype=object)


def _read(dataset, n):
    """The first n entries of a column; fixed-length strings decoded to str."""
    values = dataset[:n]
    if values.dtype.kind == "S":
        values = np.array([v.decode("utf-8", "replace") for v in values], dtype=object)
    return values


def _rows(f):
    """Rows every task column already has (columns of a live archive may be extended one by
    one, so the shortest one counts)."""
    t = f["tasks"]
    lengths = [t[k].shape[0] for k in ("id", "seed", "status") if k in t]
    for group in ("params", "metrics"):
        if group in t:
            lengths += [t[group][k].shape[0] for k in t[group]]
    return min(lengths) if lengths else 0


def _status_column(codes):
    codes = np.asarray(codes, dtype=np.int64)
    # Codes outside the enum never reach the disk; read them as pending rather than fail.
    codes = np.where((codes >= 0) & (codes < len(STATUS_NAMES)), codes, 0)
    return pd.Categorical.from_codes(codes, categories=STATUS_NAMES)


def load(path):
    """One row per task: `id` (16 hex digits), `seed`, `status` ("pending", "done", "failed",
    "timeout"), `attempts`, `worker`, `host`, `started` (unix time), `wall_seconds`, `error`,
    then one column per parameter and one per metric (NaN where the task produced none).

    A metric whose name is already taken (by a parameter, as in noop's `work_us`, or by a task
    column) is named "metrics/<name>"; a parameter that clashes with a task column
    "params/<name>". df.attrs["params"] and df.attrs["metrics"] list the column names of the
    parameters and metrics; df.attrs["experiment"] and df.attrs["name"] say what the sweep was.
    """
    with open_archive(path) as f:
        t = f["tasks"]
        n = _rows(f)
        columns = {}
        for k in _TASK_COLUMNS:
            if k not in t:
                continue
            col = _read(t[k], n)
            if k == "id":
                col = _hex_ids(col)
            elif k == "status":
                col = _status_column(col)
            columns[k] = col
        params, metrics = [], []
        for k in t["params"] if "params" in t else []:
            name = k if k not in columns else "params/" + k
            columns[name] = _read(t["params"][k], n)
            params.append(name)
        for k in t["metrics"] if "metrics" in t else []:
            name = k if k not in columns else "metrics/" + k
            columns[name] = _read(t["metrics"][k], n)
            metrics.append(name)
        sweep = f["sweep"].attrs if "sweep" in f else {}
        attrs = {k: _text(sweep[k]) for k in ("name", "experiment") if k in sweep}
    df = pd.DataFrame(columns)
    df.attrs.update(attrs, params=params, metrics=metrics)
    return df


def _text(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def series(path, name):
    """The per-task arrays of series `name`: {task id (16 hex digits): numpy float64 array}, for
    the tasks that stored one (length 0 means absent: not done, or nothing recorded). Task i's
    array is values[offset[i] : offset[i] + length[i]] (docs/archive.md); a series with a `shape`
    attribute gives arrays of that shape."""
    with open_archive(path) as f:
        if "series" not in f or name not in f["series"]:
            known = sorted(f["series"]) if "series" in f else []
            raise KeyError("%s: no series %r; the archive has: %s"
                           % (path, name, ", ".join(known) or "none"))
        g = f["series"][name]
        n = min(_rows(f), g["offset"].shape[0], g["length"].shape[0])
        ids = _hex_ids(_read(f["tasks"]["id"], n))
        offset, length = _read(g["offset"], n), _read(g["length"], n)
        values = g["values"]
        shape = tuple(int(s) for s in g.attrs["shape"]) if "shape" in g.attrs else None
        out = {}
        for tid, o, m in zip(ids, offset, length):
            if m <= 0 or o + m > values.shape[0]:
                continue  # absent, or not flushed yet by a live writer
            a = np.asarray(values[o:o + m], dtype=np.float64)
            if shape and int(np.prod(shape)) == m:
                a = a.reshape(shape)
            out[tid] = a
    return out


def _mean_se(values):
    """Mean and standard error of the finite values, exactly as `mpisweep show` computes them
    (src/cli/aggregate.cpp, mean_se): a left-to-right sum, then the sum of squared deviations
    from the mean over n - 1, se = sqrt(var / n). n = 0: both NaN; n = 1: se NaN."""
    finite = [float(x) for x in values if math.isfinite(x)]
    n = len(finite)
    if n == 0:
        return math.nan, math.nan, 0
    total = 0.0
    for x in finite:  # not sum() or numpy: their summation order differs in the last digits
        total += x
    mean = total / n
    if n == 1:
        return mean, math.nan, 1
    ss = 0.0
    for x in finite:
        ss += (x - mean) * (x - mean)
    return mean, math.sqrt(ss / (n - 1) / n), n


def _sort_key(value):
    # The order of `show`: false < true, numbers by value with NaN last, strings by their bytes.
    if isinstance(value, (bool, np.bool_)):
        return (0, int(value))
    if isinstance(value, str):
        return (2, value.encode("utf-8"))
    x = float(value)
    return (1, math.isnan(x), 0.0 if math.isnan(x) else x)


def summary(source, group_by=None, metrics=None):
    """The numbers `mpisweep show ARCHIVE [--group-by ...] [--metric ...] --format json` prints,
    as a DataFrame with one row per group: the group-by parameters, the counts `done`, `failed`,
    `timeout`, `pending`, and per metric `<m>.mean`, `<m>.se` (standard error over the group's
    done tasks) and `<m>.n`, with <m> the metric's name in the archive. `source` is an archive
    path or a DataFrame from load() (filter it first to get what --where gives). group_by=None groups by every parameter (one row per
    parameter point), as `show` does; rows are sorted by the group's values."""
    df = load(source) if not isinstance(source, pd.DataFrame) else source
    params, all_metrics = df.attrs.get("params", []), df.attrs.get("metrics", [])
    keys = list(params if group_by is None else _names(group_by))
    # A metric is named as the archive names it (work_us), also where load() had to prefix it.
    chosen = list(all_metrics if metrics is None else
                  [m if m in all_metrics or "metrics/" + m not in all_metrics else "metrics/" + m
                   for m in _names(metrics)])
    label = {m: m[len("metrics/"):] if m.startswith("metrics/") else m for m in chosen}
    for name, valid, what in [(k, params, "parameter") for k in keys] + \
                             [(m, all_metrics, "metric") for m in chosen]:
        if name not in valid:
            raise KeyError("no %s %r; the archive has: %s" % (what, name, ", ".join(valid)))

    key_columns = [df[k].tolist() for k in keys]
    groups = {}
    for row in range(len(df)):
        key = tuple(_python(c[row]) for c in key_columns)
        groups.setdefault(key, []).append(row)
    status = df["status"].astype(str).to_numpy()
    metric_columns = {m: df[m].to_numpy(dtype=np.float64) for m in chosen}
    out = []
    for key in sorted(groups, key=lambda k: tuple(_sort_key(v) for v in k)):
        rows = groups[key]
        record = dict(zip(keys, key))
        for s in ("done", "failed", "timeout", "pending"):
            record[s] = sum(1 for r in rows if status[r] == s)
        done = [r for r in rows if status[r] == "done"]
        for m in chosen:
            mean, se, n = _mean_se(metric_columns[m][done])
            record[label[m] + ".mean"], record[label[m] + ".se"], record[label[m] + ".n"] = \
                mean, se, n
        out.append(record)
    columns = keys + ["done", "failed", "timeout", "pending"] + \
        [label[m] + s for m in chosen for s in (".mean", ".se", ".n")]
    return pd.DataFrame(out, columns=columns)


def _names(names):
    return [names] if isinstance(names, str) else list(names)


def _python(v):
    return v.item() if isinstance(v, np.generic) else v
