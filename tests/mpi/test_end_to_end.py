"""Whole sweeps through mpiexec: every rank count gives the same archive, bit for bit."""
import os

from harness import *

SPEC = """
[sweep]
name = "e2e"
experiment = "noop"
seeds = 3

[params]
payload = 5

[grid]
work_us = [0, 200, 400]
fail_rate = [0.0, 0.5]
"""


def run_with(ranks, archive):
    p = mpisweep("run", "sweep.toml", "--archive", archive, ranks=ranks, expect=None)
    check(p.returncode == 1, "some noop tasks fail on purpose: exit 1, got %d\n%s" % (p.returncode, p.stderr))
    return load(archive)


def test_rank_counts_agree_bit_for_bit():
    workdir()
    write("sweep.toml", SPEC)
    archives = {}
    for ranks in (None, 2, 3, 4):
        a = run_with(ranks, "r%s.h5" % ranks)
        check(len(a["id"]) == 18, "18 tasks expected, got %d" % len(a["id"]))
        check(set(a["status"]) <= {DONE, FAILED}, "only done/failed after a full run")
        archives[ranks] = a
    ref = archives[None]
    for ranks, a in archives.items():
        check((a["id"] == ref["id"]).all(), "rows in expansion order for -n %s" % ranks)
        check((a["status"] == ref["status"]).all(), "same failures for -n %s" % ranks)
        check(by_id(a) == by_id(ref), "metrics and series identical for -n %s" % ranks)
    # Failures are decided by the seed: about half of the fail_rate 0.5 tasks, none of the others.
    fr = ref["params"]["fail_rate"]
    check(((ref["status"] == FAILED) & (fr == 0)).sum() == 0, "fail_rate 0 never fails")
    failed = ref["status"] == FAILED
    check(all(b"failed on purpose" in e for e in ref["error"][failed]), "failure messages stored")
    done = ref["status"] == DONE
    check(all(ref["series"]["payload"][i].size == 5 for i in range(18) if done[i]), "payload length 5")
    check(all(ref["series"]["payload"][i].size == 0 for i in range(18) if failed[i]),
          "failed tasks have no series")
    check(np.isnan(ref["metrics"]["value"][failed]).all(), "failed tasks have NaN metrics")
    # Workers are ranks 1..n-1, and the /runs row records the invocation.
    check(set(archives[4]["worker"][done]) <= {1, 2, 3}, "workers are ranks 1..3")
    check(archives[4]["runs"]["ranks"][0] == 4, "runs row records 4 ranks")
    check(archives[4]["runs"]["exit_status"][0] == 1, "runs row records exit status 1")
    import socket
    check(archives[4]["runs"]["hosts"][0].decode() == socket.gethostname(), "runs row records the host")
    check(archives[4]["runs"]["threads_per_worker"][0] >= 1, "runs row records the thread budget")
    check(archives[None]["runs"]["threads_per_worker"][0] == os.cpu_count(),
          "one rank: the worker thread gets every core")


def test_more_ranks_than_tasks():
    workdir()
    write("small.toml", '[sweep]\nname = "small"\nexperiment = "noop"\nseeds = 2\n')
    mpisweep("run", "small.toml", ranks=5)
    a = load("results/small.h5")
    check(len(a["id"]) == 2 and (a["status"] == DONE).all(), "both tasks done with 4 workers")


def test_validate_and_experiments():
    workdir()
    write("sweep.toml", SPEC)
    p = mpisweep("validate", "sweep.toml")
    check("18 tasks (6 points × 3 seeds)" in p.stdout, p.stdout)
    check(not os.path.exists("results"), "validate writes nothing")
    p = mpisweep("experiments")
    for kind in ("noop", "moe_cl", "lowrank_q", "kinetic_closure"):
        check(kind in p.stdout, "experiments lists %s" % kind)
    p = mpisweep("experiments", "noop")
    for word in ("work_us", "payload", "fail_rate", "[0, 1]", "value"):
        check(word in p.stdout, "experiments noop shows %s:\n%s" % (word, p.stdout))


if __name__ == "__main__":
    main([test_rank_counts_agree_bit_for_bit, test_more_ranks_than_tasks, test_validate_and_experiments])
