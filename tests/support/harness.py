"""Helpers for tests that drive the real mpisweep binary (under mpiexec) and read its archive
with h5py. ctest sets MPISWEEP_BIN, MPIEXEC, MPISWEEP_SOURCE_DIR and MPISWEEP_TEST_TMP."""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

BIN = os.environ["MPISWEEP_BIN"]
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec")
SOURCE_DIR = os.environ.get("MPISWEEP_SOURCE_DIR", ".")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")


def workdir():
    """A fresh, empty folder for this test; the current directory is moved there."""
    d = os.environ.get("MPISWEEP_TEST_TMP") or os.path.join("/tmp", "mpisweep-test-%d" % os.getpid())
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    os.chdir(d)
    return d


def command(args, ranks=None):
    """The command line: plain binary (one rank) or under mpiexec -n ranks."""
    args = [str(a) for a in args]
    if ranks is None:
        return [BIN] + args
    return [MPIEXEC, "-n", str(ranks), "--oversubscribe", BIN] + args


def mpisweep(*args, ranks=None, expect=0, timeout=600):
    """Runs mpisweep to completion; checks its exit code (unless expect is None)."""
    p = subprocess.run(command(args, ranks), env=ENV, capture_output=True, text=True,
                       timeout=timeout)
    if "HDF5-DIAG" in p.stdout + p.stderr:
        raise AssertionError("HDF5 printed its error stack:\n" + p.stderr)
    if expect is not None and p.returncode != expect:
        raise AssertionError("mpisweep %s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(map(str, args)), p.returncode, expect, p.stdout, p.stderr))
    return p


def start(*args, ranks=None):
    """Starts mpisweep in its own process group (so the whole job can be killed)."""
    return subprocess.Popen(command(args, ranks), env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _processes():
    """{pid: (state, ppid, pgrp)} of every process now, read from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()  # state, ppid, pgrp, ...
        table[int(entry)] = (fields[0], int(fields[1]), int(fields[2]))
    return table


def children(pid):
    """Pids of the processes whose parent is `pid` (mpiexec's ranks, in their own groups)."""
    return [child for child, (_, ppid, _) in _processes().items() if ppid == pid]


def _job_members(root):
    """Pids of `root`'s process group and of every descendant of `root`. Open MPI 4.1 puts each
    rank in a process group of its own, so the ranks are found as mpiexec's descendants."""
    table = _processes()
    children = {}
    for pid, (_, ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    members, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in members:
            continue
        members.add(pid)
        todo.extend(children.get(pid, []))
    members |= {pid for pid, (_, _, pgrp) in table.items() if pgrp == root}
    return members


def _still_running(pids):
    """The pids that still run. A zombie whose other threads are still exiting counts: a killed
    process's main thread can be a zombie while its other threads still hold its files (and the
    archive's HDF5 lock) open."""
    table = _processes()

    def running(pid):
        if pid not in table:
            return False
        if table[pid][0] != "Z":
            return True
        try:
            return len(os.listdir("/proc/%d/task" % pid)) > 1
        except OSError:
            return False
    return [pid for pid in pids if running(pid)]


def kill_job(proc, sig=signal.SIGKILL, timeout=10.0):
    """Sends `sig` to every process of the job (mpiexec and all ranks, found as mpiexec's process
    group and descendants: each rank has a process group of its own). For SIGKILL, also waits
    until none of them runs any more: mpiexec dies first, and a rank still being torn down would
    hold the archive's live-writer lock when the test goes on to resume."""
    members = _job_members(proc.pid)
    for pid in sorted(members - {proc.pid}) + [proc.pid] if sig == signal.SIGKILL else [proc.pid]:
        try:
            if pid == proc.pid:
                os.killpg(proc.pid, sig)
            else:
                os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
    if sig != signal.SIGKILL:
        return
    proc.wait()
    deadline = time.monotonic() + timeout
    while _still_running(members - {proc.pid}) and time.monotonic() < deadline:
        time.sleep(0.02)


def write(path, text):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def digest(path):
    """SHA-256 of a file's bytes: to prove a command left it untouched."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def load(path):
    """The archive as plain numpy columns: {'id':..., 'status':..., 'params': {...},
    'metrics': {...}, 'series': {name: [array per row]}}. Opens SWMR, so it works while a sweep
    writes and after a killed writer."""
    with h5py.File(path, "r", swmr=True, libver="latest") as f:
        t = f["tasks"]
        out = {k: t[k][:] for k in t if isinstance(t[k], h5py.Dataset)}
        out["params"] = {k: t["params"][k][:] for k in t["params"]}
        out["metrics"] = {k: t["metrics"][k][:] for k in t["metrics"]}
        out["series"] = {}
        for name in f["series"]:
            g = f["series"][name]
            values, offset, length = g["values"][:], g["offset"][:], g["length"][:]
            n = len(out["id"])
            out["series"][name] = [values[offset[i]:offset[i] + length[i]] for i in range(n)]
        out["runs"] = {k: f["runs"][k][:] for k in f["runs"]}
        out["sweep"] = dict(f["sweep"].attrs)
    return out


DONE, FAILED, TIMEOUT, PENDING = 1, 2, 3, 0


def done_count(path):
    """Done rows of an archive a sweep may still be creating or writing (0 before it exists)."""
    try:
        return int((load(path)["status"] == DONE).sum())
    except (OSError, KeyError):
        return 0


def by_id(archive):
    """{task id: (metrics tuple, series tuple)} for done tasks, to compare archives exactly."""
    res = {}
    for i, tid in enumerate(archive["id"]):
        if archive["status"][i] != DONE:
            continue
        m = tuple(archive["metrics"][k][i].tobytes() for k in sorted(archive["metrics"]))
        s = tuple(archive["series"][k][i].tobytes() for k in sorted(archive["series"]))
        res[int(tid)] = (m, s)
    return res


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def main(tests):
    """Runs the given test functions; prints a closing 'N passed, N failed' line."""
    passed = failed = 0
    for t in tests:
        start_time = time.time()
        try:
            t()
            passed += 1
            print("PASS %s (%.1fs)" % (t.__name__, time.time() - start_time), flush=True)
        except Exception as e:  # report and go on, so one run shows every failure
            failed += 1
            print("FAIL %s: %s" % (t.__name__, e), flush=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
