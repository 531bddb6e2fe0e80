"""Issue 11, items 1, 2 and 7: no text from an archive or the command line runs as a command in
gnuplot (backquotes, system(), $(...), @macros planted in every string that reaches a figure);
plot and report never replace anything but an image or a report they could have written; a
pathologically nested --where is refused, not a crash."""
import glob
import os
import re
import zlib

from harness import *
from test_browse import check_png

SWEEP = """
[sweep]
name = "safe"
experiment = "noop"
seeds = 3

[params]
payload = 5

[grid]
work_us = [0, 100, 300]
"""

# Relative (HDF5 names cannot hold '/'): a command would run in the test's folder, gnuplot's too.
MARK = "pwned-%d" % os.getpid()


def evil(tag):
    """Text that would create MARK-<tag>-* if any gnuplot (or shell) substitution ran it."""
    m = "%s-%s" % (MARK, tag)
    return "%s `touch %s-bq` system('touch %s-sys') $(touch %s-sh) @mac '' \" \\ %%s {^x}" % (
        tag, m, m, m)


def nothing_ran():
    ran = glob.glob(MARK + "*")
    for f in ran:
        os.remove(f)
    check(not ran, "text from the archive or command line ran as a command: %s" % ran)


def set_str_attr(obj, name, text):
    """A fixed-length NULL-terminated UTF-8 string attribute: the form mpisweep itself writes."""
    b = text.encode()
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(len(b) + 1)
    tid.set_strpad(h5py.h5t.STR_NULLTERM)
    tid.set_cset(h5py.h5t.CSET_UTF8)
    if name in obj.attrs:
        del obj.attrs[name]
    aid = h5py.h5a.create(obj.id, name.encode(), tid, h5py.h5s.create(h5py.h5s.SCALAR))
    aid.write(np.array(b, dtype="S%d" % (len(b) + 1)), mtype=tid)


def plant(path):
    """Every string of the archive that reaches a figure gets a payload; returns the names of the
    renamed x parameter and the planted choice parameter."""
    xname, cname = evil("pname"), evil("cname")
    with h5py.File(path, "r+") as f:
        # An unregistered kind: every name and unit comes from the archive alone.
        set_str_attr(f["sweep"], "experiment", "custom")
        set_str_attr(f["sweep"], "name", evil("sweep"))
        for m in f["tasks/metrics"].values():
            set_str_attr(m, "unit", evil("unit"))
            set_str_attr(m, "description", evil("help"))
        f.move("tasks/params/work_us", "tasks/params/" + xname)
        set_str_attr(f["tasks/params/" + xname], "unit", evil("punit"))
        n = len(f["tasks/id"])
        values = [evil("c%d" % (i % 2)).encode() for i in range(n)]
        width = max(len(v) for v in values) + 1
        tid = h5py.h5t.C_S1.copy()
        tid.set_size(width)
        tid.set_strpad(h5py.h5t.STR_NULLTERM)
        tid.set_cset(h5py.h5t.CSET_UTF8)
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((n,))
        space = h5py.h5s.create_simple((n,), (h5py.h5s.UNLIMITED,))
        did = h5py.h5d.create(f["tasks/params"].id, cname.encode(), tid, space, dcpl=dcpl)
        did.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array(values, dtype="S%d" % width), mtype=tid)
        d = f["tasks/params/" + cname]
        set_str_attr(d, "type", "choice")
        set_str_attr(d, "unit", "")
        set_str_attr(d, "description", evil("chelp"))
        s = f["series/payload"]
        for k in ("unit", "axis"):
            set_str_attr(s, k, evil("s" + k))
        p = f["sweep/plots/0"]
        set_str_attr(p, "title", evil("ptitle"))
    return xname, cname


def pdf_has_content(path):
    data = open(path, "rb").read()
    check(data.startswith(b"%PDF-"), "%s: not a PDF" % path)
    ops = 0
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            text = zlib.decompress(m.group(1))
        except zlib.error:
            continue
        ops += len(re.findall(rb"\d [ml][ \n]", text))  # moveto / lineto of the drawing
    check(ops > 20, "%s: the first page draws %d path operations: an empty figure?" % (path, ops))


def svg_has_content(path, text=None):
    data = open(path, encoding="utf-8").read()
    check("<svg" in data[:400] and data.count("<path") > 5, "%s: an empty SVG?" % path)
    if text is not None:
        check(text in data, "%s: %r is not drawn literally" % (path, text))


def sweep():
    workdir()
    write("s.toml", SWEEP)
    mpisweep("run", "s.toml", "-q")
    return "results/safe.h5"


