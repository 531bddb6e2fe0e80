"""mpisweep.load / series / summary against archives the real binary writes under mpiexec: a
finished sweep (summary matched to `show --format json` to the last digit, and to a plain numpy
computation), one read while `run` writes it, and one whose job was killed with kill -9."""
import json
import math
import os
import signal
import sys
import time

import h5py
import numpy as np

import harness
from harness import check

sys.path.insert(0, os.path.join(harness.SOURCE_DIR, "python"))
import mpisweep  # noqa: E402  (the source tree's package)

# 2 x 2 points x 6 seeds; fail_rate makes some tasks fail (decided by the seed alone).
FINISHED = """
[sweep]
name = "reader"
experiment = "noop"
archive = "finished.h5"
seeds = 6
[grid]
payload = [0, 4]
fail_rate = [0.0, 0.4]
"""

# Enough busy work (2 workers, ~0.2 s per task) for the test to look while it runs.
SLOW = """
[sweep]
name = "slow"
experiment = "noop"
archive = "%s"
seeds = 40
[params]
work_us = 200000
payload = 3
"""


def test_finished():
    harness.write("finished.toml", FINISHED)
    harness.mpisweep("run", "finished.toml", ranks=3, expect=None)
    df = mpisweep.load("finished.h5")
    raw = harness.load("finished.h5")
    check(len(df) == 24, "rows %d" % len(df))
    check(list(df["id"]) == ["%016x" % int(i) for i in raw["id"]], "ids")
    check(list(df["seed"]) == list(raw["seed"]), "seeds")
    names = {0: "pending", 1: "done", 2: "failed", 3: "timeout"}
    check(list(df["status"].astype(str)) == [names[int(s)] for s in raw["status"]], "status")
    check((df["status"] == "failed").sum() > 0 and (df["status"] == "done").sum() > 0,
          "want both done and failed tasks: %s" % df["status"].value_counts().to_dict())
    check(df.attrs["experiment"] == "noop", df.attrs)
    # noop's parameter work_us and its metric work_us share a name: the metric gets the prefix.
    check(set(df.attrs["params"]) == {"work_us", "payload", "fail_rate"}, df.attrs["params"])
    check(set(df.attrs["metrics"]) == {"value", "metrics/work_us"}, df.attrs["metrics"])
    check(np.array_equal(df["value"].to_numpy(), raw["metrics"]["value"], equal_nan=True), "value")
    check(np.array_equal(df["payload"].to_numpy(), raw["params"]["payload"]), "payload")
    failed = df["status"] == "failed"
    check(df.loc[failed, "value"].isna().all(), "failed tasks have no metric")
    check(df.loc[failed, "error"].str.contains("failed on purpose").all(), "error column")

    curves = mpisweep.series("finished.h5", "payload")
    expect = {"%016x" % int(raw["id"][i]): a for i, a in enumerate(raw["series"]["payload"])
              if len(a)}
    check(set(curves) == set(expect), "series keys: %d vs %d" % (len(curves), len(expect)))
    for k, a in curves.items():
        check(a.dtype == np.float64 and np.array_equal(a, expect[k]), "series of " + k)
    done4 = df[(df["status"] == "done") & (df["payload"] == 4)]["id"]
    check(set(done4) == set(curves) and all(len(curves[k]) == 4 for k in done4),
          "payload 4: every done task has its 4 values, no other task any")
    try:
        mpisweep.series("finished.h5", "nope")
        check(False, "an unknown series must raise")
    except KeyError as e:
        check("payload" in str(e), str(e))

    for group_by, args in [(None, []), (["fail_rate"], ["--group-by", "fail_rate"])]:
        ours = mpisweep.summary("finished.h5", group_by=group_by)
        shown = json.loads(harness.mpisweep("show", "finished.h5", "--format", "json",
                                            *args).stdout)
        check(len(ours) == len(shown["rows"]), "groups %d vs %d" % (len(ours), len(shown["rows"])))
        for (_, mine), row in zip(ours.iterrows(), shown["rows"]):
            for p, v in row["params"].items():
                check(mine[p] == v, "%s: %r vs %r" % (p, mine[p], v))
            for c in ("done", "failed", "timeout", "pending"):
                check(mine[c] == row["counts"][c], "%s: %r vs %r" % (c, mine[c], row["counts"]))
            for m, st in row["metrics"].items():
                col = m  # summary names metrics as the archive does, work_us included
                for s in ("mean", "se"):
                    a, b = mine[col + "." + s], st[s]
                    same = (b is None and math.isnan(a)) or a == b  # exact, not approximate
                    check(same, "%s %s %s: %r vs show's %r" % (row["params"], m, s, a, b))
                check(mine[col + ".n"] == st["n"], "n of " + m)

    # An independent computation of the same numbers (numpy's mean and sample std).
    per_point = mpisweep.summary("finished.h5")
    for _, r in per_point.iterrows():
        sel = df[(df["payload"] == r["payload"]) & (df["fail_rate"] == r["fail_rate"]) &
                 (df["status"] == "done")]["value"].to_numpy()
        check(r["value.n"] == len(sel), "n")
        check(abs(r["value.mean"] - sel.mean()) < 1e-12, "mean %r vs %r" % (r["value.mean"],
                                                                            sel.mean()))
        if len(sel) > 1:
            se = sel.std(ddof=1) / math.sqrt(len(sel))
            check(abs(r["value.se"] - se) < 1e-12, "se %r vs %r" % (r["value.se"], se))

    # A DataFrame filtered with pandas gives what --where gives.
    filtered = mpisweep.summary(df[df["payload"] == 4], group_by="fail_rate")
    shown = json.loads(harness.mpisweep("show", "finished.h5", "--format", "json", "--group-by",
                                        "fail_rate", "--where", "payload == 4").stdout)
    check(list(filtered["value.mean"]) ==
          [r["metrics"]["value"]["mean"] for r in shown["rows"]], "filtered summary")


