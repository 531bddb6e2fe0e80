"""Helpers for a Python program that is the task of a `command` experiment.

mpisweep starts the program once per task (design.md "Your own experiments", section 1) with
  - the task's parameters as one JSON object on stdin and in MPISWEEP_PARAMS,
  - MPISWEEP_SEED, MPISWEEP_TASK_ID (16 hex digits), MPISWEEP_THREADS (and OMP_NUM_THREADS),
  - MPISWEEP_RESULT: the path of the file the result goes to,
and expects {"metrics": {name: number}, "series": {name: [numbers]}} in that file (or as the last
line of stdout), and exit status 0. Everything here is a function of the environment and stdin:

    from mpisweep import task
    p = task.params()
    rng = numpy.random.default_rng(task.seed())
    ...
    task.report(metrics={"loss": loss}, series={"curve": curve})

To try a task by hand, give what mpisweep would:
    MPISWEEP_PARAMS='{"lr": 0.01}' MPISWEEP_SEED=1 python3 train.py
"""
import json
import math
import os
import sys
import tempfile

__all__ = ["params", "seed", "threads", "task_id", "report", "result_json"]

_params_cache = None


def params():
    """The task's parameters as a dict (JSON types: int, float, bool, str). From MPISWEEP_PARAMS,
    else from the JSON object on stdin (read once)."""
    global _params_cache
    if _params_cache is None:
        text = os.environ.get("MPISWEEP_PARAMS")
        source = "MPISWEEP_PARAMS"
        if text is None:
            if sys.stdin is None or sys.stdin.isatty():
                raise RuntimeError("mpisweep.task: no parameters: MPISWEEP_PARAMS is not set and "
                                   "stdin is a terminal (set MPISWEEP_PARAMS='{...}' to run the "
                                   "task by hand)")
            text, source = sys.stdin.read(), "stdin"
        try:
            value = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError("mpisweep.task: %s is not JSON: %s" % (source, e)) from None
        if not isinstance(value, dict):
            raise ValueError("mpisweep.task: %s is not a JSON object" % source)
        _params_cache = value
    return dict(_params_cache)


def _env_int(name, default):
    text = os.environ.get(name)
    if text is None:
        if default is None:
            raise RuntimeError("mpisweep.task: %s is not set (is this running under mpisweep?)"
                               % name)
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError("mpisweep.task: %s=%r is not an integer" % (name, text)) from None


def seed(default=None):
    """The task's seed (MPISWEEP_SEED), an unsigned 64-bit integer. Seed every random number
    generator of the task from it, so its results depend on (parameters, seed) alone."""
    return _env_int("MPISWEEP_SEED", default)


def threads(default=1):
    """Threads the task may use (MPISWEEP_THREADS; OMP_NUM_THREADS is set to the same)."""
    return _env_int("MPISWEEP_THREADS", default)


def task_id(default=None):
    """The task's stable id, 16 hex digits (MPISWEEP_TASK_ID), as in `mpisweep.load`'s id."""
    value = os.environ.get("MPISWEEP_TASK_ID", default)
    if value is None:
        raise RuntimeError("mpisweep.task: MPISWEEP_TASK_ID is not set (is this running under "
                           "mpisweep?)")
    return value


def _number(what, x):
    try:
        v = float(x)  # numpy scalars, ints and bools become plain floats
    except (TypeError, ValueError):
        raise TypeError("mpisweep.task.report: %s is %r, not a number" % (what, x)) from None
    if not math.isfinite(v):
        # JSON has no NaN or infinity; a metric that does not apply is left out instead.
        raise ValueError("mpisweep.task.report: %s is %r; JSON allows finite numbers only"
                         % (what, v))
    return v


def result_json(metrics=None, series=None):
    """The result object as one line of JSON: {"metrics": {...}, "series": {...}}. Values are
    checked here (numbers, finite) so a mistake shows in the task's own traceback."""
    out = {"metrics": {}, "series": {}}
    for name, value in (metrics or {}).items():
        out["metrics"][str(name)] = _number("metric %r" % name, value)
    for name, values in (series or {}).items():
        flat = values.ravel().tolist() if hasattr(values, "ravel") else list(values)
        out["series"][str(name)] = [_number("series %r[%d]" % (name, i), v)
                                    for i, v in enumerate(flat)]
    # repr of a float reads back to the same double, so nothing is lost on the way.
    return json.dumps(out, separators=(",", ":"), allow_nan=False)


def report(metrics=None, series=None):
    """Hands the task's result to mpisweep: writes it to the file MPISWEEP_RESULT names
    (atomically: a temporary file in the same folder, then a rename, so a task killed half-way
    never leaves half a result), else prints it as the last line of stdout. Call it once, at the
    end; the program must then exit with status 0."""
    text = result_json(metrics, series)
    path = os.environ.get("MPISWEEP_RESULT")
    if not path:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        return
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".result-", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
