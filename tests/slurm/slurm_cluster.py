"""A real single-node SLURM for the tests (slurm/local-cluster.sh), and helpers to submit job
scripts and wait for them. The cluster lives in a fixed folder under /tmp (short enough for munge's
socket path), one per build tree, so a run killed by a ctest timeout is cleaned up, by recorded
pid, by the next run from the same tree."""
import hashlib
import os
import re
import socket
import subprocess
import tempfile
import time

from harness import SOURCE_DIR

SCRIPT = os.path.join(SOURCE_DIR, "slurm", "local-cluster.sh")
SWEEP_SBATCH = os.path.join(SOURCE_DIR, "slurm", "sweep.sbatch")
ARRAY_SBATCH = os.path.join(SOURCE_DIR, "slurm", "array.sbatch")
FINAL_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                "BOOT_FAIL", "DEADLINE", "PREEMPTED"}


def free_port():
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


class LocalCluster:
    """with LocalCluster(cpus=3): ... — starts munged, slurmctld and slurmd, sets SLURM_CONF for
    this process (and so for every sbatch/squeue it runs), and stops exactly those daemons."""

    def __init__(self, cpus=3):
        # One folder per build tree: test runs from different build folders (scripts/test and a
        # developer's build) may overlap and must not stop each other's cluster.
        tree = hashlib.sha1(os.environ.get("MPISWEEP_TEST_TMP", os.getcwd()).encode()).hexdigest()
        self.dir = os.path.join(tempfile.gettempdir(),
                                "mpisweep-slurm-test-%d-%s" % (os.getuid(), tree[:8]))
        self.env = dict(os.environ, LOCAL_SLURM_DIR=self.dir, LOCAL_SLURM_CPUS=str(cpus),
                        LOCAL_SLURM_KILLWAIT="20")
        self.conf = os.path.join(self.dir, "slurm.conf")

    def _script(self, *args, check=True):
        p = subprocess.run(["bash", SCRIPT] + list(args), env=self.env, capture_output=True,
                           text=True, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError("local-cluster.sh %s: exit %d\n%s%s" % (
                " ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def __enter__(self):
        self._script("stop", check=False)   # leftovers of a run that was killed
        self.env["LOCAL_SLURM_CTLD_PORT"] = str(free_port())
        self.env["LOCAL_SLURM_D_PORT"] = str(free_port())
        self._script("start")
        os.environ["SLURM_CONF"] = self.conf
        return self

    def __exit__(self, *exc):
        p = self._script("stop", check=False)
        print(p.stdout.strip(), p.stderr.strip(), flush=True)
        os.environ.pop("SLURM_CONF", None)
        return False

    def log_tail(self, lines=30):
        out = []
        for name in ("slurmctld.log", "slurmd.log"):
            path = os.path.join(self.dir, "log", name)
            if os.path.exists(path):
                with open(path) as f:
                    out.append("== %s\n%s" % (name, "".join(f.readlines()[-lines:])))
        return "\n".join(out)


def sbatch(*args, env=None):
    """Submits; returns the job id."""
    e = dict(os.environ, **(env or {}))
    p = subprocess.run(["sbatch", "--parsable"] + [str(a) for a in args], env=e,
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("sbatch %s: %s%s" % (" ".join(map(str, args)), p.stdout, p.stderr))
    return p.stdout.strip().split(";")[0]


def job_info(job):
    """scontrol show job as a dict (JobState, ExitCode, Restarts, ...); {} once it is gone."""
    p = subprocess.run(["scontrol", "-o", "show", "job", str(job)], capture_output=True,
                       text=True, timeout=60)
    if p.returncode != 0:
        return {}
    info = {}
    for field in re.findall(r"(\S+?)=(\S*)", p.stdout.strip().splitlines()[0]):
        info.setdefault(field[0], field[1])
    return info


def wait_job(job, timeout=120, until=None):
    """Waits until the job reaches a final state (and `until(info)` holds); returns its info."""
    end = time.time() + timeout
    info = {}
    while time.time() < end:
        info = job_info(job)
        if info.get("JobState") in FINAL_STATES and (until is None or until(info)):
            return info
        time.sleep(0.5)
    subprocess.run(["scancel", str(job)], timeout=60)
    raise AssertionError("job %s did not finish in %ds: %s" % (job, timeout, info))


def wait_for(condition, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out after %ds waiting for %s" % (timeout, what))


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""
