"""show, plot and report against archives of real sweeps: numbers equal to h5py + numpy, failed
and pending tasks counted, valid PNGs, and all of it while a sweep writes and after a kill."""
import json
import os
import struct
import time
import zlib

from harness import *

NOOP = """
[sweep]
name = "browse"
experiment = "noop"
seeds = 4

[params]
payload = 6

[grid]
work_us = [0, 100, 300]
fail_rate = [0.0, 0.5]
"""


def png_info(path):
    """(width, height, number of distinct colours) of an 8-bit RGB/RGBA PNG, decoded here."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "%s: not a PNG signature" % path)
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        check(zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0],
              "%s: bad CRC in %s chunk" % (path, kind))
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    check(hdr is not None and kind == b"IEND", "%s: IHDR/IEND missing" % path)
    w, h, depth, ctype, _, _, interlace = hdr
    check(depth == 8 and ctype in (2, 6) and interlace == 0,
          "%s: unexpected PNG format depth %d type %d" % (path, depth, ctype))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    check(len(raw) == h * (stride + 1), "%s: IDAT size does not match %dx%d" % (path, w, h))
    prev = bytearray(stride)
    colours = set()
    for y in range(h):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 4 == 0:  # every fourth row is plenty to see lines, bars and text
            colours.update(bytes(line[i:i + bpp]) for i in range(0, stride, bpp))
        prev = line
    return w, h, len(colours)


def check_png(path, size=(900, 600)):
    check(os.path.exists(path), "%s missing" % path)
    w, h, n = png_info(path)
    check((w, h) == size, "%s: %dx%d, expected %dx%d" % (path, w, h, size[0], size[1]))
    check(n > 3, "%s: only %d colours: an empty figure?" % (path, n))


def show_json(archive, *args):
    return json.loads(mpisweep("show", archive, "--format", "json", *args).stdout)


def noop_sweep():
    workdir()
    write("sweep.toml", NOOP)
    p = mpisweep("run", "sweep.toml", ranks=3, expect=None)
    check(p.returncode == 1, "noop fail_rate 0.5 fails some tasks: exit 1, got %d\n%s" % (p.returncode, p.stderr))
    return "results/browse.h5"


def expected_groups(a, keys, metric):
    """{key tuple: (mean, se, n, counts)} computed with numpy from the raw archive."""
    out = {}
    cols = [a["params"][k] for k in keys]
    for key in sorted(set(zip(*cols))):
        rows = np.ones(len(a["id"]), bool)
        for c, v in zip(cols, key):
            rows &= c == v
        done = rows & (a["status"] == DONE)
        x = a["metrics"][metric][done]
        x = x[np.isfinite(x)]
        se = x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else None
        counts = {s: int((rows & (a["status"] == v)).sum())
                  for s, v in (("done", DONE), ("failed", FAILED), ("timeout", TIMEOUT), ("pending", PENDING))}
        out[tuple(v.item() for v in key)] = (x.mean() if len(x) else None, se, len(x), counts)
    return out


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-12 * max(1.0, abs(b))


def test_show_matches_numpy():
    archive = noop_sweep()
    a = load(archive)
    j = show_json(archive)
    check(j["counts"]["total"] == 24 and j["counts"]["failed"] > 0, "counts %s" % j["counts"])
    check(j["counts"]["done"] + j["counts"]["failed"] == 24, "every task done or failed")
    exp = expected_groups(a, ["work_us", "payload", "fail_rate"], "value")
    check(len(j["rows"]) == len(exp) == 6, "6 parameter points, got %d" % len(j["rows"]))
    for row in j["rows"]:
        p = row["params"]
        key = (p["work_us"], p["payload"], p["fail_rate"])
        mean, se, n, counts = exp[key]
        m = row["metrics"]["value"]
        check(close(m["mean"], mean) and close(m["se"], se) and m["n"] == n,
              "point %s: show %s, numpy %s" % (key, m, (mean, se, n)))
        check({k: row["counts"][k] for k in counts} == counts, "counts of %s" % (key,))
    keys = [tuple(r["params"][k] for k in ("work_us", "payload", "fail_rate")) for r in j["rows"]]
    check(keys == sorted(keys), "rows sorted by parameter values: %s" % keys)

    # --group-by pools the other parameters; --where filters.
    j = show_json(archive, "--group-by", "fail_rate", "--where", "work_us >= 100", "--metric", "value")
    a_where = dict(a)
    sel = a["params"]["work_us"] >= 100
    a_where = {"id": a["id"][sel], "status": a["status"][sel],
               "params": {k: v[sel] for k, v in a["params"].items()},
               "metrics": {k: v[sel] for k, v in a["metrics"].items()}}
    exp = expected_groups(a_where, ["fail_rate"], "value")
    check(len(j["rows"]) == 2 and j["filtered_out"] == 8, "2 groups, 8 rows filtered: %s" % j)
    for row in j["rows"]:
        mean, se, n, counts = exp[(row["params"]["fail_rate"],)]
        m = row["metrics"]["value"]
        check(close(m["mean"], mean) and close(m["se"], se), "group-by %s vs %s" % (m, (mean, se)))

    # CSV: header with separate mean/se/n columns and counts.
    csv = mpisweep("show", archive, "--format", "csv", "--metric", "value").stdout.splitlines()
    check(csv[0] == "work_us,payload,fail_rate,done,failed,timeout,pending,value_mean,value_se,value_n",
          "csv header: %s" % csv[0])
    check(len(csv) == 7, "csv: header + 6 rows")

    # Table: failed column present, the ± signs aligned.
    out = mpisweep("show", archive, "--metric", "value").stdout
    lines = out.splitlines()
    check("failed" in out and "fixed: payload=6" in out, "table mentions failures and fixed params:\n" + out)
    table = lines[lines.index("") + 1:]
    table = table[:table.index("")] if "" in table else table
    pm = [l.index("±") for l in table if "±" in l]
    check(len(pm) >= 3 and len(set(pm)) == 1, "± aligned in every row that has one:\n" + out)


def test_bad_input():
    archive = noop_sweep()
    p = mpisweep("show", archive, "--metric", "nope", expect=2)
    err = p.stderr.strip()
    check(len(err.splitlines()) == 1 and "unknown metric 'nope'" in err and "value, work_us" in err,
          "one line listing the metrics: %s" % err)
    p = mpisweep("show", archive, "--where", "work_us >= && fail_rate", expect=2)
    check("position 12" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr)
    p = mpisweep("show", archive, "--group-by", "nope", expect=2)
    check("work_us, payload, fail_rate" in p.stderr, p.stderr)
    p = mpisweep("plot", archive, "--x", "nope", "--y", "value", "-o", "x.png", expect=2)
    check("--x" in p.stderr and not os.path.exists("x.png"), p.stderr)
    p = mpisweep("plot", archive, "--series", "nope", "-o", "x.png", expect=2)
    check("payload" in p.stderr, p.stderr)
    mpisweep("show", "no-such.h5", expect=2)
    # Without gnuplot: one line telling what to install, exit 3.
    env = dict(ENV, MPISWEEP_GNUPLOT="/nonexistent/gnuplot")
    p = subprocess.run([BIN, "plot", archive, "--x", "work_us", "--y", "value", "-o", "x.png"],
                       env=env, capture_output=True, text=True)
    check(p.returncode == 3 and "gnuplot-nox" in p.stderr, "missing gnuplot: %d %s" % (p.returncode, p.stderr))


def test_plot_pngs():
    archive = noop_sweep()
    p = mpisweep("plot", archive, "--x", "work_us", "--y", "value", "--group-by", "fail_rate",
                 "-o", "figs/value.png")
    check_png("figs/value.png")
    check("not in the figure" in p.stderr, "failed tasks are reported: %s" % p.stderr)
    mpisweep("plot", archive, "--x", "fail_rate", "--y", "work_us", "--logy", "--size", "640x480",
             "-o", "work.png")
    check_png("work.png", (640, 480))
    mpisweep("plot", archive, "--series", "payload", "--group-by", "work_us", "-o", "payload.png")
    check_png("payload.png")


def test_report_demo():
    workdir()
    os.makedirs("jobs")
    with open(os.path.join(SOURCE_DIR, "jobs", "demo.toml")) as f:
        write("jobs/demo.toml", f.read())
    mpisweep("run", "jobs/demo.toml", ranks=3)
    p = mpisweep("report", "results/demo.h5", "-o", "report")
    md = open("report/report.md").read()
    figures = [l[l.index("](") + 2:-1] for l in md.splitlines() if l.startswith("![")]
    # moe_cl declares 5: G_T, convergence_round and F_T against experts; G_t and F_t over rounds.
    check(len(figures) == 5,
          "moe_cl declares 5 standard figures; report.md links %d:\n%s" % (len(figures), md))
    for fig in figures:
        check_png(os.path.join("report", fig))
    check("| experts | terminate |" in md and "±" in md, "summary table in report.md:\n" + md)
    check(os.path.exists("report/summary.csv"), "summary.csv written")
    check("Not drawn" not in md, md)


def test_while_running_and_after_kill():
    workdir()
    write("slow.toml", NOOP.replace('name = "browse"', 'name = "slow"')
          .replace("work_us = [0, 100, 300]", "work_us = [400000, 500000, 600000]")
          .replace("seeds = 4", "seeds = 6"))
    job = start("run", "slow.toml", ranks=2)
    archive = "results/slow.h5"
    try:
        deadline = time.time() + 60
        j = None
        while time.time() < deadline:
            if os.path.exists(archive):
                p = mpisweep("show", archive, "--format", "json", expect=None)
                if p.returncode == 0:
                    j = json.loads(p.stdout)
                    if j["counts"]["done"] + j["counts"]["failed"] >= 3:
                        break
            time.sleep(0.3)
        check(j is not None, "show never read the running sweep's archive")
        c = j["counts"]
        check(c["total"] == 36 and c["pending"] > 0 and c["done"] > 0,
              "show while running: every task counted, some pending: %s" % c)
        mpisweep("show", archive)
        mpisweep("plot", archive, "--x", "work_us", "--y", "value", "-o", "live.png")
        check_png("live.png")
        check(job.poll() is None, "the sweep was still running")
    finally:
        kill_job(job)
        job.wait()
    # After kill -9 the archive is a killed SWMR writer's: every browse command still reads it.
    j = show_json(archive)
    check(j["counts"]["total"] == 36 and j["counts"]["pending"] > 0, "after kill: %s" % j["counts"])
    p = mpisweep("report", archive, "-o", "rep")
    md = open("rep/report.md").read()
    check("pending" in md and "interrupted" in md, "report says the sweep is incomplete:\n" + md)
    check_png("rep/" + [l[l.index("](") + 2:-1] for l in md.splitlines() if l.startswith("![")][0])


if __name__ == "__main__":
    main([test_show_matches_numpy, test_bad_input, test_plot_pngs, test_report_demo,
          test_while_running_and_after_kill])
