"""A real SLURM over the hosts of a netns.Cluster: munged and slurmctld on the first host, one
slurmd on every host, each daemon inside its host's namespaces, so each slurmd sees its own
hostname and address and the hosts are SLURM nodes as on a real cluster. Everything lives in the
cluster's folder; the daemons die with the cluster's namespaces (netns.Cluster.__exit__), so there
is nothing else to stop. Commands (sbatch, squeue, scontrol) run on the first host, the
"login node"."""
import os
import subprocess
import time

# The config template shared with slurm/local-cluster.sh.
TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "slurm",
                        "slurm.conf.in")


def slurm_conf(values):
    """The template with each @KEY@ of `values` replaced."""
    with open(TEMPLATE) as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace("@%s@" % key, str(value))
    return text


class Unavailable(Exception):
    pass


class Slurm:
    """Slurm(cluster, cpus=2).start(); .run(argv) runs a SLURM command on the login node."""

    def __init__(self, cluster, cpus=2):
        self.c = cluster
        self.cpus = cpus
        self.dir = os.path.join(cluster.dir, "slurm")
        self.conf = os.path.join(self.dir, "slurm.conf")
        self.login = cluster.hosts[0]
        self.env = dict(os.environ, SLURM_CONF=self.conf)

    def _on(self, host, argv, check=True):
        p = self.c.run_on(host, argv, env=self.env, capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("%s on %s: exit %d\n%s%s\n%s" % (
                " ".join(argv), host, p.returncode, p.stdout, p.stderr, self.log_tail()))
        return p

    def run(self, argv, check=True):
        return self._on(self.login, argv, check)

    def start(self):
        for cmd in ("munged", "slurmctld", "slurmd", "sbatch"):
            if subprocess.run(["which", cmd], capture_output=True).returncode != 0:
                raise Unavailable("%s is not installed (apt-get install slurm-wlm munge)" % cmd)
        for d in ("state", "spool", "run", "log", "munge"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        os.chmod(os.path.join(self.dir, "munge"), 0o700)
        key = os.path.join(self.dir, "munge", "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        nodes = "\n".join("NodeName=%s NodeAddr=%s CPUs=%d RealMemory=1000 State=UNKNOWN" % (
            self.c.hostname(h), self.c.address(h), self.cpus) for h in self.c.hosts)
        with open(self.conf, "w") as f:
            f.write(slurm_conf({
                "WRITER": "tests/support/netns_slurm.py", "CLUSTER": "msw",
                "CTLD_HOST": "%s(%s)" % (self.c.hostname(self.login), self.c.address(self.login)),
                "CTLD_PORT": 6817, "D_PORT": 6818, "CRED_EXPIRE": 10,
                "SLURMD_SPOOL": self.dir + "/spool/%n",
                "SLURMD_PID": self.dir + "/run/slurmd.%n.pid",
                "SLURMD_LOG": self.dir + "/log/slurmd.%n.log", "KILLWAIT": 10,
                "OVERRIDES": "SlurmdParameters=config_overrides", "NODES": nodes,
                "DIR": self.dir}))
        m = os.path.join(self.dir, "munge")
        self._on(self.login, ["munged", "--force", "--socket=%s/munge.socket" % m,
                              "--key-file=%s" % key, "--pid-file=%s/munged.pid" % m,
                              "--seed-file=%s/munged.seed" % m, "--log-file=%s/munged.log" % m])
        self._on(self.login, ["slurmctld", "-c", "-f", self.conf])
        for h in self.c.hosts:
            self._on(h, ["slurmd", "-f", self.conf])
        self.wait(lambda: self.idle_nodes() == len(self.c.hosts), 60, "all nodes idle")
        return self

    def idle_nodes(self):
        p = self.run(["sinfo", "-h", "-N", "-o", "%T"], check=False)
        return sum(1 for s in p.stdout.split() if s.startswith("idle"))

    def wait(self, cond, timeout, what):
        end = time.time() + timeout
        while time.time() < end:
            if cond():
                return
            time.sleep(0.3)
        raise AssertionError("timed out after %ds waiting for %s\n%s" % (timeout, what,
                                                                        self.log_tail()))

    def log_tail(self, lines=25):
        out = []
        for name in sorted(os.listdir(os.path.join(self.dir, "log"))) if os.path.isdir(
                os.path.join(self.dir, "log")) else []:
            with open(os.path.join(self.dir, "log", name)) as f:
                out.append("== %s\n%s" % (name, "".join(f.readlines()[-lines:])))
        return "\n".join(out)

    def sbatch(self, args, env):
        """Submits from the login node with `env` (sbatch exports it to the job)."""
        p = self.c.run_on(self.login, ["sbatch", "--parsable"] + [str(a) for a in args],
                          env=dict(env, SLURM_CONF=self.conf), capture_output=True, text=True,
                          timeout=60)
        if p.returncode != 0:
            raise AssertionError("sbatch: %s%s" % (p.stdout, p.stderr))
        return p.stdout.strip().split(";")[0]

    def job_state(self, job):
        p = self.run(["scontrol", "-o", "show", "job", str(job)], check=False)
        fields = dict(f.split("=", 1) for f in p.stdout.split() if "=" in f)
        return fields
