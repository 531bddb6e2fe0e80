"""Issue 16 "Running": each run's effective spec goes into /runs (spec_toml: the file's text as
that run read it; overrides: its --set options), `status` shows it with the tasks each run ran,
and an archive written before these columns existed still opens, shows and resumes."""
import json
import shutil

from harness import *

SPEC = """[sweep]
name = "s"
experiment = "noop"
seeds = 2
[grid]
work_us = [1, 2]
"""


def text(x):
    return x.decode() if isinstance(x, bytes) else str(x)


def runs_of(archive):
    with h5py.File(archive, "r", swmr=True, libver="latest") as f:
        r = f["runs"]
        return {k: r[k][:] for k in r}


def test_runs_record_their_spec():
    workdir()
    write("s.toml", SPEC)
    mpisweep("run", "s.toml", ranks=2)
    mpisweep("run", "s.toml", "--set", "payload=[1,2]", "--set", "fail_rate=0.5", ranks=2,
             expect=1)
    edited = SPEC.replace("[1, 2]", "[1, 2, 3]")
    write("s.toml", edited)
    mpisweep("run", "s.toml", ranks=2)  # the failed tasks are not in this spec: exit 0

    r = runs_of("results/s.h5")
    check([text(s) for s in r["spec_toml"]] == [SPEC, SPEC, edited], "spec text per run")
    check([text(s) for s in r["overrides"]] == ["", "payload=[1,2]\nfail_rate=0.5", ""],
          "overrides per run: %s" % r["overrides"])
    check(len(set(int(h) for h in r["spec_hash"])) == 3, "three different effective specs")

    # Tasks per run, from the task table alone: the last run that started before the task.
    a = load("results/s.h5")
    starts = list(r["start"])
    mine = [0, 0, 0]
    for t in a["started"][a["status"] != PENDING]:
        mine[max(i for i, s in enumerate(starts) if t >= s)] += 1
    check(mine == [4, 8, 2], "4 tasks, then 2x2x2 with payload and fail_rate, then 2 new: %s"
          % mine)
    j = json.loads(mpisweep("status", "results/s.h5", "--format", "json", expect=0).stdout)
    check([x["tasks"] for x in j["runs"]] == mine, "status counts per run: %s" % j["runs"])
    check(j["runs"][1]["overrides"] == ["payload=[1,2]", "fail_rate=0.5"], j["runs"][1])
    check(j["runs"][2]["spec_toml"] == edited, "status JSON has the run's spec text")
    check(j["runs"][0]["spec_hash"] == "%016x" % int(r["spec_hash"][0]), j["runs"][0])
    out = mpisweep("status", "results/s.h5").stdout
    lines = [l for l in out.splitlines() if l.strip().startswith(("1 ", "2 ", "3 "))]
    check(len(lines) == 3 and "--set payload=[1,2] --set fail_rate=0.5" in lines[1]
          and "(file edited)" in lines[2] and "(file edited)" not in lines[1],
          "status text shows overrides and edits:\n" + out)


def test_archive_without_the_columns_still_works():
    workdir()
    write("s.toml", SPEC)
    mpisweep("run", "s.toml", ranks=2)
    # An archive from before: the same file without the two /runs columns.
    with h5py.File("results/s.h5", "a") as f:
        del f["runs/spec_toml"]
        del f["runs/overrides"]
    j = json.loads(mpisweep("status", "results/s.h5", "--format", "json").stdout)
    check(j["runs"][0]["spec_toml"] == "" and j["runs"][0]["overrides"] == [], j["runs"][0])
    check("4 done" in mpisweep("status", "results/s.h5").stdout, "status text")
    mpisweep("show", "results/s.h5")
    write("s.toml", SPEC.replace("[1, 2]", "[1, 2, 3]"))
    mpisweep("run", "s.toml", "--set", "payload=3", ranks=2)  # resumes: 6 new tasks
    a = load("results/s.h5")
    check(len(a["id"]) == 10 and (a["status"] == DONE).all(), "resumed an old archive")
    r = runs_of("results/s.h5")
    check("spec_toml" not in r and len(r["start"]) == 2, "old layout kept: %s" % sorted(r))


if __name__ == "__main__":
    main([test_runs_record_their_spec, test_archive_without_the_columns_still_works])
