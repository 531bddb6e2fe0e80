"""[sweep] series_files = "per_rank" (issue 18, docs/archive.md "Series in block files"): each worker
rank writes its tasks' series into <archive>.series/block-<k>.h5 and the archive's
/series/<name>/values maps them (a virtual dataset). Checked against the default mode on the same
sweep: bit-identical values through h5py, h5dump, the Python package and `mpisweep plot`; the
series bytes are in the block files, one per worker rank, not in the archive."""
import glob
import os
import subprocess
import sys

import h5py
import numpy as np

from harness import *

SPEC = """
[sweep]
name = "sf"
experiment = "noop"
seeds = 5
%s
[grid]
payload = [0, 100, 20000, 300000]
"""
PER_RANK = 'series_files = "per_rank"'


def rows(path):
    """{task id: (status, metric bytes, payload values)}: each task's array read as
    values[offset : offset + length], as docs/archive.md says to read a series (values[:] of a
    block-file archive is whole blocks of 2^24 values)."""
    out = {}
    with h5py.File(path, "r", swmr=True, libver="latest") as f:
        ids, status = f["tasks/id"][:], f["tasks/status"][:]
        value = f["tasks/metrics/value"][:]
        g = f["series/payload"]
        offset, length, values = g["offset"][:], g["length"][:], g["values"]
        for i, tid in enumerate(ids):
            o, n = int(offset[i]), int(length[i])
            arr = values[o:o + n] if n else np.zeros(0)  # an empty VDS read fails on HDF5 1.10.8
            out[int(tid)] = (int(status[i]), value[i].tobytes(), arr.tobytes())
    return out


