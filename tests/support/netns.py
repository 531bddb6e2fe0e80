"""Many "hosts" on one machine, for multi-node tests of the real binary under Open MPI.

Each host is a network namespace with its own hostname (a UTS namespace), held open by one
`sleep` process. A further namespace holds the "switch": a bridge that every host's veth pair
joins, so the hosts share a private subnet and nothing in this machine's own network namespace
changes (no interface, address or route is added there). Open MPI starts its daemons on the hosts
through an rsh agent script that enters the named host's namespaces with nsenter, and is told to
use only the test subnet (btl self,tcp; oob and btl tcp limited to SUBNET).

Every namespace lives exactly as long as the processes in it, so tear-down is killing them:
every process whose network and UTS namespace inodes are those recorded for a host at set-up
(holder, MPI daemons, ranks, SLURM daemons alike). A run that crashed leaves a state file with
those inodes (the holders die with it, PR_SET_PDEATHSIG; daemons would not); the next Cluster
kills what is still in them before it starts.

Host cores: a host may be given a CPU list; everything started on the host (through the agent or
enter()) is bound to those CPUs with taskset, as processes on a smaller machine see fewer cores.
"""
import ctypes
import glob
import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

SUBNET = "10.213.7.0/24"
PREFIX = "10.213.7."
STATE_DIR = os.path.join(tempfile.gettempdir(), "mpisweep-netns")
_PR_SET_PDEATHSIG = 1

# The agent Open MPI calls as `agent [-x] HOST COMMAND...`: it runs COMMAND with /bin/sh in HOST's
# network and UTS namespaces, like ssh would on that host (same file system, same environment).
AGENT = r"""#!/bin/sh
while [ "${1#-}" != "$1" ]; do shift; done    # options meant for ssh (-x)
host=$1; shift
set -- "$host" "$*" $(sed -n "s/^$host //p" "%(hosts)s")
if [ $# -ne 4 ]; then echo "netns agent: unknown host '$1'" >&2; exit 255; fi
exec nsenter --target "$3" --net --uts -- taskset -c "$4" /bin/sh -c "$2"
"""


class Unavailable(Exception):
    """Network namespaces cannot be made here; the message says why."""


