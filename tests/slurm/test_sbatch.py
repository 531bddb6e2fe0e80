"""slurm/sweep.sbatch and slurm/array.sbatch on a real single-node SLURM (slurmctld + slurmd, started
and stopped here by slurm/local-cluster.sh): a sweep completes and records its job; the warning
signal (and SIGTERM) stops it with exit 4 and the requeued (or resubmitted) job finishes it with
results identical to an uninterrupted run; a real time limit with the deadline logic; task
timeouts and retries; a job array of sweep files."""
import os
import re
import socket
import subprocess
import time

from harness import *
from slurm_cluster import *

DEMO = os.path.join(SOURCE_DIR, "jobs", "demo.toml")
MINI_DEMO = """
[sweep]
name = "demo"
experiment = "noop"
archive = "results/demo.h5"
seeds = 20
[grid]
work_us = [1000, 2000]
"""

# 40 tasks of ~0.35 s CPU each (7 s on two workers): long enough to be signalled part way.
LONG = """
[sweep]
name = "long"
experiment = "noop"
seeds = 20
[params]
payload = 3
[grid]
work_us = [300000, 400000]
"""

HOST = socket.gethostname().split(".")[0]
# The job script's own defaults ask for 8 slots and 2 h; the tests fit the 3-slot local node.
SLOTS = ["--ntasks=3", "--cpus-per-task=1"]
ENV = {"MPISWEEP": BIN}


def log_of(job):
    return read("job-%s.log" % job)


def submit(*args, env=None, time_limit="10"):
    return sbatch(*SLOTS, "--time=%s" % time_limit, "--output=job-%j.log", SWEEP_SBATCH, *args,
                  env=dict(ENV, **(env or {})))


def runs_of(archive):
    return {k: [x.decode() if isinstance(x, bytes) else x for x in v]
            for k, v in archive["runs"].items()}


_references = {}


def reference(spec_text, name):
    """Results of an uninterrupted run outside SLURM (computed once per spec)."""
    if spec_text not in _references:
        write("ref/%s.toml" % name, spec_text)
        mpisweep("run", "ref/%s.toml" % name, "--archive", "ref/%s.h5" % name, "-q", ranks=3)
        _references[spec_text] = by_id(load("ref/%s.h5" % name))
    return _references[spec_text]


def test_demo_sweep_completes_and_records_the_job():
    workdir()
    spec = DEMO if os.path.exists(DEMO) else write("demo.toml", MINI_DEMO)
    mpisweep("run", spec, "--archive", "ref.h5", "-q", ranks=3)
    job = submit(spec)
    info = wait_job(job, timeout=120)
    log = log_of(job)
    check(info["ExitCode"] == "0:0", "job exit 0: %s\n%s" % (info, log))
    a = load("results/demo.h5")
    check((a["status"] == DONE).all(), "every task done")
    check(by_id(a) == by_id(load("ref.h5")), "results identical to a run outside SLURM")
    runs = runs_of(a)
    check(runs["slurm_job_id"] == [job], "job id in /runs: %s" % runs["slurm_job_id"])
    check(runs["slurm_nodelist"] == [HOST], "node list in /runs: %s" % runs["slurm_nodelist"])
    check(list(runs["ranks"]) == [3], "one rank per task slot: %s" % runs["ranks"])
    check("--threads-per-worker 1" in runs["command_line"][0],
          "threads from SLURM_CPUS_PER_TASK: %s" % runs["command_line"][0])
    check(list(runs["threads_per_worker"]) == [1], "threads in /runs: %s" % runs["threads_per_worker"])
    check(list(runs["exit_status"]) == [0], "exit 0 recorded")
    check(re.search(r"--deadline \d{4}-\d\d-\d\dT", runs["command_line"][0]),
          "deadline from the job's end time: %s" % runs["command_line"][0])


def stopped_count(log):
    """Done tasks when the first job stopped, from the script's log line."""
    m = re.search(r"stopped with the archive flushed \(tasks: \d+ total, (\d+) done", log)
    return int(m.group(1)) if m else None


