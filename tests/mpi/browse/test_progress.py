"""Issue 16 "Running": run --progress auto|bar|lines|none. Under mpiexec with stderr a pipe, auto
prints timestamped lines and a closing summary whose counts match the archive; none prints
nothing; in a terminal (a pty from python's pty module) auto draws the bar through mpiexec, and
`2>file` from that terminal falls back to lines. Runs noop tasks of 0.1-1 s of CPU: about 20 s on
an idle 2-core machine (50 s when 8 engineers share it). The tasks' work is CPU time, so a loaded
machine only makes a run longer: each timing check below holds for the shortest run (13 of the 16
tasks work, 3 fail at once by their seeds; two workers) and gains margin under load."""
import os
import pty
import re
import subprocess

from harness import *

SPEC = """[sweep]
name = "progress"
experiment = "noop"
seeds = 8
[grid]
work_us = [400000]
fail_rate = [0.0, 0.5]
"""
STAMP = r"mpisweep \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, elapsed [\dhms]+: "
SUMMARY = (r"finished: (\d+)/(\d+) done, (\d+) failed, (\d+) not run; "
           r"this run (\d+) in [\d.]+s, [\d.e+-]+ tasks/s")


def ours(stderr):
    """mpisweep's lines; mpiexec adds its own block after a rank exits non-zero (here: 1)."""
    return [l for l in stderr.splitlines() if not l.startswith("-") and l.strip()
            and not re.match(r"(Primary job|a non-zero|mpiexec detected|the job to be|  Process"
                             r"|  Exit code)", l)]


def counts(archive):
    s = load(archive)["status"]
    return int((s == DONE).sum()), int((s == FAILED).sum())


def check_summary(text, archive, ran):
    m = re.search(SUMMARY, text)
    check(m, "closing summary line:\n" + text)
    done, failed = counts(archive)
    check([int(g) for g in m.groups()] == [done, 16, failed, 0, ran],
          "summary %s against the archive: %d done, %d failed" % (m.groups(), done, failed))
    check(failed > 0, "some noop tasks fail at fail_rate 0.5")


def in_terminal(argv):
    """Runs argv with a pty as its controlling terminal and stdio; returns (output, exit)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(os.getcwd())
        os.execvpe(argv[0], argv, ENV)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child side closed
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return out.decode(errors="replace"), os.waitstatus_to_exitcode(status)


def test_lines_under_mpiexec():
    workdir()
    # 13 tasks of 1 s of CPU on 2 workers: at least 6.5 s, so a line after the first 5 s.
    write("p.toml", SPEC.replace("400000", "1000000"))
    p = mpisweep("run", "p.toml", ranks=3, expect=1)
    lines = ours(p.stderr)
    check("\r" not in p.stderr and "\033" not in p.stderr, "no redraws in a pipe:\n" + p.stderr)
    check(re.fullmatch(STAMP + r"started: 16 of 16 tasks to run", lines[0]), lines[0])
    # A line drawn after the last result and before the summary has nothing left, so no ETA.
    periodic = [l for l in lines if re.fullmatch(
        STAMP + r"\d+/16 done, \d+ failed, [\d.e+-]+ tasks/s, ETA (<1s|\?|\d\S*)(; .*)?", l)
        or re.fullmatch(STAMP + r"(\d+)/16 done, (\d+) failed, [\d.e+-]+ tasks/s", l)
        and sum(map(int, re.match(STAMP + r"(\d+)/16 done, (\d+)", l).groups())) == 16]
    check(len(periodic) >= 1, "a timestamped progress line:\n" + p.stderr)
    check(all("ETA 0s" not in l for l in lines), "never ETA 0s:\n" + p.stderr)
    check(re.fullmatch(STAMP + SUMMARY, lines[-1]), "last line is the summary:\n" + p.stderr)
    check_summary(lines[-1], "results/progress.h5", 16)
    check(len(lines) == 2 + len(periodic), "only progress lines:\n" + p.stderr)

    # A resumed run counts what the earlier run settled and says how much is left.
    done, failed = counts("results/progress.h5")
    p = mpisweep("run", "p.toml", "--retries", "1", "--progress", "lines", ranks=3, expect=1)
    lines = ours(p.stderr)
    want = r"started: %d of 16 tasks to run \(%d done, 0 failed before\)" % (failed, done)
    check(re.fullmatch(STAMP + want, lines[0]), "%s\nwanted %s" % (lines[0], want))
    check_summary(lines[-1], "results/progress.h5", failed)


def test_none_prints_nothing():
    workdir()
    write("p.toml", SPEC.replace("400000", "1000").replace("0.0, 0.5", "0.0"))
    p = mpisweep("run", "p.toml", "--progress", "none", ranks=3)
    check(p.stderr == "" and p.stdout == "", "--progress none:\n%r\n%r" % (p.stdout, p.stderr))
    p = mpisweep("run", "p.toml", "--progress", "sometimes", ranks=3, expect=2)
    check("auto, bar, lines, none" in p.stderr, p.stderr)


def test_bar_in_a_terminal():
    workdir()
    # 13 tasks of 0.2 s of CPU on 2 workers: at least 1.3 s, five redraws at one every 0.25 s.
    write("p.toml", SPEC.replace("400000", "200000"))
    out, code = in_terminal(command(["run", "p.toml"], ranks=3))
    check(code == 1, "exit %d:\n%s" % (code, out))
    draws = out.split("\r\033[K")
    bars = [d for d in draws if re.match(r"mpisweep \[[#.]{24}\] \d+/16 done", d)]
    check(len(bars) >= 2, "the bar is redrawn in place through mpiexec:\n%r" % out)
    check(bars[0].startswith("mpisweep [........................] 0/16 done"), bars[0])
    check(all("ETA 0s" not in b for b in bars), "no ETA 0s:\n%r" % out)
    check("elapsed" not in out, "no timestamped lines in bar mode:\n%r" % out)
    check_summary(draws[-1], "results/progress.h5", 16)

    # From the same terminal with stderr sent to a file, nobody watches: lines, not a bar.
    workdir()
    write("p.toml", SPEC.replace("400000", "100000"))
    argv = command(["run", "p.toml"], ranks=3)
    out, code = in_terminal(["sh", "-c", 'exec "$@" 2>err.txt', "sh"] + argv)
    with open("err.txt") as f:
        err = f.read()
    check(code == 1 and "\r" not in err and re.match(STAMP + "started", err),
          "auto with 2>file from a terminal: exit %d\n%r" % (code, err))
    check_summary(err, "results/progress.h5", 16)


if __name__ == "__main__":
    main([test_lines_under_mpiexec, test_none_prints_nothing, test_bar_in_a_terminal])
