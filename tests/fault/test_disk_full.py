"""Hostile storage (issue 11 items 5 and 12): a disk that is full when the archive is created or
fills during a run, a read-only file system, an unwritable folder. Each gives one line naming the
path and what happened, exit 3, no crash and no HDF5 error stack; nothing half-created is left;
an archive the disk filled under stays valid and resumes, once there is room, to the results of
an uninterrupted run. Real small tmpfs mounts (root only: skipped with exit 77 elsewhere),
unmounted whatever happens."""
import os
import signal
import subprocess
import sys
import time

from harness import *

SPEC = """
[sweep]
name = "d"
experiment = "noop"
seeds = 40

[params]
payload = 10000

[grid]
work_us = [100000]
"""


def mount(*args):
    return subprocess.run(["mount"] + list(args), capture_output=True, text=True)


def tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    p = mount("-t", "tmpfs", "-o", "size=" + size, "tmpfs", path)
    check(p.returncode == 0, "mount tmpfs at %s: %s" % (path, p.stderr))


def unmount_all(paths):
    for p in reversed(paths):
        subprocess.run(["umount", "-l", p], capture_output=True)


def one_line(p, what):
    """stderr of a single-rank run is exactly the one line naming `what`."""
    lines = p.stderr.strip().splitlines()
    check(len(lines) == 1 and what in lines[0], "one line with %r, got:\n%s" % (what, p.stderr))


def no_crash(p):
    out = p.stdout + p.stderr
    for bad in ("Segmentation", "Signal:", "backtrace", "HDF5-DIAG", "bytes actually written"):
        check(bad not in out, "%r in the output:\n%s" % (bad, out))


def signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def test_disk_full_at_creation():
    workdir()
    write("d.toml", SPEC)
    mounts = []
    try:
        tmpfs("full", "16k")
        mounts.append("full")
        for ranks in (None, 3):
            p = mpisweep("run", "d.toml", "--archive", "full/sub/d.h5", "-q", ranks=ranks, expect=3)
            no_crash(p)
            check("disk full writing full/sub/d.h5" in p.stderr, "message:\n" + p.stderr)
            if ranks is None:
                one_line(p, "disk full writing full/sub/d.h5")
            check(os.listdir("full") == [], "nothing left behind: %s" % os.listdir("full"))
    finally:
        unmount_all(mounts)


def test_disk_full_while_writing_a_new_archives_rows():
    """Room for the archive's structure but not for its rows: the rows are written before the
    archive has its name, so the failure leaves nothing (not an archive without rows)."""
    workdir()
    write("many.toml", SPEC.replace("seeds = 40", "seeds = 100000"))  # ~0.9 MB of rows
    mounts = []
    try:
        tmpfs("full", "256k")  # an empty archive is under 100 KB
        mounts.append("full")
        p = mpisweep("run", "many.toml", "--archive", "full/d.h5", "-q", expect=3)
        no_crash(p)
        one_line(p, "disk full writing full/d.h5")
        check("nothing was created" in p.stderr, "says nothing was created:\n" + p.stderr)
        check(os.listdir("full") == [], "nothing left behind: %s" % os.listdir("full"))
    finally:
        unmount_all(mounts)


