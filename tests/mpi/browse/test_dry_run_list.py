"""Issue 16 "Tables": `run --dry-run --list` prints the points (random draws included) as a table,
as `validate --list` does, writes nothing, and its rows are the points the run then archives.
And docs/sweep-file.md's example expands to the count the page states, with the rule values it
names."""
import os
import re

from harness import *

SPEC = """[sweep]
name = "r"
experiment = "noop"
seeds = 2
[grid]
work_us = { range = [1, 2] }
[random]
count = 3
fail_rate = { uniform = [0, 1] }
"""


def table(out):
    """The point table's rows as (work_us, payload, fail_rate)."""
    rows = [l.split() for l in out.splitlines() if re.match(r"^\s+\d+\s", l)]
    return [(int(r[1]), int(r[2]), float(r[3])) for r in rows]


def test_dry_run_list():
    workdir()
    write("r.toml", SPEC)
    p = mpisweep("run", "r.toml", "--dry-run", "--list", ranks=2)
    check(p.stdout.startswith("r.toml: 12 tasks (6 points × 2 seeds) of noop; 0 already done"),
          p.stdout)
    header = [l for l in p.stdout.splitlines() if l.strip().startswith("point")]
    check(header and header[0].split() == ["point", "work_us", "payload", "fail_rate"],
          "header:\n" + p.stdout)
    rows = table(p.stdout)
    check(len(rows) == 6 and not os.path.exists("results"), "6 points, nothing written")
    check(rows == table(mpisweep("validate", "r.toml", "--list").stdout), "same as validate")

    # The table is what runs: every archived point, its random draw to the digits shown.
    mpisweep("run", "r.toml", ranks=3, expect=None)
    a = load("results/r.h5")
    archived = sorted({(int(w), int(p), float(f)) for w, p, f in zip(
        a["params"]["work_us"], a["params"]["payload"], a["params"]["fail_rate"])})
    check(len(archived) == 6 and all(
        x[:2] == y[:2] and abs(x[2] - y[2]) <= 5e-6 * abs(y[2]) + 1e-12
        for x, y in zip(sorted(rows), archived)), "%s\n%s" % (sorted(rows), archived))
    p = mpisweep("run", "r.toml", "--dry-run", ranks=2)
    done = int((a["status"] == DONE).sum())
    check("; %d already done;" % done in p.stdout and len(p.stdout.splitlines()) == 1,
          "without --list only the summary line, %d done:\n%s" % (done, p.stdout))

    p = mpisweep("run", "r.toml", "--list", expect=2)
    check("--list requires --dry-run" in p.stderr, p.stderr)


def test_sweep_file_page_example():
    workdir()
    with open(os.path.join(SOURCE_DIR, "docs", "sweep-file.md")) as f:
        page = f.read()
    blocks = re.findall(r"```toml\n(.*?)```", page, re.S)
    check(len(blocks) == 1, "docs/sweep-file.md has one ```toml example, found %d" % len(blocks))
    write("x.toml", blocks[0])
    check("= 6480 points, × 5 seeds = 32400" in " ".join(page.split()), "the page's count")
    out = mpisweep("validate", "x.toml", "--list").stdout
    check(out.startswith("x.toml: 32400 tasks (6480 points × 5 seeds) of experiment moe_cl"), out)
    lines = out.splitlines()
    header = next(l.split() for l in lines if l.strip().startswith("point"))
    rows = [l.split() for l in lines if re.match(r"^\s+\d+\s", l)]
    col = lambda name: {r[header.index(name)] for r in rows}
    check(col("eta") == {"0.1", "1", "10"}, "logspace: %s" % col("eta"))
    check(col("sigma") == {"0.01", "0.02", "0.03", "0.04", "0.05"}, "linspace: %s" % col("sigma"))
    check(col("T1") == {"100", "300", "500"}, "range: %s" % col("T1"))
    pairs = {(r[header.index("clusters")], r[header.index("record_every")]) for r in rows}
    check(pairs == {("2", "5"), ("4", "10"), ("8", "20")}, "[zip.regime] pairs: %s" % pairs)
    check(len(col("alpha")) == 4, "4 random draws of alpha: %s" % col("alpha"))


if __name__ == "__main__":
    main([test_dry_run_list, test_sweep_file_page_example])
