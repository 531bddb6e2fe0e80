"""Bad input: one line naming file:line (or the option) and what was expected; exit 2; no
archive created or modified."""
import os

from harness import *

CORES = os.cpu_count()
GOOD = '[sweep]\nname = "b"\nexperiment = "noop"\n'

# (sweep file text, text the one-line message must contain)
CASES = [
    ("[sweep\nname = 1\n", "s.toml:1"),
    (GOOD + "colour = 1\n", "s.toml:4: unknown key 'colour'"),
    (GOOD + "[params]\nwork_ms = 5\n", "unknown parameter 'work_ms' for experiment noop; valid parameters are: work_us, payload, fail_rate"),
    (GOOD + "[params]\nwork_us = 1.5\n", "s.toml:5: parameter 'work_us': expected an integer"),
    (GOOD + "[params]\nfail_rate = 2.0\n", "s.toml:5: parameter 'fail_rate': 2 is out of range [0, 1]"),
    (GOOD + "[grid]\nwork_us = []\n", "s.toml:5: 'work_us': the grid is empty"),
    (GOOD + "[grid]\nwork_us = 3\n", "s.toml:5: 'work_us': [grid] takes a list"),
    (GOOD + "[zip]\nwork_us = [1, 2]\npayload = [1]\n", "s.toml:6: 'payload' has 1 values but 'work_us' has 2"),
    ('[sweep]\nname = "b"\nexperiment = "nope"\n', "s.toml:3: unknown experiment 'nope'; registered kinds are:"),
    ('[sweep]\nexperiment = "noop"\n', "needs name"),
    (GOOD + "[random]\ncount = 3\nfail_rate = { normal = [0, 1] }\n", "s.toml:6: 'fail_rate': unknown distribution 'normal'"),
    (GOOD + "[params]\nwork_us = 1\n[grid]\nwork_us = [1, 2]\n", "also given at s.toml:5"),
    (GOOD + "[tasks]\nx = 1\n", "s.toml:4: unknown section 'tasks'"),
    # Counted before expanding (was: bad_alloc, exit 3, after 19 s and 2.7 GB).
    (GOOD + "seeds = 10000000000\n", "s.toml:4: 'seeds': more than 100000000 tasks, the most one sweep may have"),
    (GOOD + "[random]\ncount = 1000000000000\nfail_rate = { uniform = [0, 1] }\n",
     "s.toml:5: 'count': the sweep would have more than 100000000 tasks"),
    # Refused, not truncated (4294967298 was read as 2) or overflowed.
    (GOOD + "retries = 4294967298\n", "s.toml:4: 'retries': expected at most 1000, found 4294967298"),
    (GOOD + "retries = -1\n", "s.toml:4: 'retries': expected at least 0, found -1"),
    (GOOD + "base_seed = 9223372036854775807\nseeds = 2\n",
     "s.toml:4: 'base_seed': base_seed + seeds - 1 must be at most 9223372036854775807"),
    # Was: passed validate, then exit 3 from HDF5 with an empty results/ left behind.
    ('[sweep]\nname = "' + "n" * 300 + '"\nexperiment = "noop"\n',
     "s.toml:2: 'name': 300 characters; a sweep name has at most 128"),
    ('[sweep]\nname = "a/b"\nexperiment = "noop"\n', "s.toml:2: 'name': use letters"),
]


def one_line(p):
    lines = p.stderr.strip().splitlines()
    check(len(lines) == 1, "one line expected, got:\n" + p.stderr)
    return lines[0]


def test_bad_sweep_files():
    workdir()
    for k, (text, expected) in enumerate(CASES):
        write("s.toml", text)
        # Under mpiexec the same checks run on rank 0 and every rank exits 2; try a few that way.
        for ranks in ((None, 2) if k < 3 else (None,)):
            p = mpisweep("run", "s.toml", ranks=ranks, expect=None)
            check(p.returncode == 2, "exit 2 for %r, got %d: %s" % (expected, p.returncode, p.stderr))
            line = p.stderr.strip().splitlines()[0] if ranks else one_line(p)
            check(expected in line, "expected %r in %r" % (expected, line))
        check(not os.path.exists("results"), "nothing written for %r" % expected)
        p = mpisweep("validate", "s.toml", expect=2)
        check(expected in one_line(p), "validate reports the same: " + p.stderr)


def test_bad_options():
    workdir()
    write("s.toml", GOOD)
    os.mkdir("jobs")
    for args, expected in [(["run", "s.toml", "--threads-per-worker", "0"], "--threads-per-worker"),
                           (["run", "s.toml", "--bogus"], "--bogus"),
                           (["run", "s.toml", "--set", "nope=1"], "--set nope=1: unknown parameter 'nope'"),
                           (["run", "s.toml", "--set", "work_us"], "--set work_us: expected KEY=VALUE"),
                           (["run", "missing.toml"], "missing.toml: cannot read the sweep file: No such file"),
                           (["validate", "jobs/"], "jobs/: is a directory, not a sweep file"),
                           (["run", "jobs/"], "jobs/: is a directory, not a sweep file"),
                           (["run", "s.toml", "--deadline", "2030-01-01T00:00:00junk"],
                            "--deadline: expected +SECONDS, +1h30m or YYYY-MM-DDTHH:MM:SS"),
                           (["run", "s.toml", "--retries", "4294967298"],
                            "--retries: must be ≤ 1000, found 4294967298"),
                           (["run", "s.toml", "--threads-per-worker", str(CORES + 1)],
                            "--threads-per-worker: %d is more than the %d cores of a worker's node; "
                            "use at most %d" % (CORES + 1, CORES, CORES)),
                           (["frobnicate"], "frobnicate")]:
        p = mpisweep(*args, expect=2)
        check(expected in one_line(p), "expected %r in %r" % (expected, p.stderr))
    # The thread cap is checked on every worker's node before anything is created; rank 0 says it.
    p = mpisweep("run", "s.toml", "--threads-per-worker", CORES + 1, ranks=2, expect=2)
    check("is more than the %d cores" % CORES in p.stderr.strip().splitlines()[0], p.stderr)
    check(not os.path.exists("results"), "nothing written")
    # The cap itself is allowed.
    mpisweep("run", "s.toml", "--threads-per-worker", CORES, "-q")


def test_foreign_archives_are_refused_untouched():
    workdir()
    write("s.toml", GOOD)
    write("junk.h5", "not an HDF5 file\n")
    mpisweep("run", "s.toml", "--set", "sweep.name=other", "--archive", "other.h5")
    for path, expected in [("junk.h5", "junk.h5"), ("other.h5", "other.h5")]:
        before = digest(path)
        p = mpisweep("run", "s.toml", "--archive", path, expect=2)
        check(expected in one_line(p), "names the archive: " + p.stderr)
        check(digest(path) == before, "%s unchanged" % path)
    p = mpisweep("status", "junk.h5", expect=2)
    check("junk.h5" in one_line(p), p.stderr)


if __name__ == "__main__":
    main([test_bad_sweep_files, test_bad_options, test_foreign_archives_are_refused_untouched])
