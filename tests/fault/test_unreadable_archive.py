"""An archive the user may not read (issue 11): one line naming the reason and the file, exit 3
(a runtime error, as for an archive that cannot be written), never "corrupt or unreadable" with
HDF5's error stack, "not an HDF5 file" or "no such archive". We test as root, who may read
anything, so mpisweep runs as user nobody; without root or runuser the test is skipped (77)."""
import os
import shutil
import subprocess
import sys

from harness import *

SPEC = """
[sweep]
name = "w"
experiment = "noop"
seeds = 2
"""


def as_nobody(*args):
    return subprocess.run(["runuser", "-u", "nobody", "--", BIN] + [str(a) for a in args],
                          env=ENV, capture_output=True, text=True, timeout=120)


def says_one_line(p, line, what):
    check(p.returncode == 3, "%s: exit 3, got %d\n%s" % (what, p.returncode, p.stderr))
    lines = p.stderr.strip().splitlines()
    check(len(lines) == 1 and lines[0].startswith("mpisweep: ") and lines[0].endswith(line),
          "%s: one line ending %r:\n%s" % (what, line, p.stderr))


def test_an_archive_without_read_permission():
    workdir()
    write("w.toml", SPEC)
    mpisweep("run", "w.toml", "-q")
    os.chmod(".", 0o755)
    os.chmod("results", 0o755)
    p = as_nobody("status", "results/w.h5")
    check(p.returncode == 0, "the setup works: nobody reads a readable archive\n" + p.stderr)
    os.chmod("results/w.h5", 0o000)
    for args in (["status", "results/w.h5"], ["show", "results/w.h5"], ["run", "w.toml", "-q"]):
        says_one_line(as_nobody(*args), "permission denied: results/w.h5", " ".join(args))


def test_an_archive_in_a_folder_without_search_permission():
    workdir()
    write("w.toml", SPEC)
    mpisweep("run", "w.toml", "-q")
    os.chmod(".", 0o755)
    os.chmod("results", 0o700)  # nobody may not look inside: the file's own mode does not matter
    says_one_line(as_nobody("status", "results/w.h5"), "permission denied: results/w.h5",
                  "status")


if __name__ == "__main__":
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        print("skipped: needs root and runuser to run mpisweep as another user")
        sys.exit(77)
    main([test_an_archive_without_read_permission,
          test_an_archive_in_a_folder_without_search_permission])