def test_warning_signal_stops_requeues_and_resumes():
    workdir()
    ref = reference(LONG, "long")
    write("long.toml", LONG)
    job = submit("long.toml")
    # Signal once a few tasks are in the archive.
    wait_for(lambda: os.path.exists("results/long.h5") and
             (load("results/long.h5")["status"] == DONE).sum() >= 4, 90, "first results")
    t0 = time.time()
    subprocess.run(["scancel", "--batch", "--signal=USR1", job], check=True, timeout=60)
    wait_for(lambda: "mpisweep exited with 4" in log_of(job), 60, "exit 4\n" + log_of(job))
    t_stop = time.time() - t0
    info = wait_job(job, timeout=150, until=lambda i: int(i.get("Restarts", 0)) >= 1)
    t_all = time.time() - t0
    log = log_of(job)
    print("USR1 -> exit 4 seen after %.1fs; requeued job finished %.1fs after the signal"
          % (t_stop, t_all), flush=True)
    check(info["ExitCode"] == "0:0", "requeued job ends with 0: %s\n%s" % (info, log))
    check("SIGUSR1: asking mpisweep to stop" in log, "the batch shell forwarded the signal")
    check("requeueing job %s" % job in log, "the job requeued itself:\n" + log)
    a = load("results/long.h5")
    check((a["status"] == DONE).all(), "sweep complete after the requeue")
    check(by_id(a) == ref, "results identical to an uninterrupted run")
    check((a["attempts"] == 1).all(), "no task ran twice: %s" % a["attempts"])
    runs = runs_of(a)
    check(runs["slurm_job_id"] == [job, job], "two runs of the same job: %s" % runs["slurm_job_id"])
    check(list(runs["exit_status"]) == [4, 0], "exit 4 then 0: %s" % runs["exit_status"])
    # Tasks finished by the first job were kept, not redone by the second.
    first = stopped_count(log)
    check(first is not None and 0 < first < len(a["id"]), "stopped part way: %s" % first)
    kept = (a["started"] < runs["start"][1]).sum()
    check(kept == first, "%d tasks from the first job kept (log says %d)" % (kept, first))


def test_sigterm_stops_and_resubmission_finishes():
    workdir()
    ref = reference(LONG, "long")
    write("long.toml", LONG)
    # No requeue: the user submits again (the documented manual path).
    job = submit("long.toml", env={"MPISWEEP_REQUEUE": "0"})
    wait_for(lambda: os.path.exists("results/long.h5") and
             (load("results/long.h5")["status"] == DONE).sum() >= 4, 90, "first results")
    subprocess.run(["scancel", "--batch", "--signal=TERM", job], check=True, timeout=60)
    info = wait_job(job, timeout=90)
    log = log_of(job)
    check(info["ExitCode"] == "4:0", "stopped job exits 4: %s\n%s" % (info, log))
    check("SIGTERM: asking mpisweep to stop" in log and "not requeued" in log, log)
    check("Primary job" not in log, "no Open MPI banner for a stop (mpirun -q):\n" + log)
    a = load("results/long.h5")
    done = (a["status"] == DONE).sum()
    check(0 < done < len(a["id"]), "stopped part way: %d done" % done)
    again = submit("long.toml")
    info = wait_job(again, timeout=120)
    check(info["ExitCode"] == "0:0", "resubmitted job finishes: %s\n%s" % (info, log_of(again)))
    b = load("results/long.h5")
    check((b["status"] == DONE).all() and by_id(b) == ref, "complete and identical")
    check((b["started"][a["status"] == DONE] == a["started"][a["status"] == DONE]).all(),
          "no finished task redone")
    check(runs_of(b)["slurm_job_id"] == [job, again], "both jobs in /runs")


def test_stop_right_at_the_start():
    """A stop asked for while mpirun starts (a warning lead longer than the job does this) must
    not kill ranks that have no handler yet: the script holds it back a few seconds. (A signal in
    the first milliseconds, before bash has read the trap lines, still kills the batch shell.)"""
    workdir()
    write("long.toml", LONG)
    job = submit("long.toml", env={"MPISWEEP_REQUEUE": "0"})
    # As soon as the script runs (its first log line), before mpirun has started the ranks.
    wait_for(lambda: "(restart 0)" in log_of(job), 60, "job start")
    subprocess.run(["scancel", "--batch", "--signal=USR1", job], check=True, timeout=60)
    info = wait_job(job, timeout=90)
    log = log_of(job)
    check(info["ExitCode"] == "4:0", "exit 4, no rank killed by the signal: %s\n%s" % (info, log))
    a = load("results/long.h5")
    check(runs_of(a)["exit_status"] == [4], "the run row records exit 4")


