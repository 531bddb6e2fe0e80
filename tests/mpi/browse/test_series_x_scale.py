"""Issue 16 leftover: a series may count its x in units of a task parameter (x_scale_param, as
moe_cl's F_t and G_t do with record_every), so element i of a task's curve is drawn at
(x_start + i x_step) * that task's value: tasks recording every 5 and every 10 rounds share one
round axis, averaged only with tasks of their own step. An archive without the attribute draws
x_start + i x_step as before. The x values are read back from the SVG gnuplot writes: the x tic
labels' positions give the pixel -> data map, the point symbols' positions the drawn x."""
import re

from harness import *

# Hand-made: noop's payload series (4 elements a task) and work_us standing in for record_every,
# two values x two seeds.
SWEEP = """
[sweep]
name = "xs"
experiment = "noop"
seeds = 2

[params]
payload = 4

[grid]
work_us = [5, 10]
"""


def drawn_x(path):
    """The data x of every point symbol in an SVG drawn with --style points."""
    d = open(path, encoding="utf-8").read()
    tics = []
    for x, anchor, label in re.findall(
            r'<g transform="translate\(([-0-9.]+),[-0-9.]+\)"[^>]*text-anchor="(\w+)"[^>]*>\s*'
            r'<text>(?:<tspan[^>]*>)?([^<]*)<', d):
        if anchor == "middle" and re.fullmatch(r"-?[0-9.]+", label.strip()):
            tics.append((float(x), float(label)))
    check(len(tics) >= 2, "x tic labels found: %s" % tics)
    (p0, v0), (p1, v1) = tics[0], tics[-1]
    scale = (v1 - v0) / (p1 - p0)
    pts = re.findall(r"<use xlink:href='#gpPt\d+' transform='translate\(([-0-9.]+),", d)
    return [v0 + (float(p) - p0) * scale for p in pts]


def near(values, x, tol=0.2):
    return sum(1 for v in values if abs(v - x) < tol)


def check_counts(xs, want):
    k = near(xs, 5)
    check(k >= 1, "a point at x=5: %s" % xs)
    for x, n in want.items():
        check(near(xs, x) == n * k, "x=%d drawn %d times, expected %d; drawn %s" %
              (x, near(xs, x), n * k, xs))
    for x in (1, 2, 3, 4, 25, 35):
        check(near(xs, x) == 0, "no point at x=%d: %s" % (x, xs))


def test_x_in_units_of_a_parameter():
    workdir()
    write("s.toml", SWEEP)
    mpisweep("run", "s.toml", "-q")
    archive = "results/xs.h5"
    with h5py.File(archive, "r+") as f:
        g = f["series/payload"]
        check("x_scale_param" not in g.attrs, "noop declares no x unit")
        g.attrs["x_start"] = 1.0
        g.attrs["x_step"] = 1.0

    # Without the attribute: one line pooling both work_us values at x = 1..4.
    p = mpisweep("plot", archive, "--series", "payload", "--style", "points", "-o", "old.svg")
    xs = drawn_x("old.svg")
    for x in (1, 2, 3, 4):
        check(near(xs, x) >= 1, "no x_scale_param: a point at x=%d; drawn %s" % (x, xs))
    check("averaged over seeds and over work_us" in p.stderr, p.stderr)

    with h5py.File(archive, "r+") as f:
        f["series/payload"].attrs["x_scale_param"] = "work_us"
    p = mpisweep("plot", archive, "--series", "payload", "--style", "points", "-o", "new.svg")
    xs = drawn_x("new.svg")
    # work_us 5: rounds 5, 10, 15, 20; work_us 10: rounds 10, 20, 30, 40 (each a mean of 2 seeds).
    # gnuplot may draw each point more than once (symbol and error bar): count in units of x=5's.
    want = {5: 1, 10: 2, 15: 1, 20: 2, 30: 1, 40: 1}
    check_counts(xs, want)
    check("over work_us" not in p.stderr, "tasks of different units are not pooled: " + p.stderr)
    svg = open("new.svg", encoding="utf-8").read()
    check("work_us=5 (2 tasks)" in svg and "work_us=10 (2 tasks)" in svg,
          "each unit's line says its unit and its seed count")

    # Grouped by the unit itself: the same x, the group title alone.
    mpisweep("plot", archive, "--series", "payload", "--group-by", "work_us", "--style", "points",
             "-o", "g.svg")
    check_counts(drawn_x("g.svg"), want)

    # A unit that is not a numeric parameter: said once, x unscaled.
    with h5py.File(archive, "r+") as f:
        f["series/payload"].attrs["x_scale_param"] = "no_such"
    p = mpisweep("plot", archive, "--series", "payload", "--style", "points", "-o", "bad.svg")
    check("'no_such'" in p.stderr and "unscaled" in p.stderr, p.stderr)
    xs = drawn_x("bad.svg")
    check(near(xs, 4) >= 1 and near(xs, 40) == 0, "unscaled: %s" % xs)


MOE = """
[sweep]
name = "moe"
experiment = "moe_cl"
seeds = 1

[params]
T = 20
T1 = 5

[grid]
record_every = [5, 10]
"""


def test_moe_cl_rounds():
    """moe_cl declares its per-round series in units of record_every: the archive a real run
    writes says so, and G_t is drawn at the real rounds 5..20 and 10, 20, up to T."""
    workdir()
    write("m.toml", MOE)
    mpisweep("run", "m.toml", "-q", ranks=2)
    archive = "results/moe.h5"
    with h5py.File(archive, "r") as f:
        for name in ("F_t", "G_t"):
            a = f["series/" + name].attrs
            check(a["x_scale_param"] in ("record_every", b"record_every"),
                  "%s x_scale_param: %r" % (name, a["x_scale_param"]))
        check("x_scale_param" not in f["series/routing_counts"].attrs, "routing_counts: none")
    mpisweep("plot", archive, "--series", "G_t", "--style", "points", "-o", "g.svg")
    xs = drawn_x("g.svg")
    k = near(xs, 5)
    check(k >= 1, "G_t at round 5: %s" % xs)
    for x, n in {15: 1, 10: 2, 20: 2}.items():
        check(near(xs, x) == n * k, "G_t at round %d: %d, expected %d; %s" % (x, near(xs, x),
                                                                             n * k, xs))
    for x in (1, 2, 3, 4):
        check(near(xs, x) == 0, "no point at the record index %d: %s" % (x, xs))


if __name__ == "__main__":
    main([test_x_in_units_of_a_parameter, test_moe_cl_rounds])