def test_per_rank_matches_archive_mode():
    workdir()
    write("a.toml", SPEC % "")
    write("b.toml", SPEC % PER_RANK)
    mpisweep("run", "a.toml", "--archive", "a.h5", "-q", ranks=3)
    mpisweep("run", "b.toml", "--archive", "b.h5", "-q", ranks=3)
    a, b = rows("a.h5"), rows("b.h5")
    check(len(a) == 20 and all(r[0] == DONE for r in b.values()), "every task done")
    check(a == b, "every task's metrics and series bit-identical to the default mode")
    with h5py.File("b.h5", "r") as f:
        v = f["series/payload/values"]
        check(v.is_virtual, "values is a virtual dataset")
        workers = set(int(w) for w in f["tasks/worker"][:])
        off = f["series/payload/offset"][:]
        n = f["series/payload/length"][:]
    # One block file per worker rank that ran tasks (2^24 values each is far from full here).
    blocks = sorted(os.path.basename(p) for p in glob.glob("b.h5.series/block-*.h5"))
    check(workers == {1, 2}, "both workers ran tasks: %s" % workers)
    check(blocks == ["block-0.h5", "block-1.h5"], "one block file per worker rank: %s" % blocks)
    # Rank w's arrays lie in its block w - 1.
    with h5py.File("b.h5", "r") as f:
        for i, w in enumerate(f["tasks/worker"][:]):
            if n[i]:
                check(off[i] // 2**24 == w - 1, "row %d of rank %d in block %d" % (
                    i, w, off[i] // 2**24))
    # The bytes went to the block files, not the archive: 5 x 320,100 values of random doubles.
    stored = sum(os.path.getsize(p) for p in glob.glob("b.h5.series/block-*.h5"))
    check(stored > 5 * 320100 * 8 * 0.9, "block files hold the values: %d bytes" % stored)
    check(os.path.getsize("b.h5") < 1_000_000,
          "archive holds no values: %d bytes" % os.path.getsize("b.h5"))
    # h5dump reads a task's values through the mapping, from the archive alone.
    i = int(np.argmax(n))
    dump = subprocess.run(["h5dump", "-d", "/series/payload/values", "-s", str(off[i]), "-c", "2",
                           "b.h5"], capture_output=True, text=True)
    check(dump.returncode == 0, "h5dump: " + dump.stderr[-500:])
    with h5py.File("a.h5", "r") as f:
        first = f["series/payload/values"][f["series/payload/offset"][i]]
    printed = dump.stdout.split("DATA {")[1].split(":")[1].split(",")[0].strip()
    check(abs(float(printed) - first) <= 1e-6 * abs(first), "h5dump prints %s, expected %r" % (
        printed, first))
    # The Python package reads the same arrays.
    sys.path.insert(0, os.path.join(SOURCE_DIR, "python"))
    import mpisweep as pkg
    sa, sb = pkg.series("a.h5", "payload"), pkg.series("b.h5", "payload")
    check(len(sa) == 15 and sa.keys() == sb.keys() and
          all(sa[k].tobytes() == sb[k].tobytes() for k in sa),
          "mpisweep.series() reads the same arrays in both modes")
    # The Reader (mpisweep plot: a series' mean over seeds) reads the same values.
    for name in ("a", "b"):
        mpisweep("plot", name + ".h5", "--series", "payload", "--where", "payload==100",
                 "--title", "t", "-o", name + ".svg")
    check(open("a.svg").read() == open("b.svg").read(), "plot draws the same figure")


def test_full_blocks_roll_over():
    """With blocks of 65,536 values (MPISWEEP_TEST_SERIES_BLOCK, test only) two 20,000-value
    arrays fill a block: each worker rank moves on by the rank count (block w - 1, then
    w - 1 + 2, ...), the gaps the other rank has not reached yet get placeholders, no array
    straddles two blocks, and the values are those of the default mode. An array longer than a
    block fails its task with one line, and the others go on."""
    workdir()
    spec = SPEC.replace("seeds = 5", "seeds = 6").replace(
        "payload = [0, 100, 20000, 300000]", "payload = [100, 20000, 70000]")
    write("a.toml", spec % "")
    write("b.toml", spec % PER_RANK)
    mpisweep("run", "a.toml", "--archive", "a.h5", "-q", ranks=3)
    block = 65536
    env = dict(ENV, MPISWEEP_TEST_SERIES_BLOCK=str(block))
    p = subprocess.run(command(["run", "b.toml", "--archive", "b.h5"], 3), env=env,
                       capture_output=True, text=True, timeout=300)
    check(p.returncode == 1, "exit 1 (the 70,000-value tasks failed): %d\n%s" % (
        p.returncode, p.stderr[-2000:]))
    a, b = rows("a.h5"), rows("b.h5")
    with h5py.File("b.h5", "r") as f:
        payload = f["tasks/params/payload"][:]
        worker, status = f["tasks/worker"][:], f["tasks/status"][:]
        off, n = f["series/payload/offset"][:], f["series/payload/length"][:]
        errors = [e.decode() for e in f["tasks/error"][:]]
    big = payload == 70000
    check((status[big] == FAILED).all() and (status[~big] == DONE).all(),
          "70,000 values fail, the rest are done: %s" % status)
    check(all("series 'payload': 70000 values" in e and "65536" in e
              for e in np.array(errors)[big]), "the error says why: %s" % errors[0:3])
    check(all(a[t] == b[t] for t in b if b[t][0] == DONE), "done tasks as in the default mode")
    blocks = [int(o) // block for o, k in zip(off, n) if k]
    check(max(blocks) >= 2, "blocks rolled over: %s" % sorted(set(blocks)))
    check(all((int(o) % block) + int(k) <= block for o, k in zip(off, n) if k),
          "no array straddles a block")
    check(all(int(o) // block % 2 == w - 1 for o, k, w in zip(off, n, worker) if k),
          "rank w writes blocks w - 1 + 2j")
    files = sorted(int(os.path.basename(f)[6:-3]) for f in glob.glob("b.h5.series/block-*.h5"))
    check(files == list(range(len(files))) and files[-1] >= max(blocks),
          "block files 0..%d, no gap: %s" % (max(blocks), files))


def test_compacted_archive_keeps_the_mapping():
    """The rewrite at close (forced by MPISWEEP_TEST_COMPACT_PAUSE, test only) makes the virtual
    datasets afresh: the copy still maps the block files."""
    workdir()
    write("a.toml", SPEC % "")
    write("b.toml", SPEC % PER_RANK)
    mpisweep("run", "a.toml", "--archive", "a.h5", "-q", "--set", "sweep.seeds=2", ranks=3)
    env = dict(ENV, MPISWEEP_TEST_COMPACT_PAUSE="0.01")
    p = subprocess.run(command(["run", "b.toml", "--archive", "b.h5", "-q", "--set",
                                "sweep.seeds=2"], 3), env=env, capture_output=True, text=True,
                       timeout=300)
    check(p.returncode == 0, "exit %d: %s" % (p.returncode, p.stderr[-1000:]))
    check(not glob.glob(".b.h5*"), "no temporary copy left: %s" % glob.glob(".b.h5*"))
    with h5py.File("b.h5", "r") as f:
        check(f["series/payload/values"].is_virtual, "still virtual after compaction")
    check(rows("a.h5") == rows("b.h5"), "values as in the default mode after compaction")


def test_mode_is_fixed_with_the_archive():
    workdir()
    write("a.toml", SPEC % "")
    write("b.toml", SPEC % PER_RANK)
    mpisweep("run", "b.toml", "--archive", "b.h5", "-q", "--set", "sweep.seeds=1", ranks=2)
    p = mpisweep("run", "a.toml", "--archive", "b.h5", "-q", expect=2)
    check("series_files" in p.stderr and "b.h5" in p.stderr, "one line naming the mode: " +
          p.stderr)
    # A new archive beside an earlier sweep's block files would map them: refused.
    os.rename("b.h5", "moved.h5")
    p = mpisweep("run", "b.toml", "--archive", "b.h5", "-q", expect=2)
    check("b.h5.series" in p.stderr and "earlier sweep" in p.stderr, "stale folder: " + p.stderr)
    p = mpisweep("run", "b.toml", "--set", "sweep.series_files=node", "-q", expect=2)
    check("series_files" in p.stderr and "per_rank" in p.stderr, "bad value: " + p.stderr)


if __name__ == "__main__":
    main([test_per_rank_matches_archive_mode, test_full_blocks_roll_over,
          test_compacted_archive_keeps_the_mapping, test_mode_is_fixed_with_the_archive])
