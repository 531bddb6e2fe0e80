"""Reference (b) of scripts/bench: mpi4py.futures MPIPoolExecutor.map with chunksize 1, the usual
Python way to farm tasks out over MPI. Run as
    mpiexec -n 3 /usr/bin/python3 -m mpi4py.futures bench/mpi4py_pool.py TASKS
and it prints "mpi4py tasks_per_s <rate>" (pool start-up excluded by a warm-up map)."""
import sys
import time

from mpi4py.futures import MPIPoolExecutor


def task(i):
    # The same "work" as a noop task: one number from the task's seed.
    return ((i * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF) / 2.0**64


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    with MPIPoolExecutor() as pool:
        list(pool.map(task, range(100), chunksize=1))
        t0 = time.perf_counter()
        list(pool.map(task, range(n), chunksize=1))
        elapsed = time.perf_counter() - t0
    print("mpi4py tasks_per_s %.1f" % (n / elapsed))