def fill_during_run(ranks, reference):
    """Starts the sweep on an 8 MiB tmpfs, fills the disk once some rows are on it, checks the
    run stops with exit 3 and one line, then frees the space and resumes."""
    mounts = []
    try:
        tmpfs("small", "8m")
        mounts.append("small")
        # On a loaded machine the sweep may write its last row before this test sees the first
        # ones: then it tries again on an empty disk.
        for attempt in range(3):
            job = start("run", "d.toml", "--archive", "small/d.h5", "-q", ranks=ranks)
            deadline = time.time() + 60
            while done_count("small/d.h5") < 2 and time.time() < deadline:
                time.sleep(0.05)
            # Fill what is left with the job stopped, so that it cannot finish meanwhile. The
            # ranks only: mpiexec (and a single rank's helper orted) would report the signals.
            ranks_of_job = [job.pid] if ranks is None else children(job.pid)
            signal_all(ranks_of_job, signal.SIGSTOP)
            # Under mpiexec the ranks must still be there to be stopped (a quiet machine may
            # have finished the sweep meanwhile: then its last flush may still be under way).
            if done_count("small/d.h5") < 40 and ranks_of_job and job.poll() is None:
                break
            signal_all(ranks_of_job, signal.SIGCONT)
            job.communicate(timeout=120)
            os.remove("small/d.h5")
        check(done_count("small/d.h5") < 40, "the sweep kept ending before the disk was filled")
        # Every row still to come needs new space: its 80 KB series (over a chunk) is encoded by
        # the worker and appended as new chunks; shorter series or uncompressed columns may be
        # rewritten in place, in space the file already has.
        subprocess.run(["dd", "if=/dev/zero", "of=small/filler", "bs=4k"], capture_output=True)
        signal_all(ranks_of_job, signal.SIGCONT)
        out, err = job.communicate(timeout=120)
        p = subprocess.CompletedProcess(job.args, job.returncode, out, err)
        check(job.returncode == 3, "exit 3 on a full disk, got %d:\n%s" % (job.returncode, err))
        no_crash(p)
        check("disk full writing small/d.h5" in err, "message:\n" + err)
        if ranks is None:
            one_line(p, "disk full writing small/d.h5")
        before = load("small/d.h5")
        kept = before["status"] == DONE
        check(0 < kept.sum() < 40, "stopped part way with rows kept: %d done" % kept.sum())
        st = mpisweep("status", "small/d.h5")
        check("40 total" in st.stdout, "status reads the archive:\n" + st.stdout + st.stderr)
        os.remove("small/filler")
        mpisweep("run", "d.toml", "--archive", "small/d.h5", "-q", ranks=ranks)
        after = load("small/d.h5")
        check((after["status"] == DONE).all(), "resumed to completion")
        check((after["started"][kept] == before["started"][kept]).all(),
              "rows flushed before the disk filled are kept, not rerun")
        check(by_id(after) == reference, "results identical to an uninterrupted run")
        h5dump = subprocess.run(["h5dump", "-H", "small/d.h5"], capture_output=True)
        check(h5dump.returncode == 0, "h5dump opens the finished archive")
    finally:
        unmount_all(mounts)


def test_disk_fills_during_run():
    workdir()
    write("d.toml", SPEC)
    mpisweep("run", "d.toml", "--archive", "reference.h5", "-q", ranks=3)
    reference = by_id(load("reference.h5"))
    check(len(reference) == 40, "reference run complete")
    fill_during_run(None, reference)
    fill_during_run(3, reference)


def test_disk_full_while_compacting_keeps_the_archive():
    """Room for the archive but not for its compacted copy: the run still succeeds, the copy is
    removed and the archive, complete and closed, stays (MPISWEEP_TEST_COMPACT_PAUSE=0 forces
    the compaction, see test_compaction.py)."""
    workdir()
    write("b.toml", "[sweep]\nname = \"b\"\nexperiment = \"noop\"\nseeds = 10\n"
          "[params]\npayload = 20000\n")  # 1.6 MB of incompressible series values
    mounts = []
    try:
        tmpfs("small", "2600k")
        mounts.append("small")
        ENV["MPISWEEP_TEST_COMPACT_PAUSE"] = "0"
        try:
            p = mpisweep("run", "b.toml", "--archive", "small/b.h5", "-q")
        finally:
            del ENV["MPISWEEP_TEST_COMPACT_PAUSE"]
        no_crash(p)
        check(p.stderr == "", "nothing to say:\n" + p.stderr)
        check(os.listdir("small") == ["b.h5"], "copy removed: %s" % os.listdir("small"))
        a = load("small/b.h5")
        check((a["status"] == DONE).all() and len(a["id"]) == 10, "every task done")
        check(all(len(v) == 20000 for v in a["series"]["payload"]), "series intact")
        h5dump = subprocess.run(["h5dump", "-H", "small/b.h5"], capture_output=True)
        check(h5dump.returncode == 0, "h5dump opens it: the run closed it")
    finally:
        unmount_all(mounts)


