"""What the user sees when `mpirun` ends (Open MPI 4.1, README "Exit codes"): with `mpirun -q` a
sweep with failed tasks exits 1 and stderr holds mpisweep's lines only, no Open MPI banner.
A stop signal to mpirun: USR1 is forwarded to the ranks and mpirun exits 4; INT (Ctrl-C), TERM
and HUP make mpirun itself SIGTERM the ranks and exit 1 whatever they return. Either way the
master flushes, /runs records 4, and a rerun completes without running a finished task again.
Tasks far longer than mpirun's second before its SIGKILL are cancelled at once (the ranks take
mpirun's SIGTERM as a second signal), so /runs still records 4. HUP stops a single rank (exit 4).
(The rank-count independence of results is tested in test_resume and fault/test_kill9.)"""
import os
import signal
import subprocess
import time

from harness import *

# This process polls the archive while mpisweep opens it for writing; the reader's lock made that
# open fail now and then (exit 3). Only this process goes without locks: mpisweep keeps its own.
os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"

# Open MPI's closing notices; none may appear for an expected outcome under `mpirun -q`.
BANNERS = ("Primary job", "mpirun detected", "mpirun noticed", "Forwarding signal")

FAILING = """
[sweep]
name = "f"
experiment = "noop"
seeds = 6
[params]
fail_rate = 1.0
"""

# 2000 tasks of 5-10 ms, about 8 s on two workers. After INT, TERM or HUP the ranks run on for
# about 1 s before mpirun's SIGTERM (a few hundred tasks here), then have about 1 s before its
# SIGKILL: tasks this short let the master flush in time. So four stops still land part way.
STOPPABLE = """
[sweep]
name = "s"
experiment = "noop"
seeds = 1000
[grid]
work_us = [5000, 10000]
"""


def quiet_mpirun(*args):
    """The documented invocation: `mpirun -q -n 3 mpisweep ...`."""
    return [MPIEXEC, "-q", "-n", "3", "--oversubscribe", BIN] + [str(a) for a in args]


def banners(text):
    return [b for b in BANNERS if b in text]


def test_failed_tasks_exit_1_without_banner():
    workdir()
    write("f.toml", FAILING)
    loud = subprocess.run(command(["run", "f.toml", "--archive", "loud.h5"], ranks=3), env=ENV,
                          capture_output=True, text=True, timeout=300)
    check(loud.returncode == 1, "plain mpirun: exit 1, got %d" % loud.returncode)
    # Without -q Open MPI adds its banner: the check below can tell the two apart.
    check("Primary job" in loud.stderr, "plain mpirun prints the banner:\n" + loud.stderr)
    p = subprocess.run(quiet_mpirun("run", "f.toml"), env=ENV, capture_output=True, text=True,
                       timeout=300)
    check(p.returncode == 1, "mpirun -q: exit 1, got %d\n%s" % (p.returncode, p.stderr))
    check(not banners(p.stderr), "no Open MPI banner under -q: %s\n%s" % (banners(p.stderr),
                                                                       p.stderr))
    check("6 failed" in p.stderr, "mpisweep's own summary stays:\n" + p.stderr)
    check(load("results/f.h5")["runs"]["exit_status"].tolist() == [1], "/runs records 1")


def done_count(path):
    try:
        return int((load(path)["status"] == DONE).sum())
    except (OSError, KeyError):
        return 0


