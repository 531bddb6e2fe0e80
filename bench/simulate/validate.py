#!/usr/bin/python3
"""Measures the costs bench_simulate needs from real runs of mpisweep on this machine, then runs
real sweeps at several rank counts and the simulator on the durations each of them measured, and
prints measured against predicted efficiency (docs/performance.md, "A model of the scheduler").

  bench/simulate/validate.py                          # 2 cores: ranks 2,3,4,6,8, oversubscribed
  bench/simulate/validate.py --ranks 2,4,8,16 --bind  # a 16-core machine: one core per rank

Efficiency, measured and simulated alike: total task time / (workers x (last task end - first
task start)), from /tasks/started and /tasks/wall_seconds. Needs build/mpisweep,
build/bench/bench_simulate and build/bench/bench_pingpong (cmake --build build --target ...)."""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import h5py

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
# Runs its arguments and writes their CPU seconds (user + system, all threads) to
# $CPU_OUT.<rank>: the master's and the workers' cost, independent of how loaded the machine is.
CPU_WRAPPER = ("import os, resource, subprocess, sys\n"
               "code = subprocess.call(sys.argv[1:])\n"
               "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
               "rank = os.environ.get('OMPI_COMM_WORLD_RANK', '0')\n"
               "with open(os.environ['CPU_OUT'] + '.' + rank, 'w') as f:\n"
               "    f.write(repr(u.ru_utime + u.ru_stime))\n"
               "sys.exit(code)\n")

# Validation workloads (noop busy work, measured in CPU time): short tasks that the master
# batches and prefetches, and longer tasks of three lengths sent one at a time.
WORKLOADS = {
    "2ms": ("seeds = 400", "work_us = [2000]"),
    "50-150ms": ("seeds = 16", "work_us = [50000, 100000, 150000]"),
}


def spec(name, seeds, grid):
    return ("[sweep]\nname = \"%s\"\nexperiment = \"noop\"\n%s\n[grid]\n%s\n" % (name, seeds, grid))


class Runner:
    def __init__(self, build, bind, tmp):
        self.bin = os.path.join(build, "mpisweep")
        self.sim = os.path.join(build, "bench", "bench_simulate")
        self.pingpong = os.path.join(build, "bench", "bench_pingpong")
        self.bind = bind
        self.tmp = tmp
        self.n = 0

    def mpirun(self, ranks):
        return ["mpirun", "-n", str(ranks)] + (["--bind-to", "core"] if self.bind else
                                               ["--oversubscribe", "--bind-to", "none"])

    def sweep(self, ranks, seeds, grid, probe=False):
        """Runs a fresh sweep; returns (archive path, {rank: CPU seconds}), and with `probe` the
        mean wake-up lateness a sleeping thread saw while it ran, as the third element."""
        self.n += 1
        path = os.path.join(self.tmp, "s%d" % self.n)
        with open(path + ".toml", "w") as f:
            f.write(spec("s%d" % self.n, seeds, grid))
        env = dict(ENV, CPU_OUT=path + ".cpu")
        cmd = self.mpirun(ranks) + [sys.executable, "-c", CPU_WRAPPER, self.bin, "run",
                                    path + ".toml", "--archive", path + ".h5", "-q"]
        prober = subprocess.Popen([self.sim, "--probe-wake"], stdout=subprocess.PIPE, text=True) \
            if probe else None
        try:
            subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
        finally:
            if prober:
                prober.terminate()
                wake = float(prober.communicate()[0].split("=")[1])
        cpu = {r: float(open("%s.cpu.%d" % (path, r)).read()) for r in range(ranks)}
        return (path + ".h5", cpu, wake) if probe else (path + ".h5", cpu)

    def simulate(self, archive, workers, costs):
        args = [self.sim, "--workers", str(workers), "--archive", archive]
        for k, v in costs.items():
            args += ["--" + k.replace("_", "-"), "%.6g" % v]
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        return {k: float(v) for k, v in re.findall(r"(\w+)=([-\d.e+]+)", out)}


def measured_efficiency(archive):
    with h5py.File(archive, "r", swmr=True, libver="latest") as f:
        start, wall = f["tasks/started"][:], f["tasks/wall_seconds"][:]
        workers = len(set(f["tasks/worker"][:]))
        ranks = int(f["runs/ranks"][-1])
    return wall.sum() / ((ranks - 1) * ((start + wall).max() - start.min())), workers


def measure_costs(r):
    """The model's constants from real runs here. CPU times are differences of two runs, so
    start-up, shut-down and the archive's once-a-second flush cancel."""
    base = [r.sweep(3, "seeds = 1", "work_us = [0]")[1] for _ in range(3)]
    n = 200000
    _, cpu = r.sweep(3, "seeds = %d" % n, "work_us = [0]")
    # Tiny tasks travel 1024 to a message, so per-message costs vanish from these two.
    master_task = (cpu[0] - min(b[0] for b in base)) / n
    worker_task = (cpu[1] + cpu[2] - min(b[1] + b[2] for b in base)) / n
    # The bare one-task-per-message pattern with one worker: a round trip is the MPI cost of one
    # receive and one send on each side plus the transit both ways.
    out = subprocess.run(["mpirun", "-n", "2", r.pingpong, "200000"], env=ENV, check=True,
                         capture_output=True, text=True).stdout
    round_trip = 1 / float(re.search(r"tasks_per_s\s+([\d.e+]+)", out).group(1))
    # Per message the master pays a receive or a send (half a round trip at most) and Boost's
    # set-up of a message; a whole round trip per message covers both, on the safe side.
    return {"latency": round_trip / 2, "master_message": round_trip,
            "master_task": master_task, "worker_task": worker_task}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--ranks", default="2,3,4,6,8")
    ap.add_argument("--bind", action="store_true", help="one core per rank (no oversubscribing)")
    ap.add_argument("--data", help="write the table here, for gnuplot")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mpisweep-validate-") as tmp:
        r = Runner(a.build, a.bind, tmp)
        costs = measure_costs(r)
        print("costs measured here: " + ", ".join("%s %.3g us" % (k, v * 1e6)
                                                  for k, v in costs.items()), flush=True)
        print("%6s %10s %9s %9s %7s %9s %9s" % ("ranks", "workload", "measured", "model", "error",
                                                "wake_us", "no_wake"))
        lines = []
        for ranks in map(int, a.ranks.split(",")):
            for name, (seeds, grid) in WORKLOADS.items():
                archive, _, wake = r.sweep(ranks, seeds, grid, probe=True)
                measured, _ = measured_efficiency(archive)
                model = r.simulate(archive, ranks - 1, dict(costs, wake=wake))["efficiency"]
                bare = r.simulate(archive, ranks - 1, costs)["efficiency"]
                err = model / measured - 1
                print("%6d %10s %9.3f %9.3f %+6.1f%% %9.0f %9.3f" % (
                    ranks, name, measured, model, 100 * err, wake * 1e6, bare), flush=True)
                lines.append("%d %s %.4f %.4f %.4f %.1f" % (ranks, name, measured, model, bare,
                                                             wake * 1e6))
        if a.data:
            with open(a.data, "w") as f:
                f.write("# ranks workload measured predicted predicted_without_wake wake_us\n")
                f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
