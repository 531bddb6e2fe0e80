"""Resume: a second run does only what is missing; --fresh never destroys results."""
import os

from harness import *

SPEC = """
[sweep]
name = "res"
experiment = "noop"
seeds = 2

[grid]
work_us = [0, 100]
"""


def test_rerun_does_nothing_new_and_grid_growth_runs_only_new_points():
    workdir()
    write("s.toml", SPEC)
    mpisweep("run", "s.toml", ranks=3)
    first = load("results/res.h5")
    check(len(first["id"]) == 4, "4 tasks")
    mpisweep("run", "s.toml", ranks=2)
    again = load("results/res.h5")
    check((again["started"] == first["started"]).all(), "finished tasks are not run again")
    check(len(again["runs"]["start"]) == 2, "each invocation adds a /runs row")
    write("s.toml", SPEC.replace("[0, 100]", "[0, 100, 300]"))
    p = mpisweep("run", "s.toml", ranks=3)
    grown = load("results/res.h5")
    check(len(grown["id"]) == 6, "two new tasks appended, got %d rows" % len(grown["id"]))
    check((grown["started"][:4] == first["started"]).all(), "old rows untouched")
    check((grown["status"] == DONE).all(), "all done")
    check(list(grown["params"]["work_us"][4:]) == [300, 300], "new rows hold the new point")
    check("6/6 done" in p.stderr, "progress counts the whole sweep: %s" % p.stderr)


def test_fresh_refuses_existing_archive_and_dry_run_writes_nothing():
    workdir()
    write("s.toml", SPEC)
    p = mpisweep("run", "s.toml", "--dry-run")
    check("4 tasks" in p.stdout and not os.path.exists("results"), "dry run only prints")
    mpisweep("run", "s.toml", "--fresh")
    before = digest("results/res.h5")
    p = mpisweep("run", "s.toml", "--fresh", expect=2)
    check("results/res.h5" in p.stderr and "--fresh" in p.stderr, "names the file: " + p.stderr)
    check(len(p.stderr.strip().splitlines()) == 1, "one line: " + p.stderr)
    check(digest("results/res.h5") == before, "archive untouched by a refused --fresh")
    p = mpisweep("run", "s.toml", "--dry-run")
    check("4 already done" in p.stdout, p.stdout)


def test_retries_rerun_failed_tasks_on_resume():
    workdir()
    write("f.toml", '[sweep]\nname = "f"\nexperiment = "noop"\nseeds = 20\n[params]\nfail_rate = 0.5\n')
    mpisweep("run", "f.toml", ranks=2, expect=1)
    a = load("results/f.h5")
    failed = a["status"] == FAILED
    check(0 < failed.sum() < 20, "some fail")
    check((a["attempts"][failed] == 1).all(), "one attempt each")
    # The failure is decided by the seed, so a retry fails again; it is recorded as attempt 2.
    mpisweep("run", "f.toml", "--retries", "1", ranks=2, expect=1)
    b = load("results/f.h5")
    check((b["attempts"][failed] == 2).all(), "failed tasks retried once on resume")
    check((b["attempts"][~failed] == 1).all(), "done tasks not rerun")


if __name__ == "__main__":
    main([test_rerun_does_nothing_new_and_grid_growth_runs_only_new_points,
          test_fresh_refuses_existing_archive_and_dry_run_writes_nothing,
          test_retries_rerun_failed_tasks_on_resume])
