"""The mpisweep-package example of docs/archive.md (its ```py block) runs against an archive of
jobs/demo.toml, and its summary holds the numbers `mpisweep show` prints: the documentation
cannot rot. (The ```python block, the plain h5py recipe, is tests/mpi/browse's.)"""
import json
import os
import re
import subprocess
import sys

import harness
from harness import check


def test_archive_md_package_example():
    with open(os.path.join(harness.SOURCE_DIR, "docs", "archive.md")) as f:
        blocks = re.findall(r"```py\n(.*?)```", f.read(), re.S)
    check(len(blocks) == 1, "docs/archive.md has one ```py example, found %d" % len(blocks))
    os.makedirs("jobs")
    with open(os.path.join(harness.SOURCE_DIR, "jobs", "demo.toml")) as f:
        harness.write("jobs/demo.toml", f.read())
    harness.mpisweep("run", "jobs/demo.toml", ranks=3)
    # As a reader would run it: a fresh interpreter, the package on PYTHONPATH, printing the
    # example's last expression.
    code = blocks[0] + "\nprint(table.to_json(orient='records', double_precision=15))\n"
    harness.write("example.py", code)
    env = dict(os.environ, PYTHONPATH=os.path.join(harness.SOURCE_DIR, "python"))
    p = subprocess.run([sys.executable, "example.py"], capture_output=True, text=True, env=env,
                       timeout=120)
    check(p.returncode == 0, "the docs example failed:\n%s%s" % (p.stdout, p.stderr))
    rows = json.loads(p.stdout.splitlines()[-1])
    shown = json.loads(harness.mpisweep("show", "results/demo.h5", "--group-by",
                                        "experts,terminate", "--format", "json").stdout)
    check(len(rows) == len(shown["rows"]) == 4, "4 points: %d, %d" % (len(rows),
                                                                     len(shown["rows"])))
    for mine, row in zip(rows, shown["rows"]):
        check((mine["experts"], mine["terminate"]) ==
              (row["params"]["experts"], row["params"]["terminate"]), (mine, row["params"]))
        for m in ("F_T", "G_T"):
            # to_json prints 15 significant digits, so this compares to 1e-14, not bit for bit
            # (tests/python/test_reader.py does that).
            got, want = mine[m + ".mean"], row["metrics"][m]["mean"]
            check(abs(got - want) <= 1e-14 * abs(want), "%s: %r vs %r" % (m, got, want))


if __name__ == "__main__":
    harness.workdir()
    harness.main([test_archive_md_package_example])