def wait_for(cond, what, job, timeout=60):
    """Waits for cond(); fails at once, with the run's stderr, if the run ends first."""
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        if job.poll() is not None:
            raise AssertionError("the run ended (exit %d) before %s:\n%s" % (
                job.returncode, what, job.stderr.read() if job.stderr else ""))
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def done_count(path):
    try:
        return int((mpisweep.load(path)["status"] == "done").sum())
    except (OSError, KeyError):
        return -1  # not created yet


def test_live():
    harness.write("live.toml", SLOW % "live.h5")
    job = harness.start("run", "live.toml", ranks=3)
    try:
        wait_for(lambda: done_count("live.h5") >= 2, "first results", job)
        seen = []
        for _ in range(3):
            df = mpisweep.load("live.h5")
            check(len(df) == 40, "a running sweep has every row: %d" % len(df))
            done = df["status"] == "done"
            seen.append(int(done.sum()))
            check(df.loc[done, "value"].notna().all(), "done rows have metrics")
            check(df.loc[df["status"] == "pending", "value"].isna().all(), "pending rows: NaN")
            curves = mpisweep.series("live.h5", "payload")
            check(set(curves) == set(df.loc[done, "id"]) or len(curves) >= seen[-1],
                  "series of done tasks: %d for %d done" % (len(curves), seen[-1]))
            s = mpisweep.summary("live.h5")
            check(int(s["done"].sum()) >= seen[-1] and int(s["pending"].sum()) > 0,
                  "summary while running: %s" % s[["done", "pending"]].to_dict())
            time.sleep(0.5)
        check(seen[-1] < 40, "the sweep ended before it could be watched: %s" % seen)
        check(seen == sorted(seen) and seen[-1] > seen[0], "done counts grow: %s" % seen)
    finally:
        out, err = job.communicate(timeout=120)
    check(job.returncode == 0, "run: exit %d\n%s" % (job.returncode, err))
    check((mpisweep.load("live.h5")["status"] == "done").all(), "all done at the end")


def test_killed():
    harness.write("killed.toml", SLOW % "killed.h5")
    job = harness.start("run", "killed.toml", ranks=3)
    try:
        wait_for(lambda: done_count("killed.h5") >= 4, "first results", job)
    finally:
        harness.kill_job(job, signal.SIGKILL)
        job.communicate(timeout=60)
    # HDF5 1.10 leaves a killed writer's file marked open for write: plain opens fail, which is
    # why load() opens with swmr=True first (docs/archive.md).
    df = mpisweep.load("killed.h5")
    done = df["status"] == "done"
    check(len(df) == 40 and 4 <= done.sum() < 40, "after kill -9: %d done of %d" % (done.sum(),
                                                                                   len(df)))
    check(df.loc[done, "value"].between(0, 1).all(), "done rows keep their metrics")
    curves = mpisweep.series("killed.h5", "payload")
    check(set(curves) <= set(df.loc[done, "id"]) and all(len(a) == 3 for a in curves.values()),
          "series of a killed sweep")
    s = mpisweep.summary("killed.h5")
    check(int(s["done"].sum()) == int(done.sum()), "summary of a killed sweep")


if __name__ == "__main__":
    harness.workdir()
    harness.main([test_finished, test_live, test_killed])
