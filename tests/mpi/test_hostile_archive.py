"""Archives touched by other tools: strings rewritten with h5py in every form HDF5 allows are read
by every command and by resume (issue 11 item 9); hand-corrupted tables are refused with one line
naming the dataset, exit 2 and no byte changed (item 10); an exit-2 run on a killed archive of
another sweep changes no byte either (item 3)."""
import signal
import time

from harness import *

SPEC = """
[sweep]
name = "h"
experiment = "noop"
seeds = 2

[grid]
work_us = [0, 100]

[params]
payload = 3
"""


def make_archive():
    workdir()
    write("s.toml", SPEC)
    mpisweep("run", "s.toml")
    return "results/h.h5"


def every_command(archive, expect=0):
    """status, show, plot, report and a resume; returns the processes."""
    return [mpisweep("status", archive, expect=expect),
            mpisweep("show", archive, "--metric", "value", expect=expect),
            mpisweep("plot", archive, "--series", "payload", "-o", "p.png", expect=expect),
            mpisweep("report", archive, "-o", "rep", expect=expect),
            mpisweep("run", "s.toml", expect=expect)]


# h5py's three string forms: variable-length UTF-8 (its default for a str), fixed-length ASCII
# (np.bytes_, null-padded) and fixed-length UTF-8.
def vlen_utf8(text):
    return text


def fixed_ascii(text):
    return np.bytes_(text.encode("ascii"))


def fixed_utf8(text):
    data = text.encode("utf-8")
    return np.array(data, dtype=h5py.string_dtype("utf-8", len(data)))


def rewrite_strings(path, form):
    with h5py.File(path, "r+") as f:
        sweep = f["sweep"]
        for key in ("name", "experiment"):
            value = sweep.attrs[key]
            value = value.decode() if isinstance(value, bytes) else str(value)
            del sweep.attrs[key]
            sweep.attrs[key] = form(value)
        for obj in (f["tasks/metrics/value"], f["series/payload"], f["series/payload/values"]):
            for key in ("unit", "description"):
                if key in obj.attrs:
                    del obj.attrs[key]
            obj.attrs["unit"] = form("m/s")
            obj.attrs["description"] = form("speed")
        for name in ("spec_toml", "command_line"):
            text = sweep[name][()]
            text = text.decode() if isinstance(text, bytes) else str(text)
            del sweep[name]
            value = form(text)
            if isinstance(value, str):
                sweep.create_dataset(name, data=value, dtype=h5py.string_dtype("utf-8"))
            else:
                sweep.create_dataset(name, data=value)


def test_h5py_strings_are_read_by_every_command():
    for form in (vlen_utf8, fixed_ascii, fixed_utf8):
        archive = make_archive()
        rewrite_strings(archive, form)
        for p in every_command(archive):
            check("conversion" not in p.stderr, "%s: %s" % (form.__name__, p.stderr))
        units = mpisweep("show", archive, "--metric", "value").stdout
        check("m/s" in units, "%s: the unit h5py wrote is shown: %s" % (form.__name__, units))
        check(len(load(archive)["runs"]["start"]) == 2, "%s: resume added a run" % form.__name__)


def one_line(p):
    lines = p.stderr.strip().splitlines()
    check(len(lines) == 1, "one line expected, got:\n" + p.stderr)
    return lines[0]


def shorten(path, name):
    with h5py.File(path, "r+") as f:
        f[name].resize((f[name].shape[0] - 1,))


def set_status(path, value):
    with h5py.File(path, "r+") as f:
        f["tasks/status"][1] = value


# (corruption, the dataset the one line must name)
CORRUPTIONS = [
    (lambda a: shorten(a, "tasks/seed"), "/tasks/seed has 3 rows, /tasks/id has 4"),
    (lambda a: shorten(a, "tasks/id"), "/tasks/seed has 4 rows, /tasks/id has 3"),
    (lambda a: shorten(a, "tasks/metrics/value"), "/tasks/metrics/value has 3 rows"),
    (lambda a: shorten(a, "series/payload/offset"), "/series/payload/offset has 3 rows"),
    (lambda a: set_status(a, 77), "/tasks/status row 1 is 77"),
]


def test_corrupt_tables_are_refused_with_one_line():
    for corrupt, expected in CORRUPTIONS:
        archive = make_archive()
        corrupt(archive)
        before = digest(archive)
        for p in every_command(archive, expect=2):
            line = one_line(p)
            check(archive + ": " + expected in line, "expected %r in %r" % (expected, line))
        check(digest(archive) == before, "%s: the file's bytes are unchanged" % expected)


KILL_SPEC = """
[sweep]
name = "a"
experiment = "noop"
seeds = 200

[params]
work_us = 20000
"""


def test_exit_2_on_a_killed_archive_of_another_sweep_changes_nothing():
    workdir()
    write("a.toml", KILL_SPEC)
    write("b.toml", KILL_SPEC.replace('name = "a"', 'name = "b"'))
    job = start("run", "a.toml")
    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.2)
        try:
            if (load("results/a.h5")["status"] == DONE).sum() >= 3:
                break
        except (OSError, KeyError):
            pass
    kill_job(job, signal.SIGKILL)
    job.communicate()
    before = digest("results/a.h5")
    p = mpisweep("run", "b.toml", "--archive", "results/a.h5", expect=2)
    check("belongs to sweep 'a'" in one_line(p), p.stderr)
    check(digest("results/a.h5") == before, "the killed writer's archive is unchanged")
    mpisweep("run", "a.toml", "-q")  # and sweep a still resumes it
    check((load("results/a.h5")["status"] == DONE).all(), "resumed to completion")


if __name__ == "__main__":
    main([test_h5py_strings_are_read_by_every_command,
          test_corrupt_tables_are_refused_with_one_line,
          test_exit_2_on_a_killed_archive_of_another_sweep_changes_nothing])
