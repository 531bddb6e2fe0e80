"""A program reading the archive without SWMR (h5py.File(path) by default, h5dump) holds HDF5's
shared file lock for as long as it has the file open, and every open for writing meets it at once.
`run` waits for such a reader for a few seconds (h5::open_file), then names it in one line and
leaves the archive as it was. This also covers a SWMR reader's brief lock during its own open,
which met a fresh archive's first open for writing in CI (fault.test_lost_worker, stop 21)."""
import os
import shutil
import subprocess
import sys
import time

from harness import *

SPEC = """
[sweep]
name = "r"
experiment = "noop"
seeds = 4

[params]
payload = 8

[grid]
work_us = [0, 100]
"""

HOLD = """
import sys, time, h5py
f = h5py.File(sys.argv[1], "r")  # no swmr=True: HDF5's shared lock stays until close
print("open", flush=True)
time.sleep(float(sys.argv[2]))
f.close()
print("closed %.3f" % time.time(), flush=True)
"""


POLL = """
import sys, time, h5py
end, opened = time.time() + float(sys.argv[2]), 0
while time.time() < end:
    try:
        with h5py.File(sys.argv[1], "r", swmr=True, libver="latest") as f:
            f["tasks/status"][:]
            opened += 1
    except (OSError, KeyError):
        pass
print(opened)
"""


def hold(path, seconds):
    """A reader holding `path` open without SWMR for `seconds`; returns once it has it open."""
    p = subprocess.Popen([sys.executable, "-c", HOLD, path, str(seconds)], stdout=subprocess.PIPE,
                         text=True)
    check(p.stdout.readline().strip() == "open", "the reader opened the archive")
    return p


def half_done():
    workdir()
    write("r.toml", SPEC)
    mpisweep("run", "r.toml", "-q", "--set", "work_us=0")  # 4 of the 8 tasks


def test_a_reader_polling_while_the_archive_is_created():
    """A SWMR reader (`mpisweep show --watch`, h5py with swmr=True) holds the lock only during its
    own open; one landing between the new archive's rename and the writer's open failed the run
    (39 of 40 before h5::open_file, with a reader polling in a loop)."""
    workdir()
    write("r.toml", SPEC)
    opened = 0
    for attempt in range(10):
        if os.path.exists("results"):
            shutil.rmtree("results")
        poller = subprocess.Popen([sys.executable, "-c", POLL, "results/r.h5", "0.6"],
                                  stdout=subprocess.PIPE, text=True)
        time.sleep(0.15)
        mpisweep("run", "r.toml", "-q")
        opened += int(poller.communicate(timeout=30)[0])
        check((load("results/r.h5")["status"] == DONE).all(), "every task done")
    check(opened > 10, "the reader did read the archive meanwhile (%d opens)" % opened)


def test_a_short_reader_is_waited_for():
    half_done()
    reader = hold("results/r.h5", 1.5)
    mpisweep("run", "r.toml", "-q", ranks=3)
    ended = time.time()
    closed = float(reader.stdout.readline().split()[1])
    reader.wait(10)
    check(ended > closed, "the run opened the archive only after the reader closed it")
    a = load("results/r.h5")
    check(len(a["id"]) == 8 and (a["status"] == DONE).all(), "every task done")


def test_a_reader_holding_on_is_named_and_nothing_changes():
    half_done()
    before = digest("results/r.h5")
    reader = hold("results/r.h5", 60)
    try:
        for ranks in (None, 3):
            t0 = time.time()
            p = mpisweep("run", "r.toml", "-q", ranks=ranks, expect=3)
            took = time.time() - t0
            # mpiexec adds its own banner about the exit code; ours is one line.
            lines = [l for l in p.stderr.splitlines() if l.startswith("mpisweep")]
            check(len(lines) == 1 and "results/r.h5: another program holds it open" in lines[0]
                  and "swmr=True" in lines[0], "one line names the reader:\n" + p.stderr)
            check(4 < took < 30, "waited the lock's few seconds, then gave up: %.1f s" % took)
            check(digest("results/r.h5") == before, "the archive is as it was")
    finally:
        reader.kill()
        reader.wait()
    mpisweep("run", "r.toml", "-q")
    a = load("results/r.h5")
    check(len(a["id"]) == 8 and (a["status"] == DONE).all(), "the reader gone, the run resumes")


if __name__ == "__main__":
    main([test_a_reader_polling_while_the_archive_is_created, test_a_short_reader_is_waited_for,
      test_a_reader_holding_on_is_named_and_nothing_changes])
