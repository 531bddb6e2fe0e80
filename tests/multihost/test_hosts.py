"""A sweep over three hosts (network namespaces with their own hostnames, tests/support/netns.py)
with two ranks each, started by mpirun on the first host through an rsh agent and talking TCP on
a private subnet: every row names the host its worker ran on, /runs lists all three hosts, the
thread budget follows each host's cores, and the task columns are bit-identical to a run on this
one machine."""
import h5py

from harness import *
import netns

netns.skip_unless_available()

SPEC = """
[sweep]
name = "mh"
experiment = "noop"
seeds = 30
[params]
payload = 4
[grid]
work_us = [5000, 20000]
"""
# Columns that say where and when a task ran; every other /tasks column is a function of the
# sweep alone and must not change with the hosts.
WHERE_WHEN = {"worker", "host", "started", "wall_seconds"}


def task_columns(path):
    """Every /tasks dataset (params and metrics too) as raw bytes by name, and each row's series
    (their storage order follows arrival, so they are compared row by row)."""
    out = {}
    with h5py.File(path, "r", swmr=True, libver="latest") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name.split("/")[-1] not in WHERE_WHEN:
                out["tasks/" + name] = obj[()].tobytes()
        f["tasks"].visititems(visit)
    for name, rows in load(path)["series"].items():
        out["series/" + name] = b"|".join(r.tobytes() for r in rows)
    return out


def run(cluster, hostfile, ranks, archive, head="a"):
    job = cluster.mpirun(head, hostfile, ranks, [BIN, "run", "mh.toml", "--archive", archive,
                                                 "-q"], env=ENV)
    try:
        out, err = job.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        kill_job(job)
        raise AssertionError("the 3-host sweep did not finish in 180 s")
    check(job.returncode == 0, "mpirun exit %d\n%s%s" % (job.returncode, out, err[-3000:]))
    check("HDF5-DIAG" not in out + err, "HDF5 printed its error stack:\n" + err)
    return load(archive)


def decode(values):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def test_three_hosts_two_ranks_each():
    workdir()
    write("mh.toml", SPEC)
    # Host c has one core; a and b have the machine's two (this machine has at least two).
    with netns.Cluster(["a", "b", "c"], cpus={"c": [1]}) as c:
        hostfile = c.hostfile({"a": 2, "b": 2, "c": 2})
        a = run(c, hostfile, 6, "three.h5")
        # Open MPI fills the hostfile's slots in order: ranks 0-1 on a, 2-3 on b, 4-5 on c.
        expected = {r: c.hostname("abc"[r // 2]) for r in range(1, 6)}
        hosts = decode(a["host"])
        check((a["status"] == DONE).all(), "every task done")
        for w, h in zip(a["worker"], hosts):
            check(h == expected[int(w)], "row of worker %d says host %s, expected %s" % (
                w, h, expected[int(w)]))
        check(set(hosts) == set(expected.values()),
              "every host ran tasks: %s" % sorted(set(hosts)))
        check(decode(a["runs"]["hosts"]) == [",".join(sorted(c.hostname(h) for h in "abc"))],
              "/runs lists the three hosts: %s" % a["runs"]["hosts"])
        check(list(a["runs"]["ranks"]) == [6], "/runs ranks")
        # Threads: a's one worker shares nothing with other workers (the master sleeps), so it
        # gets both of a's cores; b's two workers get one core each, c's one core is bound to both.
        # /runs records the largest budget of any worker: 2 only if a's worker counted the
        # workers on its own host (6 ranks on this 2-core machine would give 1).
        check(list(a["runs"]["threads_per_worker"]) == [2],
              "threads with a's worker alone on 2 cores: %s" % a["runs"]["threads_per_worker"])
        # Bound to one core, a's worker gets one thread: now every worker has one.
        c.set_cpus("a", [0])
        b = run(c, hostfile, 6, "three-bound.h5")
        check(list(b["runs"]["threads_per_worker"]) == [1],
              "threads with a bound to 1 core: %s" % b["runs"]["threads_per_worker"])
    # One host, this machine, plain mpiexec: the same task columns, bit for bit.
    mpisweep("run", "mh.toml", "--archive", "one.h5", "-q", ranks=2)
    one, three = task_columns("one.h5"), task_columns("three.h5")
    check(sorted(one) == sorted(three), "same columns: %s vs %s" % (sorted(one), sorted(three)))
    for name in one:
        check(one[name] == three[name], "column %s differs between 1 and 3 hosts" % name)
    check(by_id(load("one.h5")) == by_id(a), "results identical to the one-host run")
    check(len(set(decode(load("one.h5")["host"]))) == 1, "the one-host run ran on one host")


if __name__ == "__main__":
    main([test_three_hosts_two_ranks_each])