def test_no_command_runs():
    archive = sweep()
    xname, cname = plant(archive)
    nothing_ran()
    title = evil("title")
    out = evil("out") + ".png"
    mpisweep("plot", archive, "--x", xname, "--y", "value", "--group-by", cname, "--title", title,
             "-o", out)
    check_png(out)
    mpisweep("plot", archive, "--x", cname, "--y", "value", "-o", "cat.svg")
    svg_has_content("cat.svg", "`touch %s-c0-bq`" % MARK)
    mpisweep("plot", archive, "--series", "payload", "--group-by", cname, "-o", "series.pdf")
    pdf_has_content("series.pdf")
    mpisweep("plot", archive, "--x", xname, "--y", "value", "--title", title, "-o", "t.svg")
    svg_has_content("t.svg", "`touch %s-title-bq` system('touch" % MARK)
    mpisweep("report", archive, "-o", "rep")
    figs = [l[l.rindex("](") + 2:-1] for l in open("rep/report.md").read().splitlines()
            if l.startswith("![")]
    check(figs, "the report draws its figures")
    for fig in figs:
        check_png(os.path.join("rep", fig))
    nothing_ran()


def test_outputs_never_destroy():
    archive = sweep()
    before = digest(archive)
    args = ["plot", archive, "--x", "work_us", "--y", "value"]
    # The archive itself, under its own name and under an image's name (a symbolic link).
    p = mpisweep(*args, "-o", archive, expect=2)
    check(len(p.stderr.strip().splitlines()) == 1 and ".png, .pdf or .svg" in p.stderr, p.stderr)
    os.symlink(os.path.abspath(archive), "link.png")
    p = mpisweep(*args, "-o", "link.png", expect=2)
    check("HDF5" in p.stderr or "input archive" in p.stderr, p.stderr)
    # Another HDF5 file, a directory and a text file that carry an image's name.
    shutil.copy(archive, "other.png")
    other = digest("other.png")
    p = mpisweep(*args, "-o", "other.png", expect=2)
    check("HDF5" in p.stderr, p.stderr)
    os.makedirs("dir.png/inside")
    mpisweep(*args, "-o", "dir.png", expect=2)
    write("notes.pdf", "my notes\n")
    p = mpisweep(*args, "-o", "notes.pdf", expect=2)
    check("not a PNG, PDF or SVG" in p.stderr, p.stderr)
    mpisweep(*args, "-o", "fig.jpg", expect=2)
    check(digest(archive) == before and digest("other.png") == other, "archives unchanged")
    check(os.path.isdir("dir.png/inside") and open("notes.pdf").read() == "my notes\n",
          "directory and text file unchanged")
    check(os.readlink("link.png") == os.path.abspath(archive), "the link is still a link")
    # An image we wrote is replaced, in every format, through a temporary file.
    for ext in ("png", "pdf", "svg"):
        mpisweep(*args, "-o", "fig." + ext)
        first = digest("fig." + ext)
        mpisweep(*args, "--title", "again", "-o", "fig." + ext)
        check(digest("fig." + ext) != first, "fig.%s replaced" % ext)
    check_png("fig.png")
    pdf_has_content("fig.pdf")
    svg_has_content("fig.svg", "again")

    # report -o: a file in the way, the archive, an HDF5 file named report.md in the folder.
    p = mpisweep("report", archive, "-o", archive, expect=2)
    check("not a folder" in p.stderr, p.stderr)
    os.makedirs("rep")
    shutil.copy(archive, "rep/report.md")
    p = mpisweep("report", archive, "-o", "rep", expect=2)
    check("HDF5" in p.stderr and digest("rep/report.md") == before, p.stderr)
    os.remove("rep/report.md")
    mpisweep("report", archive, "-o", "rep")
    mpisweep("report", archive, "-o", "rep")  # its own files are replaced
    check(open("rep/report.md").read().startswith("# Sweep"), "report.md written")
    check(digest(archive) == before, "the archive is never touched")
    left = glob.glob("**/.*tmp-*", recursive=True) + glob.glob(".*tmp-*")
    check(not left, "temporary files left behind: %s" % left)


def test_deep_where():
    archive = sweep()
    for text in ("!" * 20000 + "work_us > 0", "(" * 20000 + "work_us > 0" + ")" * 20000):
        p = mpisweep("show", archive, "--where", text, expect=2)
        err = p.stderr.strip()
        check(len(err.splitlines()) == 1 and "nested more than" in err and len(err) < 300,
              "one short line: %s" % err[:400])
    # Ordinary nesting still works.
    out = mpisweep("show", archive, "--where", "!(!(work_us > 0))", "--format", "json").stdout
    check('"filtered_out": 3' in out, out)


if __name__ == "__main__":
    main([test_no_command_runs, test_outputs_never_destroy, test_deep_where])
