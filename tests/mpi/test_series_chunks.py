"""Chunks follow a series' length (issue 18): noop's payload declares its length parameter, so
the archive's /series/payload/values chunk is the sweep's smallest payload (clamped to 1 MiB),
workers encode in it, and a resumed archive keeps the chunk it was created with, whatever the
resumed sweep's lengths. Values are compared bit for bit with a one-rank run of the same tasks."""
import h5py

from harness import *

SPEC = """
[sweep]
name = "chunks"
experiment = "noop"
seeds = %d

[params]
payload = %d
"""


def chunk_of(path):
    with h5py.File(path, "r") as f:
        return f["series/payload/values"].chunks[0]


def run(archive, seeds, payload, ranks=3):
    write("sweep.toml", SPEC % (seeds, payload))
    mpisweep("run", "sweep.toml", "-q", "--archive", archive, ranks=ranks)
    return load(archive)


def test_chunk_follows_payload_and_survives_resume():
    workdir()
    # 20,000 values (160 KB): one chunk per task, none padded; 200,000 (1.6 MB): 1 MiB chunks.
    for payload, chunk in ((20000, 20000), (200000, 131072)):
        a = run("a%d.h5" % payload, 4, payload)
        check(chunk_of("a%d.h5" % payload) == chunk,
              "payload %d: chunk %d, expected %d" % (payload, chunk_of("a%d.h5" % payload), chunk))
        check(all(a["series"]["payload"][i].size == payload for i in range(4)), "lengths")
        check(by_id(a) == by_id(run("one%d.h5" % payload, 4, payload, ranks=None)),
              "payload %d: 3 ranks and 1 rank store the same values" % payload)
    # Resumed with longer arrays: the archive keeps its 20,000-value chunks, which the workers
    # are told; the new tasks' 30,000 values span two chunks each and read back exactly.
    run("r.h5", 2, 20000)
    r = run("r.h5", 3, 30000)
    check(chunk_of("r.h5") == 20000, "resume keeps the archive's chunk, got %d" % chunk_of("r.h5"))
    fresh = by_id(run("fresh.h5", 3, 30000, ranks=None))
    check(chunk_of("fresh.h5") == 30000, "a fresh archive of 30,000 values: chunk 30,000")
    resumed = by_id(r)
    check(len(resumed) == 5 and set(fresh) <= set(resumed), "5 done tasks, the 3 new ones")
    check(all(resumed[t] == fresh[t] for t in fresh), "resumed values equal a fresh run's")
    with h5py.File("r.h5", "r") as f:
        check(all(o % 20000 == 0 for o in f["series/payload/offset"][:]),
              "offsets on chunk boundaries")


if __name__ == "__main__":
    main([test_chunk_follows_payload_and_survives_resume])
