"""series_files = "per_rank" under faults (docs/archive.md "Series in block files"): kill -9 of the
whole job mid-sweep leaves an archive whose done rows read their values through the block files
(SWMR), and a resume on another rank count completes with the values of an uninterrupted
default-mode run; a done task whose block file is deleted or cut short runs again."""
import glob
import os
import re
import signal
import subprocess
import time

import h5py
import numpy as np

from harness import *

SPEC = """
[sweep]
name = "sk"
experiment = "noop"
seeds = 12
%s
[grid]
work_us = [150000]
payload = [20000, 100000]
"""
PER_RANK = 'series_files = "per_rank"'
BLOCK = 2**24


def rows(path):
    """{task id: (status, payload bytes)}, each array read as values[offset : offset + length]."""
    out = {}
    with h5py.File(path, "r", swmr=True, libver="latest") as f:
        ids, status = f["tasks/id"][:], f["tasks/status"][:]
        g = f["series/payload"]
        offset, length, values = g["offset"][:], g["length"][:], g["values"]
        for i, tid in enumerate(ids):
            o, n = int(offset[i]), int(length[i])
            out[int(tid)] = (int(status[i]), values[o:o + n].tobytes() if n else b"")
    return out


def reference(*sets):
    write("ref.toml", SPEC % "")
    mpisweep("run", "ref.toml", "--archive", "ref.h5", "-q", *sets, ranks=3)
    ref = rows("ref.h5")
    check(len(ref) == 24 and all(s == DONE for s, _ in ref.values()), "reference complete")
    return ref


def resume(*args, ranks):
    """`run` again; a killed rank can hold the live-writer lock a moment longer (test_kill9)."""
    deadline = time.time() + 10
    while True:
        p = mpisweep(*args, ranks=ranks, expect=None)
        if p.returncode == 0:
            return p
        check("another mpisweep process is writing" in p.stderr and time.time() < deadline,
              "resume: exit %d: %s" % (p.returncode, p.stderr[-500:]))
        time.sleep(0.5)


def test_kill9_then_resume_on_other_ranks():
    workdir()
    ref = reference()
    write("sk.toml", SPEC % PER_RANK)
    job = start("run", "sk.toml", ranks=3)
    deadline, done = time.time() + 60, {}
    while time.time() < deadline and job.poll() is None:
        time.sleep(0.2)
        try:
            done = {k: v for k, v in rows("results/sk.h5").items() if v[0] == DONE}
        except (OSError, KeyError):
            continue  # not yet created, or before SWMR starts
        if len(done) >= 4:
            break
    check(job.poll() is None and 4 <= len(done) < 24, "killed mid-sweep, %d done" % len(done))
    # Read while the workers were writing their block files (SWMR through the mapping).
    check(all(v == ref[k] for k, v in done.items()), "values read during the run as the reference")
    kill_job(job, signal.SIGKILL)
    job.wait()
    # A SWMR reader of the killed run sees every done row's values through the block files.
    after = {k: v for k, v in rows("results/sk.h5").items() if v[0] == DONE}
    check(len(after) >= len(done), "done rows kept after kill -9")
    check(all(v == ref[k] for k, v in after.items()), "done rows' values as the reference")
    resume("run", "sk.toml", "-q", ranks=2)
    final = rows("results/sk.h5")
    check(final == ref, "resume completes with the values of an uninterrupted run")
    # The resume (one worker) wrote into a fresh block: the killed ranks' blocks were not reused.
    with h5py.File("results/sk.h5", "r") as f:
        blocks = set(int(o) // BLOCK for o, n in zip(f["series/payload/offset"][:],
                                                     f["series/payload/length"][:]) if n)
    check(2 in blocks and blocks <= {0, 1, 2}, "blocks used: %s" % sorted(blocks))
    # Every HDF5 tool opens the finished archive and its block files (killed writers' flags were
    # cleared by the resume).
    for path in ["results/sk.h5"] + glob.glob("results/sk.h5.series/block-*.h5"):
        p = subprocess.run(["h5dump", "-H", path], capture_output=True, text=True)
        check(p.returncode == 0, "h5dump -H %s: %s" % (path, p.stderr[-300:]))
    p = subprocess.run(["h5dump", "-d", "/series/payload/values", "-c", "3", "results/sk.h5"],
                       capture_output=True, text=True)
    check(p.returncode == 0 and "DATA" in p.stdout, "h5dump reads values: " + p.stderr[-300:])


def test_missing_or_short_block_file_reruns():
    workdir()
    fast = ("--set", "work_us=0")
    ref = reference(*fast)
    write("sk.toml", SPEC % PER_RANK)
    mpisweep("run", "sk.toml", "-q", *fast, ranks=3)
    check(rows("results/sk.h5") == ref, "first run as the reference")
    with h5py.File("results/sk.h5", "r") as f:
        offset, length = f["series/payload/offset"][:], f["series/payload/length"][:]
    in_block = [[i for i in range(24) if offset[i] // BLOCK == b] for b in (0, 1)]
    check(all(in_block), "both blocks hold tasks: %s" % in_block)
    # Block 0 deleted; block 1 cut one value short of its last array.
    os.remove("results/sk.h5.series/block-0.h5")
    last = max(in_block[1], key=lambda i: offset[i])
    with h5py.File("results/sk.h5.series/block-1.h5", "r+") as f:
        f["series/payload/values"].resize((int(offset[last] % BLOCK + length[last] - 1),))
    p = resume("run", "sk.toml", *fast, ranks=2)
    m = re.search(r"(\d+) done task\(s\) .* run again", p.stderr)
    check(m and int(m.group(1)) == len(in_block[0]) + 1,
          "names the %d tasks that run again: %s" % (len(in_block[0]) + 1, p.stderr[-500:]))
    check(rows("results/sk.h5") == ref, "the rerun tasks' values as the reference")
    with h5py.File("results/sk.h5", "r") as f:
        again = f["series/payload/offset"][:]
        attempts = f["tasks/attempts"][:]
    rerun = in_block[0] + [last]
    check(all(again[i] // BLOCK == 2 for i in rerun), "rerun tasks went to block 2: %s" %
          [int(again[i] // BLOCK) for i in rerun])
    check(all(again[i] == offset[i] for i in range(24) if i not in rerun),
          "the other tasks kept their places")
    check(all(attempts[i] == 2 for i in rerun), "a rerun is a second attempt: %s" % attempts)


if __name__ == "__main__":
    main([test_kill9_then_resume_on_other_ranks, test_missing_or_short_block_file_reruns])
