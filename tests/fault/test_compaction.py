"""Compaction at the end of a run (issue 11 item 13): the live-writer lock is held until the
compacted copy has replaced the archive, so a second run started meanwhile is refused instead of
writing rows the rename throws away; a symlinked archive path stays a symlink. The test-only
MPISWEEP_TEST_COMPACT_PAUSE=SECONDS (read once, in src/archive/compact.cpp) forces compaction at
every close and holds the finished copy that long before the rename."""
import glob
import os
import time

from harness import *

SPEC = """
[sweep]
name = "c"
experiment = "noop"
seeds = 6

[params]
payload = 20

[grid]
work_us = [GRID]
"""


def spec(grid):
    return write("c.toml", SPEC.replace("GRID", grid))


def with_env(**extra):
    """Runs harness calls with extra environment variables (restored afterwards)."""
    class Env:
        def __enter__(self):
            self.old = dict(ENV)
            ENV.update(extra)

        def __exit__(self, *a):
            ENV.clear()
            ENV.update(self.old)
    return Env()


def test_symlinked_archive_stays_a_symlink():
    workdir()
    spec("0, 100")
    mpisweep("run", "c.toml", "--archive", "reference.h5", "-q")
    mpisweep("run", "c.toml", "--archive", "store/c.h5", "-q", "--set", "work_us=0")
    os.symlink("store/c.h5", "link.h5")
    with with_env(MPISWEEP_TEST_COMPACT_PAUSE="0"):
        mpisweep("run", "c.toml", "--archive", "link.h5", "-q")  # resumes: adds work_us=100
    check(os.path.islink("link.h5"), "the archive path is still a symlink")
    check(os.readlink("link.h5") == "store/c.h5", "pointing where it did")
    a = load("link.h5")
    check((a["status"] == DONE).all() and len(a["id"]) == 12, "every task done")
    check(by_id(a) == by_id(load("reference.h5")), "content identical to an uncompacted run")
    check(len(a["runs"]["start"]) == 2, "both /runs rows kept")
    leftovers = glob.glob(".*compact*") + glob.glob("store/.*compact*")
    check(leftovers == [], "no temporary copy left: %s" % leftovers)


def test_second_run_during_compaction_loses_nothing():
    workdir()
    spec("0")
    with with_env(MPISWEEP_TEST_COMPACT_PAUSE="4"):
        first = start("run", "c.toml", "-q")
    deadline = time.time() + 60
    while not glob.glob("results/.c.h5.compact.*") and time.time() < deadline:
        check(first.poll() is None, "first run ended before compacting: %s" % str(first.stderr))
        time.sleep(0.02)
    check(glob.glob("results/.c.h5.compact.*"), "compaction started")
    # The second run adds tasks (a wider grid) while the first one's copy waits to be renamed.
    spec("0, 100")
    second = mpisweep("run", "c.toml", "-q", expect=None)
    in_window = bool(glob.glob("results/.c.h5.compact.*"))
    out, err = first.communicate(timeout=60)
    check(first.returncode == 0, "first run: exit %d\n%s" % (first.returncode, err))
    check(in_window, "the second run ended while the first was compacting (raise the pause)")
    a = load("results/c.h5")
    if second.returncode == 0:
        check(len(a["id"]) == 12 and (a["status"] == DONE).all(),
              "the second run said done, so its rows must be in the archive: %d rows, %d done"
              % (len(a["id"]), (a["status"] == DONE).sum()))
    else:
        check(second.returncode == 3 and "another mpisweep process is writing" in second.stderr,
              "refused cleanly: exit %d\n%s" % (second.returncode, second.stderr))
        check(len(a["id"]) == 6 and (a["status"] == DONE).all(), "the first run's rows intact")
        mpisweep("run", "c.toml", "-q")  # once the first is done, the second goes through
        check((load("results/c.h5")["status"] == DONE).sum() == 12, "then everything runs")


if __name__ == "__main__":
    main([test_symlinked_archive_stays_a_symlink, test_second_run_during_compaction_loses_nothing])
