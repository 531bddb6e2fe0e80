"""String *columns* rewritten by h5py (issue 11 item 9): /tasks/host, /tasks/error and a choice
parameter column replaced by h5py in each string form it writes (variable-length UTF-8, np.bytes_
fixed ASCII, fixed UTF-8; as plain contiguous datasets, the way `create_dataset(name, data=...)`
makes them) are read by status and show, which print exactly what they printed before, and a
resume works and puts the columns back in the writer's form with every value kept."""
import sys

from harness import *

TASK = r'''
import json, sys
p = json.load(sys.stdin)
if p["mode"] == "bad":
    print("broken on purpose", file=sys.stderr)
    sys.exit(3)
print(json.dumps({"metrics": {"y": len(p["mode"])}}))
'''

COLUMNS = ("tasks/host", "tasks/error", "tasks/params/mode")


def spec(grid=""):
    return """[sweep]
name = "h"
experiment = "command"
seeds = 2
[command]
run = ["%s", "task.py"]
metrics = ["y"]
[grid]
mode = ["ok", "bad"]
%s""" % (sys.executable, grid)


def vlen_utf8(values):
    return np.array([v.decode() for v in values], dtype=h5py.string_dtype("utf-8"))


def fixed_ascii(values):
    return np.array(values, dtype=np.bytes_)  # S<longest>, null-padded, ASCII


def fixed_utf8(values):
    width = max(1, max(len(v) for v in values))
    return np.array(values, dtype=h5py.string_dtype("utf-8", width))


def rewrite(path, form, names=COLUMNS):
    with h5py.File(path, "r+") as f:
        for name in names:
            values = [bytes(v) for v in f[name][:]]
            attrs = dict(f[name].attrs)
            del f[name]
            d = f.create_dataset(name, data=form(values))
            for k, v in attrs.items():
                d.attrs[k] = v


def columns(path):
    with h5py.File(path, "r") as f:
        return {n: [v if isinstance(v, bytes) else v.encode() for v in f[n][:]] for n in COLUMNS}


def outputs(archive):
    return [mpisweep("status", archive).stdout,
            mpisweep("status", archive, "--format", "json").stdout,
            mpisweep("show", archive, "--rows").stdout,
            mpisweep("show", archive).stdout]


def test_rewritten_string_columns_are_read_and_resumed():
    for form in (vlen_utf8, fixed_ascii, fixed_utf8):
        workdir()
        write("task.py", TASK)
        write("s.toml", spec())
        mpisweep("run", "s.toml", expect=1)
        archive = "results/h.h5"
        before, values = outputs(archive), columns(archive)
        check(any(b"broken on purpose" in e for e in values["tasks/error"]), "an error is stored")
        rewrite(archive, form)
        with h5py.File(archive, "r") as f:
            check(f["tasks/params/mode"].dtype != np.dtype("S4"), "the column was rewritten")
        after = outputs(archive)
        for b, a in zip(before, after):
            check(a == b, "%s: the same text after the rewrite:\n%s\nwas:\n%s" % (
                form.__name__, a, b))
        # Resume: the failed tasks run again (and fail again); every row keeps its values.
        p = mpisweep("run", "s.toml", "--retries", "1", expect=1)
        check("conversion" not in p.stderr, "%s: %s" % (form.__name__, p.stderr))
        check(columns(archive) == values, "%s: resume kept every value" % form.__name__)
        with h5py.File(archive, "r") as f:
            for name in COLUMNS:
                check(f[name].dtype.kind == "S" and f[name].chunks is not None,
                      "%s: %s is back in the writer's form" % (form.__name__, name))
            check(list(f["tasks/params"]) == ["mode"], "the parameter group is intact")
            check(len(f["runs/start"]) == 2, "the resume is recorded")
            failed = [m == b"bad" for m in values["tasks/params/mode"]]
            check([a == (2 if bad else 1) for a, bad in zip(f["tasks/attempts"][:], failed)]
                  == [True] * 4, "%s: the failed tasks ran again" % form.__name__)
        check(outputs(archive)[2] == before[2], "%s: show --rows after resume" % form.__name__)


def test_resume_puts_a_rewritten_parameter_column_back_in_its_place():
    """h5py recreates the column last in its group; the resume re-links the ones after it, so the
    group lists the sweep's order again (show's column order until then is the group's)."""
    workdir()
    write("task.py", TASK)
    write("s.toml", spec("x = [1.5]\n"))
    mpisweep("run", "s.toml", expect=1)
    archive = "results/h.h5"
    with h5py.File(archive, "r") as f:
        order = list(f["tasks/params"])
        x = list(f["tasks/params/x"][:])
    check(order == ["mode", "x"], "the sweep's order: %s" % order)
    rewrite(archive, fixed_ascii, ["tasks/params/mode"])
    with h5py.File(archive, "r") as f:
        check(list(f["tasks/params"]) == ["x", "mode"], "h5py moved the column last")
    mpisweep("run", "s.toml", "--retries", "1", expect=1)
    with h5py.File(archive, "r") as f:
        check(list(f["tasks/params"]) == order, "order restored: %s" % list(f["tasks/params"]))
        check(list(f["tasks/params/x"][:]) == x, "x kept its values")
        check(f["tasks/params/x"].attrs["type"] in (b"real", "real"), "x kept its attributes")


if __name__ == "__main__":
    main([test_rewritten_string_columns_are_read_and_resumed,
          test_resume_puts_a_rewritten_parameter_column_back_in_its_place])