def test_time_limit_deadline_requeues_until_done():
    """A real 1-minute limit; with a 50 s stop margin the deadline falls 10 s into each job, so
    the sweep (~12 s of work on each of two workers) needs more than one job. The scheduler starts no
    task that cannot end by the deadline; every job exits 4 and requeues until one finishes.
    (The warning signal is set late, 15 s before the limit, so the deadline acts first.)"""
    workdir()
    spec = LONG.replace("seeds = 20", "seeds = 30")   # 24 s of work: two jobs at least
    ref = reference(spec, "limit")
    write("long.toml", spec)
    job = sbatch(*SLOTS, "--time=1", "--signal=B:USR1@15", "--output=job-%j.log", SWEEP_SBATCH,
                 "long.toml", "--grace", "5", env=dict(ENV, MPISWEEP_STOP_MARGIN="50"))
    info = wait_job(job, timeout=200, until=lambda i: i["ExitCode"] == "0:0")
    log = log_of(job)
    a = load("results/long.h5")
    runs = runs_of(a)
    print("time limit: %d runs of job %s, exits %s" % (len(runs["start"]), job,
                                                      list(runs["exit_status"])), flush=True)
    check(len(runs["start"]) >= 2, "more than one job was needed:\n" + log)
    check(list(runs["exit_status"])[-1] == 0 and set(runs["exit_status"][:-1]) == {4},
          "exit 4 until the last job: %s" % runs["exit_status"])
    check((a["status"] == DONE).all() and by_id(a) == ref, "complete and identical")
    check((a["attempts"] == 1).all(), "no task cut and rerun")
    # No task of a stopped run ended after that run's deadline (plus scheduling slack).
    for r in range(len(runs["start"]) - 1):
        m = re.search(r"--deadline (\S+)", runs["command_line"][r])
        deadline = time.mktime(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
        mine = (a["started"] >= runs["start"][r]) & (a["started"] <= runs["end"][r])
        ends = a["started"][mine] + a["wall_seconds"][mine]
        check(mine.sum() > 0 and ends.max() <= deadline + 2.0,
              "run %d: tasks end by its deadline (%s, last end %.1f s after)" % (
                  r, m.group(1), ends.max() - deadline if mine.sum() else 0))


def test_task_timeout_and_retries():
    workdir()
    # task_timeout from the sweep file, retries from the command line. The 3 s tasks exceed the
    # 1 s budget on every attempt; with fail_rate 0.5, seeds 2, 3 and 4 fail on every attempt.
    write("t.toml", """
[sweep]
name = "t"
experiment = "noop"
seeds = 6
task_timeout = 1.0
[zip]
work_us = [1000, 3000000, 1000]
fail_rate = [0.0, 0.0, 0.5]
""")
    job = submit("t.toml", "--retries", "2")
    info = wait_job(job, timeout=150)
    log = log_of(job)
    check(info["ExitCode"] == "1:0", "exit 1 (some tasks failed), no requeue: %s\n%s" % (info, log))
    check("requeue" not in log, "exit 1 is not requeued")
    check("Primary job" not in log, "no Open MPI banner for failed tasks (mpirun -q):\n" + log)
    a = load("results/t.h5")
    work, rate = a["params"]["work_us"], a["params"]["fail_rate"]
    st, att = a["status"], a["attempts"]
    slow = work == 3000000
    check((st[slow] == TIMEOUT).all(), "slow tasks time out: %s" % st[slow])
    check((att[slow] == 3).all(), "timed-out tasks tried 1 + 2 times: %s" % att[slow])
    check(all(b"timeout" in e for e in a["error"][slow]), "timeout message recorded")
    fast = ~slow
    failed = fast & (st == FAILED)
    check(failed.sum() > 0 and (rate[failed] > 0).all(), "some seeds fail on purpose")
    check((att[failed] == 3).all(), "failed tasks retried twice: %s" % att[failed])
    ok = fast & (st == DONE)
    check(ok.sum() > 0 and (att[ok] == 1).all(), "healthy tasks run once")
    check(a["wall_seconds"][slow].max() < 2.5, "cancelled near the 1 s budget: %s"
          % a["wall_seconds"][slow])


def test_job_array_of_sweep_files():
    workdir()
    names = []
    for i in range(2):
        names.append(write("s%d.toml" % i, """
[sweep]
name = "s%d"
experiment = "noop"
seeds = %d
[params]
work_us = 1000
""" % (i, 5 + i)))
    job = sbatch(*SLOTS, "--time=10", "--array=0-1", "--output=array-%A_%a.log", ARRAY_SBATCH,
                 *names, "--", "--retries", "1", env=ENV)
    for i in range(2):
        info = wait_job("%s_%d" % (job, i), timeout=120)
        check(info["ExitCode"] == "0:0", "array task %d: %s\n%s" % (
            i, info, read("array-%s_%d.log" % (job, i))))
        a = load("results/s%d.h5" % i)
        check(len(a["id"]) == 5 + i and (a["status"] == DONE).all(), "sweep %d complete" % i)
        runs = runs_of(a)
        check("--retries 1" in runs["command_line"][0], "shared options passed on")
        check(runs["slurm_job_id"][0] != "", "job id recorded")


if __name__ == "__main__":
    tests = [test_demo_sweep_completes_and_records_the_job,
             test_warning_signal_stops_requeues_and_resumes,
             test_sigterm_stops_and_resubmission_finishes,
             test_stop_right_at_the_start,
             test_time_limit_deadline_requeues_until_done,
             test_task_timeout_and_retries,
             test_job_array_of_sweep_files]
    only = os.environ.get("MPISWEEP_SLURM_TESTS")   # e.g. "timeout,array": a subset, by name
    if only:
        tests = [t for t in tests if any(w in t.__name__ for w in only.split(","))]
    with LocalCluster(cpus=3) as cluster:
        try:
            main(tests)
        except SystemExit as e:
            if e.code:
                print(cluster.log_tail(), flush=True)
            raise
