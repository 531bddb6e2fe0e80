"""[sweep] order = "longest_first": tasks start longest first (from a cost parameter or measured
durations), results are identical to index order, and bad keys get one line naming file:line."""
from harness import *

# Seed-major index order runs work_us 0, 2000, 30000 for seed 1, then for seed 2, ...
SPEC = """[sweep]
name = "o"
experiment = "noop"
seeds = 3
%s
[grid]
work_us = [0, 2000, 30000]
"""


def started_work(archive):
    """work_us of each task in the order the tasks started."""
    order = sorted(range(len(archive["id"])), key=lambda i: archive["started"][i])
    return [int(archive["params"]["work_us"][i]) for i in order]


def test_cost_hint_starts_the_longest_tasks_first_with_the_same_results():
    workdir()
    write("index.toml", SPEC % "")
    write("hint.toml", SPEC % 'order = "longest_first"\ncost = "work_us"')
    write("measured.toml", SPEC % 'order = "longest_first"')
    # One worker: tasks start one after another, in the order the master hands them out.
    mpisweep("run", "index.toml", "--archive", "index.h5", ranks=2)
    mpisweep("run", "hint.toml", "--archive", "hint.h5", ranks=2)
    index, hint = load("index.h5"), load("hint.h5")
    check(started_work(index)[:3] == [0, 2000, 30000], "index order: %s" % started_work(index))
    check(started_work(hint) == [30000] * 3 + [2000] * 3 + [0] * 3,
          "longest first by work_us: %s" % started_work(hint))
    mpisweep("run", "measured.toml", "--archive", "measured.h5", ranks=3)
    mpisweep("run", "hint.toml", "--archive", "hint3.h5", ranks=3)
    expected = by_id(index)
    check(len(expected) == 9, "9 tasks done")
    for name in ("hint.h5", "hint3.h5", "measured.h5"):
        check(by_id(load(name)) == expected, name + ": results differ from index order")


def test_bad_order_and_cost_are_one_line_naming_the_line():
    workdir()
    cases = [('order = "fastest"', "s.toml:5", "'order'"),
             ('order = "longest_first"\ncost = "speed"', "s.toml:6", "work_us, payload"),
             ('cost = "work_us"', "s.toml:5", "longest_first")]
    for line, where, what in cases:
        write("s.toml", SPEC % line)
        p = mpisweep("run", "s.toml", expect=2)
        err = p.stderr.strip()
        check(len(err.splitlines()) == 1, "one line: " + err)
        check(where in err and what in err, "names %s and %s: %s" % (where, what, err))


if __name__ == "__main__":
    main([test_cost_hint_starts_the_longest_tasks_first_with_the_same_results,
          test_bad_order_and_cost_are_one_line_naming_the_line])
