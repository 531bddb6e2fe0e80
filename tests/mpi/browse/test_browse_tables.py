"""Issue 16 "Tables" and issue 11 item 12: show --sort/--top/--rows, --group-by seed, --where on
metrics, status and seed, one decimal place per column, headers that never repeat, Markdown that is
only Markdown, and option errors in plain words; every number checked against numpy."""
import json
import re

from harness import *
from test_browse import NOOP, close, noop_sweep


def rows_of(archive, *args):
    return json.loads(mpisweep("show", archive, "--format", "json", *args).stdout)["rows"]


def test_sort_top_rows():
    archive = noop_sweep()
    a = load(archive)
    rows = rows_of(archive, "--sort", "value:desc")
    means = [r["metrics"]["value"]["mean"] for r in rows]
    check(means == sorted(means, reverse=True) and len(rows) == 6, "sorted descending: %s" % means)
    best = rows_of(archive, "--sort", "value:desc", "--top", "2")
    check([r["params"] for r in best] == [r["params"] for r in rows[:2]], "--top 2 keeps the best 2")
    asc = rows_of(archive, "--sort", "value", "--top", "1")[0]["metrics"]["value"]["mean"]
    check(close(asc, min(means)), "ascending: first is the smallest mean")

    # --rows: one per task, seed and status read from the archive.
    per_task = rows_of(archive, "--rows")
    check(len(per_task) == len(a["id"]) == 24, "one row per task: %d" % len(per_task))
    seeds = sorted(r["params"]["seed"] for r in per_task)
    check(seeds == sorted(int(s) for s in a["seed"]), "each task's seed")
    table = mpisweep("show", archive, "--rows", "--metric", "value").stdout
    statuses = [m.group(1) for m in
                (re.match(r"\s*\d+\s+[\d.]+\s+\d+\s+(done|failed|timeout|pending)\b", l)
                 for l in table.splitlines()) if m]
    check(statuses.count("failed") == int((a["status"] == FAILED).sum()) and len(statuses) == 24,
          "status column: %s\n%s" % (statuses, table))

    # --group-by seed: means per seed equal numpy's.
    for r in rows_of(archive, "--group-by", "seed", "--metric", "value"):
        sel = (a["seed"] == r["params"]["seed"]) & (a["status"] == DONE)
        check(close(r["metrics"]["value"]["mean"], a["metrics"]["value"][sel].mean()),
              "seed %s" % r["params"]["seed"])


def test_where_metrics_status_seed():
    archive = noop_sweep()
    a = load(archive)
    v = a["metrics"]["value"]
    j = json.loads(mpisweep("show", archive, "--where", "value < 0.5", "--format", "json").stdout)
    check(j["counts"]["total"] == int((np.isfinite(v) & (v < 0.5)).sum()),
          "value < 0.5 keeps %d tasks, numpy %d" % (j["counts"]["total"], (v < 0.5).sum()))
    j = json.loads(mpisweep("show", archive, "--where", "status == failed", "--format", "json").stdout)
    check(j["counts"]["failed"] == j["counts"]["total"] == int((a["status"] == FAILED).sum()),
          "status == failed: %s" % j["counts"])
    s0 = int(a["seed"][0])
    j = json.loads(mpisweep("show", archive, "--where", "seed == %d" % s0, "--format", "json").stdout)
    check(j["counts"]["total"] == int((a["seed"] == s0).sum()), "seed == %d" % s0)
    p = mpisweep("show", archive, "--where", "status == lost", expect=2)
    check("done, failed, timeout, pending" in p.stderr, p.stderr)
    one = "seed == %d && work_us == 0 && fail_rate == 0" % s0
    out = mpisweep("show", archive, "--where", one).stdout
    check("1 task: 1 done" in out, "singular wording: " + out)


