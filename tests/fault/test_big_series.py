"""Big series (issue 18): > 1 MB a task in four storages, encoded by the workers and copied into
the archive chunk by chunk. Every value h5py reads back (while the sweep writes, after kill -9,
after resume) equals what the task program produced, bit for bit, rounded to float32 as numpy
(and HDF5) round where the series is declared float32; offsets are chunk-aligned and the padding
reads as 0. Bad storage declarations get one line naming file:line."""
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

from harness import *

PY = sys.executable

# Per task: `raw` 1 MB of uniform doubles (compression none), `probe` 0.5 MB of them (the default
# shuffle + deflate 1: the probe stores them raw), `smooth32` a curve with float32's edge cases
# (overflow to inf, subnormals, NaN, ties), `field` a repetitive array of odd length (deflate 6),
# absent for every third seed. The program saves what it produced beside its result.
TASK = r'''
import json, os, sys
import numpy as np
p = json.load(sys.stdin)
seed = int(os.environ["MPISWEEP_SEED"])
rng = np.random.default_rng(seed)
x = np.arange(65536, dtype=np.float64)
smooth = np.exp(-1e-5 * x) * np.sin(1e-3 * x + seed) * 1e3
smooth[:8] = [3.5e38, 3.4028235677973366e38, -1e39, 1e-46, 1.4e-45, 1 + 2.0 ** -24,
              float("nan"), 1 + 3 * 2.0 ** -24]
out = {"raw": rng.random(131072), "probe": rng.random(65536), "smooth32": smooth}
if seed % 3:
    out["field"] = np.repeat(np.arange(4.0), 12500 + 7 * seed)[: 50000 + 7 * seed]
np.savez("produced.npz", **out)
with open(os.environ["MPISWEEP_RESULT"], "w") as f:
    json.dump({"metrics": {"n": float(sum(len(v) for v in out.values()))},
               "series": {k: v.tolist() for k, v in out.items()}}, f)
'''

SPEC = """
[sweep]
name = "big"
experiment = "command"
seeds = %d
[command]
run = ["%s", "%s"]
metrics = ["n"]
series = [{ name = "raw", compression = "none" }, "probe",
          { name = "smooth32", dtype = "float32" },
          { name = "field", compression = "deflate", level = 6 }]
workdir = "runs/{task_id}"
"""

STORAGE = {  # name: (dtype, compression, shuffle, chunk values)
    "raw": ("float64", "gzip", False, 8192),
    "probe": ("float64", "gzip", True, 8192),
    "smooth32": ("float32", "gzip", True, 16384),
    "field": ("float64", "gzip", False, 8192),
}


def expected(name, values):
    if STORAGE[name][0] == "float32":
        with np.errstate(over="ignore"):
            return values.astype(np.float32)
    return values


def check_archive(path, want_all):
    """Every done task's series equal what it produced; returns how many tasks were done."""
    done = 0
    with h5py.File(path, "r", swmr=True, libver="latest") as f:
        ids, status = f["tasks/id"][:], f["tasks/status"][:]
        for name, (dtype, comp, shuffle, chunk) in STORAGE.items():
            v = f["series"][name]["values"]
            check(v.dtype == np.dtype(dtype), "%s stored as %s, not %s" % (name, v.dtype, dtype))
            check(v.compression == comp and v.shuffle == shuffle and v.chunks == (chunk,),
                  "%s: filters %s shuffle %s chunks %s"
                  % (name, v.compression, v.shuffle, v.chunks))
        for i, tid in enumerate(ids):
            if status[i] != DONE:
                check(not want_all, "task %d not done" % i)
                continue
            done += 1
            produced = np.load(os.path.join("runs", "%016x" % tid, "produced.npz"))
            for name in STORAGE:
                g = f["series"][name]
                o, n = int(g["offset"][i]), int(g["length"][i])
                if name not in produced:
                    check(n == 0, "%s absent for task %d, length %d" % (name, i, n))
                    continue
                want = expected(name, produced[name])
                check(o % STORAGE[name][3] == 0, "%s offset %d not on a chunk boundary" % (name, o))
                got = g["values"][o:o + n]
                check(got.tobytes() == want.tobytes(),
                      "%s of task %d differs from what it produced" % (name, i))
                # The padding to the next chunk boundary (within the extent) reads as 0.
                end = min(-(-(o + n) // STORAGE[name][3]) * STORAGE[name][3], g["values"].shape[0])
                check(not g["values"][o + n:end].any(), "%s padding of task %d not 0" % (name, i))
    return done


def test_big_series_swmr_kill9_resume():
    workdir()
    write("task.py", TASK)
    # 18 tasks, so that the sweep is still running when the reader has seen 3 done (9 could all
    # end between two reads on a quiet machine).
    write("big.toml", SPEC % (18, PY, "task.py"))
    job = start("run", "big.toml", ranks=3)
    # A SWMR reader checks the archive while the sweep writes it; kill -9 once some are done.
    deadline, done = time.time() + 120, 0
    while time.time() < deadline and job.poll() is None:
        time.sleep(0.3)
        if os.path.exists("results/big.h5"):
            try:
                done = check_archive("results/big.h5", False)
            except (OSError, KeyError):
                continue  # created but not yet readable (before SWMR starts)
            if done >= 3:
                break
    check(job.poll() is None and done >= 3, "killed mid-sweep with %d done" % done)
    kill_job(job, signal.SIGKILL)
    job.wait()
    check(check_archive("results/big.h5", False) >= done, "done tasks kept after kill -9")
    # A killed rank can outlive kill_job for a moment (seen with test_kill9 too) and hold the
    # live-writer lock: resume refuses with exit 3 until it is gone. Wait up to 10 s for that.
    deadline = time.time() + 10
    while True:
        p = mpisweep("run", "big.toml", "-q", ranks=3, expect=None)
        if p.returncode == 0:
            break
        check("another mpisweep process is writing" in p.stderr and time.time() < deadline,
              "resume after kill -9: exit %d: %s" % (p.returncode, p.stderr[-500:]))
        time.sleep(0.5)
    check(check_archive("results/big.h5", True) == 18, "resume completes every task")
    p = subprocess.run(["h5dump", "-d", "/series/smooth32/values", "-c", "4", "results/big.h5"],
                       capture_output=True, text=True)
    check(p.returncode == 0 and "inf" in p.stdout.lower(), "h5dump decodes: " + p.stdout[-300:])


BAD = [
    ('{ name = "s", dtype = "float16" }', 'dtype "float16" is not one of "float64", "float32"'),
    ('{ name = "s", compression = "zstd" }', 'compression "zstd" is not one of'),
    ('{ name = "s", compression = "deflate", level = 10 }', "level must be an integer from 1"),
    ('{ name = "s", level = 3, compression = "none" }', 'level needs compression = "deflate"'),
    ('{ name = "s", colour = "red" }', "unknown key 'colour'; expected name, unit, help, dtype"),
]


def test_bad_storage_declarations():
    workdir()
    for decl, message in BAD:
        write("s.toml", '[sweep]\nname = "b"\nexperiment = "command"\n[command]\n'
                        'run = ["true"]\nseries = [\n  %s]\n' % decl)
        p = mpisweep("validate", "s.toml", expect=2)
        lines = p.stderr.strip().splitlines()
        check(len(lines) == 1 and "s.toml:7: 'series': " in lines[0] and message in lines[0],
              "expected s.toml:7 ... %r, got %r" % (message, p.stderr))


if __name__ == "__main__":
    main([test_big_series_swmr_kill9_resume, test_bad_storage_declarations])
