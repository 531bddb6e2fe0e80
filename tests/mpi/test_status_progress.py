"""`status` shows a running task's own progress (RunContext::progress, stored in /tasks/progress by
the master's flush) while the sweep runs, under mpiexec; the column is cleared when the run ends;
an archive written before the column existed is still read, shown and resumed."""
import json
import math
import time

from harness import *

SPEC = """
[sweep]
name = "p"
experiment = "noop"
seeds = 1
[grid]
work_us = [%d]
"""


def test_status_shows_a_running_tasks_progress():
    workdir()
    # One task of 4 s of CPU time; noop reports the share of its work done.
    write("s.toml", SPEC % 4000000)
    job = start("run", "s.toml", ranks=2)
    seen, deadline = [], time.time() + 120
    try:
        while time.time() < deadline and job.poll() is None:
            time.sleep(0.3)
            p = mpisweep("status", "results/p.h5", "--format", "json", expect=None)
            if p.returncode != 0:
                continue  # not created yet
            running = json.loads(p.stdout)["running"]
            seen += [r["progress"] for r in running]
            if any(0 < f < 1 for f in seen):
                text = mpisweep("status", "results/p.h5").stdout
                check("running, as the tasks last reported:" in text, text)
                with h5py.File("results/p.h5", "r", swmr=True, libver="latest") as f:
                    stored = f["tasks/progress"][:]
                check(len(stored) == 1 and not math.isnan(stored[0]), "h5py sees it: %s" % stored)
                break
    finally:
        out, err = job.communicate(timeout=300)
    check(job.returncode == 0, "the run ends well: %s" % err)
    check(any(0 < f < 1 for f in seen), "a fraction strictly between 0 and 1 was shown: %s" % seen)
    check(seen == sorted(seen), "progress only grows: %s" % seen)
    with h5py.File("results/p.h5", "r") as f:
        check(math.isnan(f["tasks/progress"][0]), "cleared when the task ended")
    check(json.loads(mpisweep("status", "results/p.h5", "--format", "json").stdout)["running"]
          == [], "nothing runs after the sweep")


def test_an_archive_without_the_progress_column_is_read_and_resumed():
    workdir()
    write("s.toml", SPEC % 0)
    mpisweep("run", "s.toml")
    with h5py.File("results/p.h5", "r+") as f:
        del f["tasks/progress"]  # as written before the column existed
    before = mpisweep("status", "results/p.h5").stdout
    check("tasks: 1 total, 1 done" in before, before)
    write("s.toml", SPEC.replace("seeds = 1", "seeds = 2") % 0)
    mpisweep("run", "s.toml")
    check("tasks: 2 total, 2 done" in mpisweep("status", "results/p.h5").stdout, "resumed")


if __name__ == "__main__":
    main([test_status_shows_a_running_tasks_progress,
          test_an_archive_without_the_progress_column_is_read_and_resumed])
