"""jobs/command_demo.toml end to end: the Python task of examples/python_task (mpisweep.task) as
a command experiment under mpiexec, its archive checked against the closed form and read back
with mpisweep.load/series/summary. Needs the `command` kind (issue 10 part 1): on a tree without
it the sweep file's [command] section is unknown, and the test says SKIP instead of failing."""
import json
import os
import shutil
import sys

import numpy as np

import harness
from harness import check

sys.path.insert(0, os.path.join(harness.SOURCE_DIR, "python"))
import mpisweep  # noqa: E402


def setup():
    # The sweep file's paths are relative to the repository root: give it one.
    for d in ("examples", "python"):
        os.symlink(os.path.join(harness.SOURCE_DIR, d), d)
    os.makedirs("jobs")
    shutil.copy(os.path.join(harness.SOURCE_DIR, "jobs", "command_demo.toml"), "jobs")


def test_command_demo():
    p = harness.mpisweep("validate", "jobs/command_demo.toml", expect=None)
    if p.returncode == 2 and "unknown section 'command'" in p.stderr:
        print("SKIP test_command_demo: this mpisweep has no command kind")
        return
    check(p.returncode == 0 and "24" in p.stdout, "validate: %s %s" % (p.stdout, p.stderr))
    harness.mpisweep("run", "jobs/command_demo.toml", ranks=3)

    df = mpisweep.load("results/command_demo.h5")
    check(len(df) == 24 and (df["status"] == "done").all(), df["status"].value_counts())
    curves = mpisweep.series("results/command_demo.h5", "loss")
    steps = 60
    for _, r in df[df["noise"] == 0].iterrows():
        # Without noise x_k = (1 - lr)^k: loss_k = (1 - lr)^(2k) / 2.
        expect = 0.5 * (1 - r["lr"]) ** (2 * np.arange(steps + 1))
        got = curves[r["id"]]
        check(len(got) == steps + 1 and np.allclose(got, expect, rtol=1e-12, atol=0),
              "lr %g: loss curve" % r["lr"])
        check(r["final_loss"] == got[-1], "final_loss is the curve's last value")
        first = int(np.flatnonzero(expect < 1e-3)[0]) if (expect < 1e-3).any() else steps + 1
        check(r["steps_to_tol"] == first, "lr %g: steps_to_tol %g, expected %d"
              % (r["lr"], r["steps_to_tol"], first))
    noisy = df[df["noise"] > 0]
    check(noisy.groupby("lr")["final_loss"].nunique().min() == 4, "each seed its own noise")

    shown = json.loads(harness.mpisweep("show", "results/command_demo.h5", "--group-by",
                                        "lr,noise", "--format", "json").stdout)
    ours = mpisweep.summary("results/command_demo.h5", group_by=["lr", "noise"])
    check([r["metrics"]["final_loss"]["mean"] for r in shown["rows"]] ==
          list(ours["final_loss.mean"]), "summary vs show")

    # Run again: every task is in the archive, nothing runs twice.
    before = mpisweep.load("results/command_demo.h5")
    harness.mpisweep("run", "jobs/command_demo.toml", ranks=3)
    after = mpisweep.load("results/command_demo.h5")
    check(after["attempts"].equals(before["attempts"]), "resume ran finished tasks again")


if __name__ == "__main__":
    harness.workdir()
    setup()
    harness.main([test_command_demo])
