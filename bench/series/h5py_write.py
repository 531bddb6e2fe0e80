"""The h5py reference for series ingestion (scripts/bench, section "series").

Writes TASKS arrays of VALUES float64 each into one resizable, chunked, uncompressed dataset,
appended one after another as a one-process Python script would, then closes and fsyncs the
file. Prints MB/s of float64 values. Usage: h5py_write.py DIR VALUES TASKS
"""
import os
import sys
import time

import h5py
import numpy as np

directory, values, tasks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(1)
arrays = [rng.random(values) for _ in range(4)]  # four arrays, cycled (as bench_series write)
path = os.path.join(directory, "h5py_write.h5")
# chunk_codec.chunk_elements for a curve of this length: whole arrays in 64 KiB, at most 1 MiB.
chunk = values * max(1, 8192 // values) if values <= 8192 else min(values, 131072)
t0 = time.perf_counter()
with h5py.File(path, "w", libver="latest") as f:
    d = f.create_dataset("values", shape=(0,), maxshape=(None,), dtype="f8", chunks=(chunk,))
    n = 0
    for t in range(tasks):
        a = arrays[t % 4]
        d.resize((n + values,))
        d[n:n + values] = a
        n += values
fd = os.open(path, os.O_RDONLY)
os.fsync(fd)
os.close(fd)
s = time.perf_counter() - t0
mb = values * tasks * 8 / 1e6
print(f"h5py values={values} tasks={tasks} MB={mb:.1f} s={s:.3f} MB/s {mb / s:.1f}")
os.unlink(path)
