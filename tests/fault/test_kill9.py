"""Durability: kill -9 of the whole job at several moments leaves an archive that opens, that
`status` reads while the sweep writes and after the kill, and that a rerun completes with results
identical to an uninterrupted run. A stop signal exits 4 with everything flushed."""
import os
import signal
import subprocess
import time

from harness import *

SPEC = """
[sweep]
name = "k"
experiment = "noop"
seeds = 40

[params]
payload = 3

[grid]
work_us = [20000, 30000]
"""


def test_kill9_at_several_moments_then_resume():
    workdir()
    write("k.toml", SPEC)
    mpisweep("run", "k.toml", "--archive", "reference.h5", "-q", ranks=3)
    reference = by_id(load("reference.h5"))
    check(len(reference) == 80, "reference run complete")
    for delay in (0.05, 0.6, 1.5, 2.5):
        job = start("run", "k.toml", ranks=3)
        time.sleep(delay)
        if delay > 1:
            # status reads the archive while the sweep writes it.
            p = mpisweep("status", "results/k.h5")
            check("tasks: 80 total" in p.stdout, "status while running:\n" + p.stdout + p.stderr)
        kill_job(job, signal.SIGKILL)
        job.wait()
        # Killed before the archive existed: nothing half-made may be at the path.
        try:
            a = load("results/k.h5")
        except FileNotFoundError:
            continue
        # The archive appears whole, its task rows included (written before it is linked into
        # place), so any kill leaves every row.
        check(len(a["id"]) == 80, "all 80 rows after kill at %.2fs: %d" % (delay, len(a["id"])))
        p = mpisweep("status", "results/k.h5")
        check("80 total" in p.stdout, "status after kill -9:\n" + p.stdout + p.stderr)
    mpisweep("run", "k.toml", "-q", ranks=2)
    final = load("results/k.h5")
    check((final["status"] == DONE).all(), "rerun completes the sweep")
    check(by_id(final) == reference, "results identical to an uninterrupted run")
    h5dump = subprocess.run(["h5dump", "-H", "results/k.h5"], capture_output=True)
    check(h5dump.returncode == 0, "h5dump opens the finished archive: %s" % h5dump.stderr[-300:])


def test_kill9_as_the_archive_appears():
    """A kill the moment the archive's name appears (before the run's first flush) still leaves
    all 80 rows, pending: the rows are in the file before it is linked into place."""
    workdir()
    write("k.toml", SPEC)
    for attempt in range(3):
        if os.path.exists("results/k.h5"):
            os.remove("results/k.h5")  # each attempt creates the archive afresh
        job = start("run", "k.toml", ranks=3)
        deadline = time.monotonic() + 60
        while not os.path.exists("results/k.h5") and time.monotonic() < deadline:
            time.sleep(0.001)
        kill_job(job, signal.SIGKILL)
        job.wait()
        a = load("results/k.h5")
        check(len(a["id"]) == 80, "attempt %d: all 80 rows after a kill as the archive appeared,"
              " got %d" % (attempt, len(a["id"])))
        check(len(set(a["id"].tolist()) - {0}) == 80, "attempt %d: 80 distinct task ids" % attempt)
        p = mpisweep("status", "results/k.h5")
        check("tasks: 80 total" in p.stdout, "status after the kill:\n" + p.stdout + p.stderr)
    mpisweep("run", "k.toml", "-q", ranks=2)
    check((load("results/k.h5")["status"] == DONE).all(), "a rerun completes the sweep")


def test_stop_signal_exits_4_and_resumes():
    workdir()
    write("k.toml", SPEC)
    job = start("run", "k.toml")   # one rank: the signal goes straight to the master
    # Signal once some tasks are on disk (polling the archive as a SWMR reader).
    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.2)
        try:
            if (load("results/k.h5")["status"] == DONE).sum() >= 5:
                break
        except (OSError, KeyError):
            pass
    job.send_signal(signal.SIGTERM)
    out, err = job.communicate(timeout=60)
    check(job.returncode == 4, "exit 4 after SIGTERM, got %d: %s" % (job.returncode, err))
    a = load("results/k.h5")
    done = (a["status"] == DONE).sum()
    check(0 < done < 80, "stopped part way: %d done" % done)
    check(a["runs"]["exit_status"][-1] == 4, "run row records exit 4")
    check(subprocess.run(["h5dump", "-H", "results/k.h5"], capture_output=True).returncode == 0,
          "a stopped sweep leaves a file every HDF5 tool opens")
    mpisweep("run", "k.toml", "-q", ranks=3)
    b = load("results/k.h5")
    check((b["status"] == DONE).all(), "resumed to completion")
    check((b["started"][a["status"] == DONE] == a["started"][a["status"] == DONE]).all(),
          "no finished task redone")


if __name__ == "__main__":
    main([test_kill9_at_several_moments_then_resume, test_kill9_as_the_archive_appears,
          test_stop_signal_exits_4_and_resumes])
