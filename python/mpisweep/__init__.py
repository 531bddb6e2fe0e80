"""mpisweep's Python package (docs/your-experiment.md, docs/archive.md).

Read an archive:  mpisweep.load(path) -> pandas DataFrame, one row per task;
                  mpisweep.series(path, name) -> {task id: numpy array};
                  mpisweep.summary(path, group_by=[...]) -> what `mpisweep show` prints.
Write a command task in Python: mpisweep.task (params(), seed(), threads(), report(...)).
"""
from .archive import STATUS_NAMES, load, open_archive, series, summary
from . import task

__all__ = ["load", "series", "summary", "open_archive", "STATUS_NAMES", "task"]
