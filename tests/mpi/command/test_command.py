"""The command kind under mpiexec: a real program per task, its failures, timeouts that leave no
process behind, resume, rank-count independence and a stop signal."""
import json
import os
import signal
import sys
import time

from harness import *

PY = sys.executable

# The task program. It reads its parameters from stdin (and checks MPISWEEP_PARAMS says the same),
# logs "task_id pid" to $LEDGER when it starts, and behaves as its `mode` parameter says.
TASK = r'''
import json, os, random, signal, subprocess, sys, time
p = json.load(sys.stdin)
assert p == json.loads(os.environ["MPISWEEP_PARAMS"]), "stdin and MPISWEEP_PARAMS differ"
seed, tid = int(os.environ["MPISWEEP_SEED"]), os.environ["MPISWEEP_TASK_ID"]
with open(os.environ["LEDGER"], "a") as f:
    f.write("%s %d\n" % (tid, os.getpid()))
if "--x" in sys.argv:   # the placeholder form: argv must agree with the JSON
    a = sys.argv
    assert float(a[a.index("--x") + 1]) == p["x"] and a[a.index("--tid") + 1] == tid
    assert int(a[a.index("--seed") + 1]) == seed
    assert int(a[a.index("--threads") + 1]) == int(os.environ["OMP_NUM_THREADS"])
    assert os.path.basename(os.getcwd()) == tid, "runs inside its workdir"
mode = p["mode"]
x = p["x"]
rng = random.Random(seed * 7919 + int(x * 1000))
result = {"metrics": {"y": x * seed, "r": rng.random()},
          "series": {"curve": [x * i for i in range(seed)]}}
if mode == "ok":
    with open(os.environ["MPISWEEP_RESULT"], "w") as f:
        json.dump(result, f)
elif mode == "stdout":
    print("some chatter")
    print(json.dumps(result))
elif mode == "exit":
    print("boom: bad things", file=sys.stderr)
    sys.exit(5)
elif mode == "signal":
    os.kill(os.getpid(), signal.SIGKILL)
elif mode == "badjson":
    print("{not json")
elif mode == "missing":
    print(json.dumps({"metrics": {"y": 1.0}}))
elif mode == "fork":
    child = subprocess.Popen(["sleep", "60"])
    with open(os.path.join(os.environ["PIDS"], tid), "w") as f:
        f.write("%d %d\n" % (os.getpid(), child.pid))
    time.sleep(60)
elif mode == "sleep":
    time.sleep(p["sleep"])
    print(json.dumps(result))
'''


def spec(name, params, seeds=2, run=None, extra=""):
    run = run or [PY, "task.py"]
    return """[sweep]
name = "%s"
experiment = "command"
seeds = %d
[command]
run = %s
metrics = ["y", { name = "r", unit = "1", help = "a uniform draw from the seed" }]
series = ["curve"]
%s
[command.env]
LEDGER = "%s"
PIDS = "%s"
%s
""" % (name, seeds, json.dumps(run), extra, os.path.abspath("ledger"), os.path.abspath("pids"),
       params)


def setup():
    workdir()
    write("task.py", TASK)
    os.makedirs("pids")


def ledger():
    if not os.path.exists("ledger"):
        return []
    return [line.split() for line in open("ledger").read().splitlines()]


