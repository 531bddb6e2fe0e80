"""Issue 16 "Figures": the format follows the extension, scattered x (random draws) is drawn as
points with gnuplot's own round tics, --style overrides, a series' x follows its declared
x_start/x_step, and a 2-D field is drawn as a heatmap. Read from the SVG gnuplot writes (points
are <use> elements, tic labels <text>), the decoded PNG and the PDF's first page."""
import re

from harness import *
from test_browse import check_png
from test_browse_safety import pdf_has_content, svg_has_content

RANDOM = """
[sweep]
name = "rnd"
experiment = "noop"
seeds = 2

[params]
payload = 12

[random]
count = 12
work_us = { int_uniform = [1, 1000] }
fail_rate = { uniform = [0.0, 0.001] }
"""


def svg(path):
    return open(path, encoding="utf-8").read()


def texts(data):
    return [t.strip() for t in re.findall(r"<text[^>]*>(?:<tspan[^>]*>)?([^<]*)<", data)]


def points_drawn(data):
    """Point symbols (gnuplot's SVG places each with <use xlink:href='#gpPt..'>)."""
    return len(re.findall(r"<use xlink:href='#gpPt\d+' transform='translate", data))


def sweep():
    workdir()
    write("s.toml", RANDOM)
    mpisweep("run", "s.toml", "-q")
    return "results/rnd.h5"


def test_scatter_and_ticks():
    archive = sweep()
    p = mpisweep("plot", archive, "--x", "work_us", "--y", "value", "-o", "r.svg")
    check("averaged over" not in p.stderr, "random points are never pooled: %s" % p.stderr)
    d = svg("r.svg")
    svg_has_content("r.svg")
    # 12 random points (+1 in the legend), drawn as points; tics are gnuplot's round numbers.
    check(points_drawn(d) >= 12, "random x: %d point symbols, expected 12 or more" % points_drawn(d))
    nums = [t for t in texts(d) if re.fullmatch(r"-?[0-9.]+(e[-+]?[0-9]+)?", t)]
    check(nums and all(len(t) <= 5 for t in nums), "tic labels short and round: %s" % nums)
    mpisweep("plot", archive, "--x", "work_us", "--y", "value", "--style", "lines", "-o", "l.svg")
    check(points_drawn(svg("l.svg")) == 0, "--style lines draws no point symbols")
    # Metric against metric: one point per parameter point.
    mpisweep("plot", archive, "--x", "work_us", "--y", "value", "-o", "m.png")
    check_png("m.png")
    for ext in ("png", "pdf", "svg"):
        mpisweep("plot", archive, "--x", "fail_rate", "--y", "value", "-o", "f." + ext)
    check_png("f.png")
    pdf_has_content("f.pdf")
    svg_has_content("f.svg")
    p = mpisweep("plot", archive, "--x", "work_us", "--y", "value", "--style", "zigzag",
                 "-o", "z.png", expect=2)
    err = p.stderr.strip()
    check(len(err.splitlines()) == 1 and "expects one of points, lines, linespoints" in err, err)


def test_series_x_and_heatmap():
    archive = sweep()
    with h5py.File(archive, "r+") as f:
        g = f["series/payload"]
        g.attrs["x_start"] = 10.0
        g.attrs["x_step"] = 5.0
    # 12 elements at x = 10, 15, ..., 65: the axis reaches 65, never starts at 0.
    mpisweep("plot", archive, "--series", "payload", "-o", "s.svg")
    xs = [float(t) for t in texts(svg("s.svg")) if re.fullmatch(r"[0-9]+", t)]
    check(max(xs) >= 65, "series x follows x_start + i x_step: tic labels %s" % xs)
    p = mpisweep("plot", archive, "--series", "payload", "--heatmap", "-o", "h.png", expect=2)
    check("not declared as a 2-D field" in p.stderr, p.stderr)
    with h5py.File(archive, "r+") as f:
        f["series/payload"].attrs["shape"] = np.array([3, 4], dtype=np.int64)
    p = mpisweep("plot", archive, "--series", "payload", "--heatmap", "-o", "h.png", expect=2)
    check("one parameter point" in p.stderr and "work_us" in p.stderr, p.stderr)
    a = load(archive)
    w = int(a["params"]["work_us"][0])
    mpisweep("plot", archive, "--series", "payload", "--heatmap", "--where", "work_us == %d" % w,
             "-o", "h.png")
    check_png("h.png")
    tid = "%016x" % int(a["id"][0])
    mpisweep("plot", archive, "--series", "payload", "--task", tid, "-o", "one.svg")
    check("of one task" in svg("one.svg"), "one task's field")


def test_report_follows_sweep():
    archive = sweep()
    mpisweep("report", archive, "-o", "rep", "--where", "work_us > 300")
    md = open("rep/report.md").read()
    figs = [l[l.rindex("](") + 2:-1] for l in md.splitlines() if l.startswith("![")]
    check(any("fail-rate" in f for f in figs), "a figure for the swept fail_rate axis: %s" % figs)
    for f in figs:
        check_png("rep/" + f)
    a = load(archive)
    kept = len({(int(w), float(f)) for w, f in zip(a["params"]["work_us"], a["params"]["fail_rate"])
                if w > 300})
    csv = open("rep/summary.csv").read().splitlines()
    check(len(csv) == 1 + kept, "summary rows follow --where: %d, expected %d" % (len(csv) - 1, kept))
    check("work_us > 300" in md, "the page says what it keeps")


if __name__ == "__main__":
    main([test_scatter_and_ticks, test_series_x_and_heatmap, test_report_follows_sweep])
