"""A whole host dies mid-sweep (every process in its namespaces SIGKILLed, as on power loss): the
job ends instead of hanging, the archive on the master's host is intact, and a rerun on the
hosts that are left completes the sweep with results identical to an uninterrupted run."""
import subprocess
import time

from harness import *
import netns

netns.skip_unless_available()

# 48 tasks of 80-120 ms CPU: about 4.8 s of work, long enough to lose a host part way even when
# the job takes seconds to notice under load (at 40-60 ms the other hosts once finished the
# sweep first).
SPEC = """
[sweep]
name = "hf"
experiment = "noop"
seeds = 16
[params]
payload = 3
[grid]
work_us = [80000, 100000, 120000]
"""


def alive(pid):
    """Running (a zombie is dead, only not yet reaped by its parent)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_host_killed_then_rerun_on_the_rest():
    workdir()
    write("hf.toml", SPEC)
    mpisweep("run", "hf.toml", "--archive", "reference.h5", "-q", ranks=3)
    reference = by_id(load("reference.h5"))
    check(len(reference) == 48, "reference run complete")
    with netns.Cluster(["a", "b", "c"]) as c:
        job = c.mpirun("a", c.hostfile({"a": 2, "b": 2, "c": 2}), 6,
                       [BIN, "run", "hf.toml", "-q"], env=ENV)
        deadline = time.time() + 120
        # Its holder, daemon and two ranks all up on c (under load a's and b's ranks can finish
        # 8 tasks before c's have started).
        while (done_count("results/hf.h5") < 8 or len(c.pids_on("c")) < 4) and job.poll() is None:
            check(time.time() < deadline, "no progress in 120 s")
            time.sleep(0.1)
        check(job.poll() is None, "the sweep ran to its end before the host could be killed")
        on_c = set(c.pids_on("c"))
        killed = c.kill_host("c")
        check(killed >= 3, "host c held its daemon and two ranks: %d processes" % killed)
        t = time.time()
        try:
            out, err = job.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            kill_job(job)
            raise AssertionError("the job hung for 60 s after host c died")
        print("job ended %.1f s after host c died, exit %d" % (time.time() - t, job.returncode))
        check(job.returncode != 0, "a job that lost a host does not claim success")
        check(not any(alive(p) for p in on_c), "host c is gone")
        check("HDF5-DIAG" not in out + err, "HDF5 printed its error stack:\n" + err)
        # The archive is whole: it opens, status reads it, every row is there, no row is
        # half-written (a task is done with its metrics, or pending).
        a = load("results/hf.h5")
        check(len(a["id"]) == 48, "all rows present after losing a host")
        check(set(a["status"]) <= {DONE, PENDING}, "statuses done or pending: %s" % a["status"])
        done_before = by_id(a)
        check(0 < len(done_before) < 48, "part done: %d" % len(done_before))
        check(all(reference[k] == v for k, v in done_before.items()),
              "tasks finished before the loss equal the reference")
        p = mpisweep("status", "results/hf.h5")
        check("48 total" in p.stdout, "status after losing a host:\n" + p.stdout + p.stderr)
        # Rerun on the two hosts that are left.
        job = c.mpirun("a", c.hostfile({"a": 2, "b": 2}, "hostfile-ab"), 4,
                       [BIN, "run", "hf.toml", "-q"], env=ENV)
        out, err = job.communicate(timeout=180)
        check(job.returncode == 0, "rerun on a and b: exit %d\n%s" % (job.returncode, err[-3000:]))
    final = load("results/hf.h5")
    check((final["status"] == DONE).all(), "the rerun completes the sweep")
    check(by_id(final) == reference, "results identical to an uninterrupted run")
    hosts = {h.decode() if isinstance(h, bytes) else h for h in final["host"]}
    check(hosts <= {c.hostname(h) for h in "abc"}, "rows name the hosts that ran them: %s" % hosts)
    check(len(final["runs"]["ranks"]) == 2 and list(final["runs"]["ranks"]) == [6, 4],
          "/runs has the interrupted and the completing run: %s" % final["runs"]["ranks"])
    h5dump = subprocess.run(["h5dump", "-H", "results/hf.h5"], capture_output=True)
    check(h5dump.returncode == 0, "h5dump opens the archive: %s" % h5dump.stderr[-300:])


if __name__ == "__main__":
    main([test_host_killed_then_rerun_on_the_rest])