def test_text_forms():
    archive = noop_sweep()
    out = mpisweep("show", archive).stdout
    lines = out.splitlines()
    header = lines[lines.index("") + 1]
    names = re.split(r"\s{2,}", header.strip())
    check(len(names) == len(set(names)), "no header twice: %s" % names)
    # One decimal place per metric column: every mean of a column has as many decimals.
    body = lines[lines.index("") + 2:]
    body = body[:body.index("")] if "" in body else body
    cells = [re.findall(r"(-?\d+(?:\.(\d+))?) ±", l) for l in body]
    for col in zip(*cells):
        places = {len(d) for _, d in col}
        check(len(places) == 1, "one decimal place per column: %s\n%s" % (col, out))
    md = mpisweep("show", archive, "--format", "markdown").stdout
    blocks = md.strip().split("\n\n")
    tables = [b for b in blocks if b.startswith("|")]
    check(len(tables) == 1 and all(l.startswith("|") and l.endswith("|")
                                   for l in tables[0].splitlines()), "one Markdown table:\n" + md)
    check(all("\n" not in b for b in blocks if not b.startswith("|")),
          "text around the table is one-line paragraphs:\n" + md)
    check(not any(l.startswith(" ") or l.endswith(" ") for l in md.splitlines()),
          "no alignment padding in Markdown:\n" + md)


def test_option_messages():
    archive = noop_sweep()
    for args, text in ((["show", archive, "--top", "0"], "--top: must be ≥ 1, found 0"),
                       (["show", archive, "--format", "xml"], "expects one of table, markdown"),
                       (["run", "x.toml", "--threads-per-worker", "0"],
                        "--threads-per-worker: must be ≥ 1, found 0"),
                       (["run", "x.toml", "--grace", "-1"], "--grace: must be ≥ 0, found -1")):
        p = mpisweep(*args, expect=2)
        err = p.stderr.strip()
        check(len(err.splitlines()) == 1 and text in err and len(err) < 120, "plain: %s" % err)


def test_status_experiments_validate():
    archive = noop_sweep()
    a = load(archive)
    mpisweep("run", "sweep.toml", ranks=2, expect=1)  # a second run: both are listed
    out = mpisweep("status", archive).stdout
    runs = [l for l in out.splitlines() if re.match(r"\s+\d+\s+\d{4}-\d\d-\d\d", l)]
    check(len(runs) == 2 and runs[0].split()[5] == "3" and runs[1].split()[5] == "2",
          "every run with its ranks:\n" + out)
    check("work_us=" in out and "fail_rate=0.5" in out and "seed " in out and "row " not in out,
          "failures with their parameters:\n" + out)
    j = json.loads(mpisweep("status", archive, "--format", "json").stdout)
    check(len(j["runs"]) == 2 and [r["ranks"] for r in j["runs"]] == [3, 2] and
          all(r["exit_status"] == 1 for r in j["runs"]), "runs in JSON: %s" % j["runs"])
    check(len(j["failures"]) == int((a["status"] == FAILED).sum()) and
          all(f["params"]["fail_rate"] == 0.5 for f in j["failures"]), "failures in JSON")

    out = mpisweep("experiments", "moe_cl").stdout
    table = out[out.index("parameters:"):out.index("metrics:")].strip().splitlines()[1:]
    starts = {l.index(l.split()[2], len(l.split()[0]) + len(l.split()[1]) + 2) for l in table}
    check(len(starts) == 1, "default column aligned:\n" + "\n".join(table))
    check("[1, 4096]" in out and "e+" not in out.split("metrics:")[0], "integer ranges:\n" + out)
    check("standard figures" in out, "the report's figures listed:\n" + out)
    j = json.loads(mpisweep("experiments", "moe_cl", "--format", "json").stdout)
    check(j["name"] == "moe_cl" and j["figures"] and any(p["name"] == "experts" for p in j["params"]),
          "experiments JSON")

    write("one.toml", NOOP.replace("seeds = 4", "seeds = 1").replace(
        "work_us = [0, 100, 300]\nfail_rate = [0.0, 0.5]", "work_us = [7]"))
    out = mpisweep("validate", "one.toml", "--list").stdout
    check("1 task (1 point × 1 seed)" in out, out)
    check(re.search(r"^\s+1\s+7\s", out, re.M), "the point as a table row:\n" + out)


if __name__ == "__main__":
    main([test_sort_top_rows, test_where_metrics_status_seed, test_text_forms,
          test_option_messages, test_status_experiments_validate])
