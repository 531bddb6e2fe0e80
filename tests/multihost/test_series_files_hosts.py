"""series_files = "per_rank" across hosts (network namespaces, tests/support/netns.py): with two
hosts of two ranks each, the three worker ranks (one on host a beside the master, two on b) each
write one block file into the archive's folder, which every host mounts; rows come from both
hosts, each row's values lie in its worker's block, and every task's values are bit-identical to
a default-mode run on this one machine."""
import glob
import os

import h5py
import numpy as np

from harness import *
import netns

netns.skip_unless_available()

SPEC = """
[sweep]
name = "mhs"
experiment = "noop"
seeds = 8
%s
[grid]
work_us = [20000]
payload = [100, 30000]
"""
BLOCK = 2**24


def rows(path):
    """{task id: (status, host, worker, block, payload bytes)}; arrays read by offset/length."""
    out = {}
    with h5py.File(path, "r", swmr=True, libver="latest") as f:
        g = f["series/payload"]
        offset, length, values = g["offset"][:], g["length"][:], g["values"]
        for i, tid in enumerate(f["tasks/id"][:]):
            o, n = int(offset[i]), int(length[i])
            host = f["tasks/host"][i]
            out[int(tid)] = (int(f["tasks/status"][i]),
                             host.decode() if isinstance(host, bytes) else str(host),
                             int(f["tasks/worker"][i]), o // BLOCK,
                             values[o:o + n].tobytes() if n else b"")
    return out


def test_two_hosts_one_block_file_per_worker_rank():
    workdir()
    write("one.toml", SPEC % "")
    write("mhs.toml", SPEC % 'series_files = "per_rank"')
    mpisweep("run", "one.toml", "--archive", "one.h5", "-q", ranks=2)
    with netns.Cluster(["a", "b"]) as c:
        hostfile = c.hostfile({"a": 2, "b": 2})
        job = c.mpirun("a", hostfile, 4, [BIN, "run", "mhs.toml", "--archive",
                                          os.path.abspath("two.h5"), "-q"], env=ENV)
        try:
            out, err = job.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            kill_job(job)
            raise AssertionError("the 2-host sweep did not finish in 180 s")
        check(job.returncode == 0, "mpirun exit %d\n%s%s" % (job.returncode, out, err[-3000:]))
        check("HDF5-DIAG" not in out + err, "HDF5 printed its error stack:\n" + err)
        # Open MPI fills the hostfile's slots in order: ranks 0-1 on a, 2-3 on b.
        where = {1: c.hostname("a"), 2: c.hostname("b"), 3: c.hostname("b")}
    two = rows("two.h5")
    check(len(two) == 16 and all(r[0] == DONE for r in two.values()), "every task done")
    for tid, (_, host, worker, block, _) in two.items():
        check(host == where[worker], "row of rank %d says host %s, expected %s" % (
            worker, host, where[worker]))
        check(block == worker - 1, "rank %d's row in block %d" % (worker, block))
    hosts = set(r[1] for r in two.values())
    check(hosts == set(where.values()), "rows from both hosts: %s" % sorted(hosts))
    files = sorted(os.path.basename(p) for p in glob.glob("two.h5.series/block-*.h5"))
    used = sorted(set(r[3] for r in two.values()))
    check(files == ["block-%d.h5" % b for b in range(max(used) + 1)],
          "block files %s for blocks used %s" % (files, used))
    with h5py.File("one.h5", "r") as f:
        g = f["series/payload"]
        o, n, v = g["offset"][:], g["length"][:], g["values"]
        one = {int(t): v[o[i]:o[i] + n[i]].tobytes() for i, t in enumerate(f["tasks/id"][:])}
    check(one == {t: r[4] for t, r in two.items()},
          "every task's values bit-identical to a default-mode run on one host")


if __name__ == "__main__":
    main([test_two_hosts_one_block_file_per_worker_rank])