def _die_with_parent():
    # The holder dies with the test process even if that is killed by SIGKILL (ctest timeout).
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _start_time(pid):
    """The process's start time in clock ticks (field 22 of /proc/PID/stat): pid + start time
    names one process, even after its pid is reused."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _ns(pid, kind):
    try:
        return os.readlink("/proc/%d/ns/%s" % (pid, kind))
    except OSError:
        return None


def _pids_in(net, uts=None):
    """Every process in network namespace `net` (e.g. 'net:[4026532281]') and, if given, UTS
    namespace `uts`."""
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit() and _ns(int(p), "net") == net and (uts is None or _ns(int(p), "uts") == uts):
            out.append(int(p))
    return out


def _kill_recorded(holders):
    """SIGKILL every process in the recorded hosts' namespaces, holders included. Processes are
    found by both namespace inodes recorded at set-up, so daemons left in a namespace whose
    holder already died (a crashed run) are found too, and a recycled inode alone matches
    nothing."""
    for h in holders:
        for p in _pids_in(h["net"], h["uts"]):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass


def clean_stale():
    """Stops what crashed earlier runs left: state files whose owning test process is gone."""
    for path in glob.glob(os.path.join(STATE_DIR, "*.json")):
        try:
            with open(path) as f:
                state = json.load(f)
        except (OSError, ValueError):
            continue
        if _start_time(state["owner"]) == state["owner_start"]:
            continue  # still running (another test, concurrently): not ours to stop
        _kill_recorded(state["holders"])
        os.remove(path)


def check_available():
    """Raises Unavailable with the reason when namespaces, veth or nsenter are missing."""
    if os.geteuid() != 0:
        raise Unavailable("network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN); "
                          "running as uid %d" % os.geteuid())
    for tool in ("unshare", "nsenter", "ip"):
        if not any(os.access(os.path.join(d, tool), os.X_OK)
                   for d in os.environ.get("PATH", "").split(":") + ["/usr/sbin", "/sbin"]):
            raise Unavailable("%s is not installed (util-linux, iproute2)" % tool)
    p = subprocess.run(["unshare", "--net", "--uts", "true"], capture_output=True, text=True)
    if p.returncode != 0:
        raise Unavailable("unshare --net --uts failed: %s" % p.stderr.strip())


class Cluster:
    """with Cluster(["a", "b"], cpus={"b": [0]}) as c: ... — hosts named <tag>-a, <tag>-b.

    c.hostname(h), c.address(h), c.hostfile(slots), c.mpirun_args(), c.run_on(h, argv),
    c.popen_on(h, argv), c.kill_host(h). The tag is unique per Cluster, so hostnames, the state
    file and the folder of agent and hostfile never meet those of another run."""

    def __init__(self, hosts, cpus=None, workdir=None):
        self.tag = "msw%s" % uuid.uuid4().hex[:6]
        self.hosts = list(hosts)
        self.cpus = dict(cpus or {})
        self.dir = os.path.join(workdir or tempfile.gettempdir(), "netns-" + self.tag)
        self.holders = {}    # host (or "switch") -> {"pid", "start", "net", "uts"}
        self.procs = []
        self.state = os.path.join(STATE_DIR, self.tag + ".json")
        self.agent = os.path.join(self.dir, "agent")
        self.hosts_file = os.path.join(self.dir, "hosts")

    def hostname(self, host):
        return "%s-%s" % (self.tag, host)

    def address(self, host):
        return PREFIX + str(self.hosts.index(host) + 1)

    # --- set-up and tear-down -----------------------------------------------------------------

    def _hold(self, key, hostname):
        script = "hostname %s && exec sleep infinity" % shlex.quote(hostname)
        p = subprocess.Popen(["unshare", "--net", "--uts", "sh", "-c", script],
                             preexec_fn=_die_with_parent, stdin=subprocess.DEVNULL)
        self.procs.append(p)
        # unshare execs into sh, sh into sleep: wait for the hostname to be set.
        deadline = time.time() + 10
        while time.time() < deadline:
            r = subprocess.run(["nsenter", "--target", str(p.pid), "--uts", "hostname"],
                               capture_output=True, text=True)
            if r.stdout.strip() == hostname:
                break
            time.sleep(0.02)
        else:
            raise RuntimeError("namespace holder for %s did not come up" % hostname)
        self.holders[key] = {"pid": p.pid, "start": _start_time(p.pid),
                             "net": _ns(p.pid, "net"), "uts": _ns(p.pid, "uts")}
        self._save()
        return p.pid

    def _save(self):
        os.makedirs(STATE_DIR, exist_ok=True)
        with open(self.state + ".tmp", "w") as f:
            json.dump({"owner": os.getpid(), "owner_start": _start_time(os.getpid()),
                       "holders": list(self.holders.values())}, f)
        os.replace(self.state + ".tmp", self.state)

    def _ip(self, pid, *args):
        subprocess.run(["nsenter", "--target", str(pid), "--net", "ip"] + list(args),
                       check=True, capture_output=True, text=True)

    def __enter__(self):
        check_available()
        clean_stale()
        os.makedirs(self.dir, exist_ok=True)
        try:
            switch = self._hold("switch", self.tag + "-sw")
            self._ip(switch, "link", "add", "br0", "type", "bridge")
            self._ip(switch, "link", "set", "br0", "up")
            for i, h in enumerate(self.hosts):
                pid = self._hold(h, self.hostname(h))
                # One veth pair per host, made in the switch and its far end moved into the host.
                self._ip(switch, "link", "add", "p%d" % i, "type", "veth", "peer", "name", "eth0",
                         "netns", str(pid))
                self._ip(switch, "link", "set", "p%d" % i, "master", "br0", "up")
                self._ip(pid, "addr", "add", self.address(h) + "/24", "dev", "eth0")
                self._ip(pid, "link", "set", "eth0", "up")
                self._ip(pid, "link", "set", "lo", "up")
        except Exception:
            self.__exit__()
            raise
        self._write_hosts()
        with open(self.agent, "w") as f:
            f.write(AGENT % {"hosts": self.hosts_file})
        os.chmod(self.agent, 0o755)
        return self

    def _write_hosts(self):
        # The agent's table: name or address, holder pid, CPU list.
        with open(self.hosts_file + ".tmp", "w") as f:
            for h in self.hosts:
                line = "%d %s" % (self.holders[h]["pid"], self._cpulist(h))
                f.write("%s %s\n%s %s\n" % (self.hostname(h), line, self.address(h), line))
        os.replace(self.hosts_file + ".tmp", self.hosts_file)

    def __exit__(self, *exc):
        _kill_recorded(list(self.holders.values()))
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if os.path.exists(self.state):
            os.remove(self.state)
        if not exc or exc[0] is None:  # after a failure, keep logs and configuration to read
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    # --- using the hosts ----------------------------------------------------------------------

    def hostfile(self, slots, path=None):
        """A hostfile giving each host `slots[host]` slots (by address: the hostnames are not in
        this machine's resolver, which Open MPI may ask)."""
        path = path or os.path.join(self.dir, "hostfile")
        with open(path, "w") as f:
            for h, n in slots.items():
                f.write("%s slots=%d\n" % (self.address(h), n))
        return path

    def mpirun_args(self):
        """Open MPI options: start daemons through the agent, talk only on the test subnet."""
        return ["--mca", "plm_rsh_agent", self.agent, "--mca", "plm_rsh_no_tree_spawn", "1",
                "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", SUBNET,
                "--mca", "oob_tcp_if_include", SUBNET, "--bind-to", "none"]

    def _cpulist(self, host):
        return ",".join(map(str, self.cpus.get(host) or sorted(os.sched_getaffinity(0))))

    def enter(self, host):
        """The command prefix that runs a command on `host` (as the agent does): its namespaces
        and its CPUs."""
        return ["nsenter", "--target", str(self.holders[host]["pid"]), "--net", "--uts", "--",
                "taskset", "-c", self._cpulist(host)]

    def popen_on(self, host, argv, **kw):
        return subprocess.Popen(self.enter(host) + list(argv), **kw)

    def run_on(self, host, argv, **kw):
        return subprocess.run(self.enter(host) + list(argv), **kw)

    def pids_on(self, host):
        return _pids_in(self.holders[host]["net"], self.holders[host]["uts"])

    def kill_host(self, host):
        """SIGKILL every process in the host's namespaces, as if the machine lost power; returns
        how many there were (the holder included)."""
        pids = self.pids_on(host)
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return len(pids)

    def set_cpus(self, host, cpus):
        """Binds what starts on `host` from now on to `cpus` (the agent reads the table anew)."""
        self.cpus[host] = list(cpus)
        self._write_hosts()

    def mpirun(self, head, hostfile, ranks, argv, env=None, **kw):
        """Starts `mpirun` on `head` (the node a batch job's script runs on) with ranks placed by
        `hostfile`, in a process group of its own; returns the Popen."""
        cmd = [os.environ.get("MPIEXEC", "mpiexec"), "--hostfile", hostfile, "-n", str(ranks)]
        return self.popen_on(head, cmd + self.mpirun_args() + [str(a) for a in argv], env=env,
                             start_new_session=True, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, **kw)


def skip_unless_available():
    """Ends the test script with a SKIP line and exit status 77 (ctest's SKIP_RETURN_CODE, so
    the test shows as skipped, not passed) where namespaces cannot be made."""
    try:
        check_available()
    except Unavailable as e:
        print("SKIP: multi-host tests need network namespaces: %s" % e, flush=True)
        raise SystemExit(77)
