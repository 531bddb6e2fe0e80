"""A rank frozen in a collective (issue 11): before the first task the ranks agree on the sweep,
the threads per node and the hosts in collectives, and at the end they meet before MPI_Finalize;
one rank that never joins used to hang the job forever. Rank 0 now waits for each at most the
liveness bound (MPISWEEP_LOST_AFTER, 2 s here), names the ranks that did not answer (and their
hosts once known) in one line, and ends the job with 3. At start-up the archive prepare() made is
closed with every task pending and no run recorded; at the end it is complete. MPISWEEP_FREEZE_RANK
=RANK[:N] makes that rank SIGSTOP itself as it enters its N-th bounded collective."""
import os
import signal
import socket
import subprocess
import time

from harness import *
from test_lost_worker import live_ranks, quiet_mpirun

BOUND = 2.0
SPEC = """
[sweep]
name = "w"
experiment = "noop"
seeds = 6
[grid]
work_us = [1000]
"""


def run_frozen(freeze, *extra):
    workdir()
    write("w.toml", SPEC)
    env = dict(ENV, MPISWEEP_LOST_AFTER=str(BOUND), MPISWEEP_HEARTBEAT="0.5",
               MPISWEEP_FREEZE_RANK=freeze)
    job = subprocess.Popen(quiet_mpirun("run", "w.toml", "-q", *extra), env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)
    began = time.time()
    try:
        _, err = job.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        ranks = live_ranks(job)
        for pid in ranks:
            os.kill(pid, signal.SIGKILL)
        kill_job(job)
        _, err = job.communicate()
        raise AssertionError("a frozen rank hangs the job (%s):\n%s" % (
            "ranks still running" if ranks else "mpirun, every rank ended", err))
    return job.returncode, err, time.time() - began


def check_archive_untouched_by_the_run():
    a = load("results/w.h5")
    check((a["status"] == PENDING).all() and len(a["id"]) == 6, "every task pending: %s" %
          a["status"].tolist())
    check(len(a["runs"]["exit_status"]) == 0, "no run recorded: %s" % a["runs"])
    p = mpisweep("status", "results/w.h5")
    check("6 total" in p.stdout, "status reads the archive:\n" + p.stdout + p.stderr)
    check(subprocess.run(["h5dump", "-H", "results/w.h5"], capture_output=True).returncode == 0,
          "h5dump opens the archive")


def check_one_line(err, expected):
    lines = [line for line in err.splitlines() if line.strip()]
    check(len(lines) == 1 and lines[0] == expected,
          "one line from mpisweep, nothing from Open MPI:\nexpected %r\ngot:\n%s" % (expected, err))


def test_a_rank_frozen_in_the_first_collective_is_named():
    # Rank 2's first start-up collective is the broadcast of the sweep: rank 0, its root, is done
    # with it at once and then waits in the next one, the count of ranks per node.
    rc, err, took = run_frozen("2")
    check(rc == 3, "exit 3, got %d\n%s" % (rc, err))
    check_one_line(err, "mpisweep: rank 2 did not answer within 2 s at start-up (the count of "
                   "ranks per node); ending the job with exit 3")
    check(took < BOUND + 30, "ended %.1f s after start" % took)
    check_archive_untouched_by_the_run()


def test_a_rank_frozen_after_the_hosts_are_known_is_named_with_its_host():
    # With --threads-per-worker the collectives are the thread cap, the broadcast, the hosts and
    # the threads recorded (no count of ranks per node): the fourth is the last.
    rc, err, took = run_frozen("2:4", "--threads-per-worker", "1")
    check(rc == 3, "exit 3, got %d\n%s" % (rc, err))
    check_one_line(err, "mpisweep: rank 2 on %s did not answer within 2 s at start-up (a maximum "
                   "over the ranks); ending the job with exit 3" % socket.gethostname())
    check_archive_untouched_by_the_run()


def test_a_rank_frozen_before_the_archive_exists_leaves_none():
    rc, err, _ = run_frozen("1:1", "--threads-per-worker", "1")
    check(rc == 3, "exit 3, got %d\n%s" % (rc, err))
    check_one_line(err, "mpisweep: rank 1 did not answer within 2 s at start-up (a maximum over "
                   "the ranks); ending the job with exit 3")
    check(not os.path.exists("results"), "nothing created: %s" % os.listdir("."))


def test_a_rank_frozen_after_its_last_result_is_named_at_the_end():
    # Without --threads-per-worker rank 2 has four start-up collectives; the fifth is the end.
    rc, err, took = run_frozen("2:5")
    check(rc == 3, "exit 3, got %d\n%s" % (rc, err))
    check_one_line(err, "mpisweep: rank 2 on %s did not answer within 2 s at the end of the job "
                   "(the archive is closed); ending the job with exit 3" % socket.gethostname())
    check(took < BOUND + 30, "ended %.1f s after start" % took)
    a = load("results/w.h5")
    check((a["status"] == DONE).all(), "the sweep finished: %s" % a["status"].tolist())
    check(a["runs"]["exit_status"].tolist() == [0], "/runs keeps how the sweep ended: %s" %
          a["runs"]["exit_status"].tolist())


if __name__ == "__main__":
    main([test_a_rank_frozen_after_its_last_result_is_named_at_the_end,
          test_a_rank_frozen_in_the_first_collective_is_named,
          test_a_rank_frozen_after_the_hosts_are_known_is_named_with_its_host,
          test_a_rank_frozen_before_the_archive_exists_leaves_none])
