"""`cmake --install` into a temporary prefix, then the out-of-tree example
(examples/own_experiment) configured and built against that prefix — not the build tree — and
swept under mpiexec; the archive is checked with h5py, the stock installed binary and the
installed Python package. About 40 s on the 2-core dev machine (two small C++ builds), hence
"slow" in its name."""
import json
import math
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

import harness
from harness import check

BUILD_DIR = os.path.dirname(harness.BIN)
HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = None


def run(cmd, expect=0, env=None, **kw):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                       env=env or harness.ENV, **kw)
    if expect is not None and p.returncode != expect:
        raise AssertionError("%s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(map(str, cmd)), p.returncode, expect, p.stdout[-4000:], p.stderr[-4000:]))
    return p


def build_against_prefix(source, name):
    """Configures and builds `source` with only the prefix to find mpisweep in."""
    build = os.path.abspath("build-" + name)
    cfg = run(["cmake", "-S", source, "-B", build, "-DCMAKE_PREFIX_PATH=" + PREFIX,
               "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF"])
    check("HDF5-DIAG" not in cfg.stdout, cfg.stdout)
    run(["cmake", "--build", build, "-j2"])
    with open(os.path.join(build, "CMakeCache.txt")) as f:
        found = [l.strip() for l in f if l.startswith("mpisweep_DIR:")]
    check(found and found[0].endswith(os.path.join(PREFIX, "lib", "cmake", "mpisweep")),
          "mpisweep found elsewhere than the prefix: %s" % found)
    return build


def test_install_tree():
    global PREFIX
    PREFIX = os.path.abspath("prefix")
    # Installs what the build made (the man page is part of ALL): a test never rebuilds the
    # tree it tests.
    run(["cmake", "--install", BUILD_DIR, "--prefix", PREFIX])
    for path in ["bin/mpisweep", "include/mpisweep/mpisweep.hpp",
                 "include/mpisweep/experiments/experiment.hpp",
                 "lib/cmake/mpisweep/mpisweepConfig.cmake", "lib/libmpisweep_cli.a",
                 "share/bash-completion/completions/mpisweep",
                 "lib/python3/dist-packages/mpisweep/__init__.py",
                 "lib/python3/dist-packages/mpisweep/task.py"]:
        check(os.path.isfile(os.path.join(PREFIX, path)), "not installed: " + path)
    if shutil.which("help2man"):
        with open(os.path.join(PREFIX, "share/man/man1/mpisweep.1")) as f:
            man = f.read()
        # Every subcommand's options are on the page, not only the top-level --help.
        for needle in [".SS run", ".SS show", "task\\-timeout", "EXIT STATUS"]:
            check(needle in man, "man page lacks %r" % needle)


def test_bash_completion():
    script = os.path.join(PREFIX, "share/bash-completion/completions/mpisweep")
    env = dict(harness.ENV, PATH=os.path.join(PREFIX, "bin") + ":" + os.environ["PATH"])

    def complete(*words):
        cmd = ('source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _mpisweep; echo "${COMPREPLY[@]}"'
               % (script, " ".join("'%s'" % w for w in words), len(words) - 1))
        return run(["bash", "-c", cmd], env=env).stdout.split()

    check(complete("mpisweep", "sh") == ["show"], complete("mpisweep", "sh"))
    check(set(complete("mpisweep", "")) >= {"run", "status", "show", "plot", "report"},
          complete("mpisweep", ""))
    check("--task-timeout" in complete("mpisweep", "run", "--task"),
          complete("mpisweep", "run", "--task"))
    check(complete("mpisweep", "run", "--progress", "l") == ["lines"],
          complete("mpisweep", "run", "--progress", "l"))
    check(complete("mpisweep", "plot", "--style", "linesp") == ["linespoints"],
          complete("mpisweep", "plot", "--style", "linesp"))
    check(complete("mpisweep", "experiments", "no") == ["noop"],
          complete("mpisweep", "experiments", "no"))


def test_own_kind_sweep():
    # A copy, so nothing can lean on the example's place in the source tree.
    source = os.path.abspath("own_experiment")
    shutil.copytree(os.path.join(harness.SOURCE_DIR, "examples", "own_experiment"), source)
    build = build_against_prefix(source, "example")
    binary = os.path.join(build, "my_sweeps")

    listing = run([binary, "experiments"]).stdout
    check("pi " in listing and "noop " in listing, "kinds listed:\n" + listing)
    p = run([harness.MPIEXEC, "-n", 3, "--oversubscribe", binary, "run",
             os.path.join(source, "pi.toml")])
    check("HDF5-DIAG" not in p.stderr, p.stderr)

    with h5py.File("results/pi.h5", "r") as f:  # a finished sweep opens without SWMR
        check(f["sweep"].attrs["experiment"] in (b"pi", "pi"), dict(f["sweep"].attrs))
        status = f["tasks/status"][:]
        n = f["tasks/params/n"][:]
        est = f["tasks/metrics/estimate"][:]
        err = f["tasks/metrics/abs_error"][:]
        g = f["series/running"]
        values, offset, length = g["values"][:], g["offset"][:], g["length"][:]
    check(len(status) == 32 and (status == 1).all(), "status %s" % status)
    check(((est >= 0) & (est <= 4)).all(), "estimates %s" % est)
    check(np.array_equal(err, np.abs(est - math.pi)), "abs_error is not |estimate - pi|")
    check((length == 10).all(), "series lengths %s" % length)
    last = values[offset + length - 1]
    check(np.array_equal(last, est), "the running estimate does not end at the estimate")
    # 4k/n with k ~ Binomial(n, pi/4): sd sqrt(pi (4 - pi) / n); 8 seeds per n.
    for size in (10000, 100000):
        sel = est[n == size]
        tol = 5 * math.sqrt(math.pi * (4 - math.pi) / size / len(sel))
        check(abs(sel.mean() - math.pi) < tol, "n=%d: mean %g, pi +- %g" % (size, sel.mean(), tol))

    # The stock installed binary browses the archive of a kind it does not have compiled in.
    stock = os.path.join(PREFIX, "bin", "mpisweep")
    shown = json.loads(run([stock, "show", "results/pi.h5", "--group-by", "n",
                            "--format", "json"]).stdout)
    check([r["params"]["n"] for r in shown["rows"]] == [100, 1000, 10000, 100000], shown)

    # The installed Python package, from the prefix alone.
    env = dict(harness.ENV, PYTHONPATH=os.path.join(PREFIX, "lib/python3/dist-packages"))
    code = ("import mpisweep, json; df = mpisweep.load('results/pi.h5'); "
            "s = mpisweep.summary('results/pi.h5', group_by=['n']); "
            "print(json.dumps([mpisweep.__file__, len(df), s['estimate.mean'].tolist()]))")
    where, rows, means = json.loads(run([sys.executable, "-c", code], env=env).stdout)
    check(where.startswith(PREFIX), "imported from " + where)
    check(rows == 32, "rows %d" % rows)
    check(means == [r["metrics"]["estimate"]["mean"] for r in shown["rows"]],
          "%s vs %s" % (means, shown["rows"]))


def test_name_clash_refused():
    build = build_against_prefix(os.path.join(HERE, "clash"), "clash")
    for name, words in [("noop", "clashes with a built-in"), ("command", "reserved"),
                        ("9lives", "identifier")]:
        env = dict(harness.ENV, CLASH_NAME=name)
        p = run([os.path.join(build, "clash"), "experiments"], expect=2, env=env)
        lines = p.stderr.strip().splitlines()
        check(len(lines) == 1 and name in lines[0] and words in lines[0],
              "%s: stderr %r" % (name, p.stderr))
        check(p.stdout == "", "printed: " + p.stdout)


if __name__ == "__main__":
    harness.workdir()
    harness.main([test_install_tree, test_bash_completion, test_own_kind_sweep,
                  test_name_clash_refused])