def test_read_only_file_system():
    workdir()
    write("d.toml", SPEC)
    mounts = []
    try:
        tmpfs("ro", "4m")
        mounts.append("ro")
        mpisweep("run", "d.toml", "--archive", "ro/d.h5", "-q", "--set", "work_us=0",
                 "--set", "sweep.seeds=4")
        check(mount("-o", "remount,ro", "ro").returncode == 0, "remount read-only")
        before = digest("ro/d.h5")
        for ranks in (None, 2):
            # Resume (the full sweep has new tasks to add) and a new archive.
            for target in ("ro/d.h5", "ro/new.h5", "ro/sub/new.h5"):
                p = mpisweep("run", "d.toml", "--archive", target, "-q", ranks=ranks, expect=3)
                no_crash(p)
                what = "read-only file system: " + (target if "sub" not in target else "ro/sub")
                check(what in p.stderr, "message %r:\n%s" % (what, p.stderr))
                check("corrupt" not in p.stderr, "not called corrupt:\n" + p.stderr)
                if ranks is None:
                    one_line(p, what)
        check(digest("ro/d.h5") == before, "the archive is untouched")
        # Reading works on a read-only file system.
        check("4 total" in mpisweep("status", "ro/d.h5").stdout, "status")
        check("4 tasks" in mpisweep("show", "ro/d.h5").stdout, "show")
        mpisweep("report", "ro/d.h5", "-o", "report")
        check(os.path.exists("report/report.md"), "report written from a read-only archive")
    finally:
        unmount_all(mounts)


def test_unwritable_folder():
    workdir()
    write("d.toml", SPEC)
    mounts = []
    try:
        # root writes anywhere chmod allows nothing: a read-only bind mount of a folder.
        os.makedirs("folder")
        os.makedirs("locked")
        check(mount("--bind", "folder", "locked").returncode == 0, "bind mount")
        mounts.append("locked")
        check(mount("-o", "remount,bind,ro", "locked").returncode == 0, "read-only bind")
        p = mpisweep("run", "d.toml", "--archive", "locked/d.h5", "-q", expect=3)
        no_crash(p)
        one_line(p, "read-only file system: locked/d.h5")
        check(os.listdir("locked") == [], "nothing created")
        # And a folder without write permission, for a user who is not root.
        os.chmod("folder", 0o555)
        os.chmod(".", 0o755)
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        p = subprocess.run(nobody + [BIN, "run", "d.toml", "--archive", "folder/d.h5", "-q"],
                           capture_output=True, text=True, env=ENV)
        check(p.returncode == 3, "exit 3 as nobody, got %d:\n%s" % (p.returncode, p.stderr))
        no_crash(p)
        one_line(p, "permission denied writing folder/d.h5")
        check(os.listdir("folder") == [], "nothing created")
    finally:
        unmount_all(mounts)


if __name__ == "__main__":
    workdir()
    os.makedirs("probe")
    if mount("-t", "tmpfs", "-o", "size=4k", "tmpfs", "probe").returncode != 0:
        print("SKIP: cannot mount a tmpfs here (needs root and mount permission)")
        sys.exit(77)
    subprocess.run(["umount", "probe"])
    main([test_disk_full_at_creation, test_disk_full_while_writing_a_new_archives_rows,
          test_disk_fills_during_run,
          test_disk_full_while_compacting_keeps_the_archive, test_read_only_file_system,
          test_unwritable_folder])