def gone(pid):
    """No running process with this pid (a zombie awaiting init's reaping counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def error_of(a, mode):
    modes = [m.decode() if isinstance(m, bytes) else m for m in a["params"]["mode"]]
    return [e.decode() for e, m in zip(a["error"], modes) if m == mode]


def test_done_and_every_way_to_fail():
    setup()
    write("s.toml", spec("f", '[params]\nx = 0.5\n[grid]\nmode = ["ok", "stdout", "exit", '
                         '"signal", "badjson", "missing"]\n'))
    mpisweep("run", "s.toml", ranks=3, expect=1)
    a = load("results/f.h5")
    modes = [m.decode() for m in a["params"]["mode"]]
    seeds = a["seed"]
    for i, m in enumerate(modes):
        want = DONE if m in ("ok", "stdout") else FAILED
        check(a["status"][i] == want, "%s: status %d" % (m, a["status"][i]))
        if want == DONE:
            # Independent of the program: y = x * seed, curve = x * i for i < seed.
            check(a["metrics"]["y"][i] == 0.5 * seeds[i], "y of %s" % m)
            check(list(a["series"]["curve"][i]) == [0.5 * k for k in range(seeds[i])], "curve")
            check(0 <= a["metrics"]["r"][i] < 1, "r")
    check(all(e == "exit status 5; stderr: boom: bad things" for e in error_of(a, "exit")),
          str(error_of(a, "exit")))
    check(all(e == "killed by SIGKILL" for e in error_of(a, "signal")), str(error_of(a, "signal")))
    check(all(e.startswith("stdout's last line: expected a string key at offset 1")
              for e in error_of(a, "badjson")), str(error_of(a, "badjson")))
    check(all(e == "stdout's last line: missing metric 'r' in the result"
              for e in error_of(a, "missing")), str(error_of(a, "missing")))
    check(len(ledger()) == 12, "every task ran once: %d" % len(ledger()))


def test_timeout_kills_child_and_grandchild():
    setup()
    write("s.toml", spec("t", '[params]\nx = 1.0\nmode = "fork"\n', extra="kill_grace = 0.5"))
    t0 = time.time()
    mpisweep("run", "s.toml", "--task-timeout", "1.5", ranks=2, expect=1)
    check(time.time() - t0 < 30, "timeouts end the tasks")
    a = load("results/t.h5")
    check((a["status"] == TIMEOUT).all(), "timeout status: %s" % a["status"])
    pids = [tuple(map(int, open(os.path.join("pids", f)).read().split()))
            for f in os.listdir("pids")]
    check(len(pids) == 2, "both tasks forked: %s" % pids)
    time.sleep(0.2)
    for parent, child in pids:
        check(gone(parent) and gone(child), "task %d or its child %d survived" % (parent, child))


def test_resume_skips_finished_tasks_and_run_edits_give_new_ids():
    setup()
    grid = '[params]\nx = 2.0\nmode = "ok"\n'
    write("s.toml", spec("r", grid, seeds=3))
    mpisweep("run", "s.toml", ranks=3)
    first = load("results/r.h5")
    check(len(ledger()) == 3, "3 tasks ran")
    write("s.toml", spec("r", grid, seeds=5))
    mpisweep("run", "s.toml", ranks=3)
    grown = load("results/r.h5")
    check(len(grown["id"]) == 5 and (grown["status"] == DONE).all(), "5 done")
    check(len(ledger()) == 5, "only the 2 new tasks ran: %d" % len(ledger()))
    check((grown["started"][:3] == first["started"]).all(), "old rows untouched")
    # Another argv template is another experiment: new ids, old rows stay.
    write("s.toml", spec("r", grid, seeds=5, run=[PY, "task.py", "--v2"]))
    mpisweep("run", "s.toml", ranks=3)
    edited = load("results/r.h5")
    check(len(edited["id"]) == 10, "5 new rows: %d" % len(edited["id"]))
    check(not set(edited["id"][5:]) & set(edited["id"][:5]), "new task ids")
    check((edited["started"][:5] == grown["started"]).all(), "old rows stay")
    check(len(ledger()) == 10, "the new template ran every task")


def test_two_and_four_ranks_give_identical_archives():
    setup()
    grid = '[params]\nmode = "ok"\n[grid]\nx = [0.25, 0.5, 1.0]\n'
    run = [PY, "task.py", "--x", "{x}", "--mode", "{mode}", "--seed", "{seed}", "--tid",
           "{task_id}", "--threads", "{threads}"]
    write("s.toml", spec("d", grid, seeds=3, run=run, extra='workdir = "runs/{task_id}"'))
    mpisweep("run", "s.toml", "--archive", "two.h5", ranks=2)
    mpisweep("run", "s.toml", "--archive", "four.h5", ranks=4)
    two, four = load("two.h5"), load("four.h5")
    check((two["status"] == DONE).all(), "all done: %s" % [e for e in two["error"] if e])
    check(len(by_id(two)) == 9 and by_id(two) == by_id(four), "bit-identical results")
    check(sorted(os.listdir("runs")) == sorted("%016x" % i for i in two["id"]),
          "one workdir per task, named by its id")


def test_sigterm_mid_run_then_resume():
    setup()
    write("s.toml", spec("g", '[params]\nx = 1.5\nmode = "sleep"\nsleep = 0.6\n', seeds=10))
    p = start("run", "s.toml", "--grace", "0", ranks=3)
    deadline = time.time() + 60
    while len(ledger()) < 4 and time.time() < deadline:
        time.sleep(0.05)
    kill_job(p, signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    # mpirun reports its own status for a signal it forwarded; mpisweep's is in /runs.
    check(p.returncode != 0 and "run the same command again to resume" in err, err)
    time.sleep(0.2)
    for tid, pid in ledger():
        check(gone(int(pid)), "task process %s survived the stop" % pid)
    a = load("results/g.h5")
    check(a["runs"]["exit_status"][-1] == 4, "the run row records exit 4")
    done_first = {int(i) for i, s in zip(a["id"], a["status"]) if s == DONE}
    check(0 < len(done_first) < 10, "stopped mid-run: %d done" % len(done_first))
    check(set(a["status"]) <= {DONE, PENDING}, "nothing failed: %s" % a["status"])
    mpisweep("run", "s.toml", ranks=3)
    b = load("results/g.h5")
    check(len(b["id"]) == 10 and (b["status"] == DONE).all(), "resume finishes the sweep")
    check(all(b["metrics"]["y"][i] == 1.5 * b["seed"][i] for i in range(10)), "right values")
    runs = {}
    for tid, pid in ledger():
        runs[int(tid, 16)] = runs.get(int(tid, 16), 0) + 1
    check(all(runs[t] == 1 for t in done_first), "finished tasks did not run again")


def test_bad_command_tables_are_exit_2_with_file_line():
    setup()
    cases = [
        ('run = ["prog", "{nope}"]\nmetrics = ["y"]', 6, "unknown placeholder {nope}"),
        ('run = ["prog"]\nmetrics = ["1st"]', 7, "'1st' is not an identifier"),
        ('run = ["prog", "{a}"]\nmetrics = ["y"]', 10, "parameter 'b' is used nowhere"),
        ('metrics = ["y"]', 5, "[command] needs run"),
        ('run = ["prog"]\nwhat = 1', 7, "unknown key 'what' in [command]"),
        ('run = ["prog"]\nworkdir = "runs/{a}"', 7, "must contain {task_id}"),
    ]
    for table, line, text in cases:
        write("b.toml", '[sweep]\nname = "b"\nexperiment = "command"\n\n[command]\n%s\n'
              '[params]\na = 1\nb = 2\n' % table)
        p = mpisweep("validate", "b.toml", expect=2)
        check(p.stderr.startswith("mpisweep: b.toml:%d: " % line) and text in p.stderr,
              "%r: %s" % (table, p.stderr))
        check(len(p.stderr.strip().splitlines()) == 1, "one line: " + p.stderr)
    write("b.toml", '[sweep]\nname = "b"\nexperiment = "noop"\n[command]\nrun = ["x"]\n')
    p = mpisweep("validate", "b.toml", expect=2)
    check("b.toml:4: [command] is only for experiment = \"command\"" in p.stderr, p.stderr)


def test_parameter_types_come_from_the_values():
    setup()
    # The program reports 1 when the JSON it gets has the types the values declare.
    probe = ("import json, sys; p = json.load(sys.stdin); ok = isinstance(p['x'], float) and "
             "type(p['n']) is int and p['flag'] is True and p['opt'] in ('a', 'b'); "
             "print(json.dumps({{'metrics': {{'y': 1.0 if ok else 0.0}}}}))")
    head = '[sweep]\nname = "v"\nexperiment = "command"\n[command]\nrun = %s\nmetrics = ["y"]\n' % (
        json.dumps([PY, "-c", probe]))
    write("v.toml", head + '[params]\nflag = true\n[grid]\nx = [1, 2.5]\nn = [1, 2]\n'
          'opt = ["a", "b"]\n')
    mpisweep("run", "v.toml", ranks=2)
    a = load("results/v.h5")
    check(len(a["id"]) == 8 and (a["metrics"]["y"] == 1.0).all(), "typed JSON: %s" % a["error"])
    check(a["params"]["x"].dtype.kind == "f" and a["params"]["n"].dtype.kind == "i",
          "typed columns: %s %s" % (a["params"]["x"].dtype, a["params"]["n"].dtype))
    cases = [('[grid]\nx = [1, "a"]\n', "v.toml:8: parameter 'x': values of different types"),
             ('[params]\nseed = 3\n', "v.toml:8: parameter 'seed': the name is reserved"),
             ('[random]\ncount = 2\nz = { uniform = [0, 1] }\n[params]\nz = 1\n',
              "parameter 'z' is also given at")]
    for table, text in cases:
        write("v.toml", head + table)
        p = mpisweep("validate", "v.toml", expect=2)
        check(text in p.stderr, "%r: %s" % (table, p.stderr))


if __name__ == "__main__":
    main([test_done_and_every_way_to_fail, test_timeout_kills_child_and_grandchild,
          test_resume_skips_finished_tasks_and_run_edits_give_new_ids,
          test_two_and_four_ranks_give_identical_archives, test_sigterm_mid_run_then_resume,
          test_bad_command_tables_are_exit_2_with_file_line,
          test_parameter_types_come_from_the_values])