def stop_with(sig, before):
    """Starts the quiet sweep, waits until `before` + 3 tasks are done, sends `sig` to mpirun
    alone (as a terminal's Ctrl-C or `kill PID` would), returns (exit status, stderr)."""
    job = subprocess.Popen(quiet_mpirun("run", "s.toml"), env=ENV, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 120
    while (time.time() < deadline and job.poll() is None and
           done_count("results/s.h5") < before + 3):
        time.sleep(0.1)
    job.send_signal(sig)
    try:
        out, err = job.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        kill_job(job)
        raise
    return job.returncode, err


def test_stop_signals_to_mpirun_then_resume():
    workdir()
    write("s.toml", STOPPABLE)
    expected = {signal.SIGINT: 1, signal.SIGTERM: 1, signal.SIGHUP: 1, signal.SIGUSR1: 4}
    done = 0
    for n, (sig, code) in enumerate(expected.items()):
        rc, err = stop_with(sig, done)
        name = signal.Signals(sig).name
        check(rc == code, "%s to mpirun: exit %d, expected %d\n%s" % (name, rc, code, err))
        check(not banners(err), "%s: no Open MPI banner: %s\n%s" % (name, banners(err), err))
        a = load("results/s.h5")
        now = int((a["status"] == DONE).sum())
        check(done < now < 2000, "%s stopped the sweep part way: %d then %d done" % (name, done,
                                                                                   now))
        check(a["runs"]["exit_status"].tolist() == [4] * (n + 1),
              "%s: /runs records 4: %s\n%s" % (name, a["runs"]["exit_status"], err))
        check("run the same command again to resume" in err, "%s: closing line\n%s" % (name, err))
        done = now
    p = subprocess.run(quiet_mpirun("run", "s.toml", "-q"), env=ENV, capture_output=True,
                       text=True, timeout=300)
    check(p.returncode == 0 and not p.stderr, "rerun completes quietly: exit %d\n%s" % (
        p.returncode, p.stderr))
    final = load("results/s.h5")
    check((final["status"] == DONE).all(), "every task done after the rerun")
    check((final["attempts"] == 1).all(), "no finished task run twice")
    check(final["runs"]["exit_status"].tolist() == [4, 4, 4, 4, 0], "/runs: four stops, then 0")


# Four tasks of 30 s (a sleeping program: no CPU), far longer than mpirun waits before SIGKILL.
LONG = """
[sweep]
name = "l"
experiment = "command"
seeds = 4
[command]
run = ["sh", "long.sh", "{secs}"]
metrics = ["v"]
[params]
secs = 30
"""


def start_long(args):
    workdir()
    write("long.sh", 'sleep "$1"\necho \'{"metrics": {"v": 1}}\'\n')
    write("l.toml", LONG)
    job = subprocess.Popen(args, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, start_new_session=True)
    # The run is recorded and its tasks started once /runs has its row.
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if len(load("results/l.h5")["runs"]["exit_status"]) == 1:
                break
        except (OSError, KeyError):
            pass
        time.sleep(0.1)
    time.sleep(1.0)
    return job


def check_long_stopped(job, sig, code):
    job.send_signal(sig)
    sent = time.time()
    try:
        out, err = job.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        kill_job(job)
        raise
    name = signal.Signals(sig).name
    check(job.returncode == code, "%s: exit %d, expected %d\n%s" % (name, job.returncode, code,
                                                                   err))
    check(time.time() - sent < 20, "%s: ended %.1f s later" % (name, time.time() - sent))
    a = load("results/l.h5")
    check(a["runs"]["exit_status"].tolist() == [4], "%s: /runs records 4, not -1: %s\n%s" % (
        name, a["runs"]["exit_status"], err))
    check((a["status"] == PENDING).all() and (a["attempts"] == 0).all(),
          "%s: the cancelled tasks stay pending, no attempt counted" % name)
    check("run the same command again to resume" in err, "%s: closing line\n%s" % (name, err))


def test_ctrl_c_with_long_tasks_records_the_stop():
    job = start_long(quiet_mpirun("run", "l.toml"))
    check_long_stopped(job, signal.SIGINT, 1)


def test_hup_stops_a_single_rank():
    job = start_long([BIN, "run", "l.toml", "--grace", "1"])
    check_long_stopped(job, signal.SIGHUP, 4)


if __name__ == "__main__":
    main([test_failed_tasks_exit_1_without_banner, test_stop_signals_to_mpirun_then_resume,
          test_ctrl_c_with_long_tasks_records_the_stop, test_hup_stops_a_single_rank])
