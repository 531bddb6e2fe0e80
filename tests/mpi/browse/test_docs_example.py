"""The h5py/pandas example of docs/archive.md runs, with Debian's python3-h5py, against an archive
of jobs/demo.toml, and its numbers agree with `mpisweep show`: the documentation cannot rot."""
import json
import os
import re
import subprocess
import sys

from harness import *


def example_code():
    with open(os.path.join(SOURCE_DIR, "docs", "archive.md")) as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    check(len(blocks) == 1, "docs/archive.md has one python example, found %d" % len(blocks))
    return blocks[0]


def test_docs_example_runs():
    workdir()
    os.makedirs("jobs")
    with open(os.path.join(SOURCE_DIR, "jobs", "demo.toml")) as f:
        write("jobs/demo.toml", f.read())
    mpisweep("run", "jobs/demo.toml", ranks=3)
    code = example_code()
    write("example.py", code)
    # As a reader would run it: a fresh interpreter (ctest's, /usr/bin/python3) in the folder
    # holding results/demo.h5.
    p = subprocess.run([sys.executable, "example.py"], capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "the docs example failed:\n%s%s" % (p.stdout, p.stderr))
    check("F_T" in p.stdout and "mean" in p.stdout and "sem" in p.stdout, p.stdout)

    # Its table holds the numbers `show` prints.
    ns = {}
    exec(compile(code, "docs/archive.md", "exec"), ns)
    table = ns["table"]
    j = json.loads(mpisweep("show", "results/demo.h5", "--group-by", "experts,terminate",
                            "--metric", "F_T,G_T", "--format", "json").stdout)
    check(len(j["rows"]) == len(table) == 4, "4 points in both")
    for row in j["rows"]:
        key = (row["params"]["experts"], row["params"]["terminate"])
        for m in ("F_T", "G_T"):
            mean, sem = table.loc[key, (m, "mean")], table.loc[key, (m, "sem")]
            got = row["metrics"][m]
            check(abs(got["mean"] - mean) <= 1e-12 * abs(mean) and abs(got["se"] - sem) <= 1e-9 * abs(sem),
                  "%s %s: show %s, pandas %s %s" % (key, m, got, mean, sem))
    check(len(ns["mean_curve"]) > 0, "the series example yields a curve")


if __name__ == "__main__":
    main([test_docs_example_runs])
