"""mpisweep's Python package (docs/your-experiment.md, docs/archive.md).

Read an archive:  mpisweep.load(path) -> pandas DataFrame, one row per task;
                  mpisweep.series(path, name) -> {task id: numpy array};
                  mpisweep.summary(path, group_by=[...]) -> what `mpisweep show` prints.
Write a command task in Python: mpisweep.task (params(), seed(), threads(), report(...)).

The readers need h5py, numpy and pandas; mpisweep.task needs nothing beyond the standard library,
so the readers are imported on first use and a task program starts fast on any Python 3.
"""
import importlib

__all__ = ["load", "series", "summary", "open_archive", "STATUS_NAMES", "task"]
_READERS = {"load", "series", "summary", "open_archive", "STATUS_NAMES"}


def __getattr__(name):
    # import_module, not `from . import`: the latter asks this very function again.
    if name in _READERS:
        return getattr(importlib.import_module(__name__ + ".archive"), name)
    if name == "task":
        return importlib.import_module(__name__ + ".task")
    raise AttributeError("module 'mpisweep' has no attribute %r" % name)
