"""slurm/sweep.sbatch on a two-node SLURM: two hosts (network namespaces, tests/support/netns.py),
each running its own slurmd, slurmctld on the first (tests/support/netns_slurm.py). The job's
mpirun starts ranks on both nodes through SLURM; rows name both nodes, /runs records the job and
its node list, results equal a run on this one machine. A warning signal stops the two-node job
(exit 4), it is requeued and the requeued job finishes the sweep, nothing run twice.
About a minute (SLURM holds a requeued job for cred_expire, 10 s): hence "slow" in its name."""
import time

from harness import *
import netns
import netns_slurm

netns.skip_unless_available()

SWEEP_SBATCH = os.path.join(SOURCE_DIR, "slurm", "sweep.sbatch")
# 48 tasks of 100-150 ms CPU: several seconds on the 3 workers, long enough to signal part way.
SPEC = """
[sweep]
name = "sn"
experiment = "noop"
seeds = 24
[params]
payload = 2
[grid]
work_us = [100000, 150000]
"""


def decode(values):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def wait_final(slurm, job, timeout, until=lambda info: True):
    final = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL"}
    info = {}
    end = time.time() + timeout
    while time.time() < end:
        info = slurm.job_state(job)
        if info.get("JobState") in final and until(info):
            return info
        time.sleep(0.5)
    slurm.run(["scancel", str(job)], check=False)
    raise AssertionError("job %s: not done in %d s: %s\n%s" % (job, timeout, info,
                                                             slurm.log_tail()))


def test_two_node_job_then_signal_requeue_resume():
    workdir()
    write("sn.toml", SPEC)
    mpisweep("run", "sn.toml", "--archive", "reference.h5", "-q", ranks=3)
    reference = by_id(load("reference.h5"))
    with netns.Cluster(["a", "b"]) as c:
        try:
            slurm = netns_slurm.Slurm(c, cpus=2).start()
        except netns_slurm.Unavailable as e:
            print("SKIP: %s" % e, flush=True)
            raise SystemExit(77)
        # The job's Open MPI keeps to the test subnet, as on a cluster with several networks.
        env = dict(ENV, MPISWEEP=BIN, OMPI_MCA_btl="self,tcp",
                   OMPI_MCA_btl_tcp_if_include=netns.SUBNET,
                   OMPI_MCA_oob_tcp_if_include=netns.SUBNET, MPISWEEP_SIGNAL_DELAY="1")
        args = ["--nodes=2", "--ntasks-per-node=2", "--ntasks=4", "--cpus-per-task=1",
                "--time=10", "--output=%s/job-%%j.log" % os.getcwd(), SWEEP_SBATCH, "sn.toml"]
        job = slurm.sbatch(args, env)
        # Stop it part way with the warning signal, as SLURM does before the limit.
        deadline = time.time() + 120
        while done_count("results/sn.h5") < 6:
            check(time.time() < deadline, "no progress in 120 s\n" + read_log(job))
            check(slurm.job_state(job).get("JobState") in ("PENDING", "RUNNING", "CONFIGURING"),
                  "job ended early: %s\n%s" % (slurm.job_state(job), read_log(job)))
            time.sleep(0.2)
        slurm.run(["scancel", "--batch", "--signal=USR1", job])
        info = wait_final(slurm, job, 180, until=lambda i: int(i.get("Restarts", 0)) >= 1)
        log = read_log(job)
        check(info["JobState"] == "COMPLETED" and info["ExitCode"] == "0:0",
              "requeued job completes: %s\n%s" % (info, log))
        check("mpisweep exited with 4" in log and "requeueing job %s" % job in log,
              "the first run stopped and requeued:\n" + log)
    a = load("results/sn.h5")
    check((a["status"] == DONE).all(), "every task done")
    check(by_id(a) == reference, "results identical to a run on one machine")
    check((a["attempts"] == 1).all(), "no task ran twice: attempts %s" % set(a["attempts"]))
    hosts = set(decode(a["host"]))
    check(hosts == {c.hostname("a"), c.hostname("b")}, "rows name both nodes: %s" % hosts)
    runs = {k: decode(v) for k, v in a["runs"].items()}
    check(len(runs["slurm_job_id"]) == 2 and set(runs["slurm_job_id"]) == {job},
          "two /runs rows of the requeued job: %s" % runs["slurm_job_id"])
    check(all(set(h.split(",")) == hosts for h in runs["hosts"]), "/runs hosts: %s" % runs["hosts"])
    check(all(c.tag in n for n in runs["slurm_nodelist"]), "node list: %s" % runs["slurm_nodelist"])
    check(list(a["runs"]["ranks"]) == [4, 4], "4 ranks per job: %s" % a["runs"]["ranks"])
    check(list(a["runs"]["exit_status"]) == [4, 0],
          "exit statuses 4 then 0: %s" % a["runs"]["exit_status"])


def read_log(job):
    return read("job-%s.log" % job)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


if __name__ == "__main__":
    main([test_two_node_job_then_signal_requeue_resume])
