"""mpisweep.task is a function of the environment and stdin: each case runs a real Python process
with the environment and stdin mpisweep gives a command task (design.md "Your own experiments"),
and examples/python_task/task.py is checked against its closed form."""
import json
import os
import subprocess
import sys

import harness
from harness import check

PACKAGE = os.path.join(harness.SOURCE_DIR, "python")
EXAMPLE = os.path.join(harness.SOURCE_DIR, "examples", "python_task", "task.py")
CLEAN = {k: v for k, v in os.environ.items() if not k.startswith("MPISWEEP_")}


def py(code=None, script=None, env=None, stdin=""):
    e = dict(CLEAN, PYTHONPATH=PACKAGE, **(env or {}))
    args = [sys.executable, script] if script else [sys.executable, "-c", code]
    return subprocess.run(args, input=stdin, capture_output=True, text=True, env=e, timeout=60)


def test_params_from_env_and_stdin():
    code = "from mpisweep import task; import json; print(json.dumps(task.params()))"
    p = py(code, env={"MPISWEEP_PARAMS": '{"lr": 0.5, "depth": 3, "on": true, "m": "x"}'},
           stdin='{"lr": 9}')
    check(json.loads(p.stdout) == {"lr": 0.5, "depth": 3, "on": True, "m": "x"},
          p.stdout + p.stderr)
    p = py(code, stdin='{"lr": 0.25}')
    check(json.loads(p.stdout) == {"lr": 0.25}, p.stdout + p.stderr)
    p = py(code, stdin="not json")
    check(p.returncode != 0 and "stdin is not JSON" in p.stderr, p.stderr)
    p = py(code, env={"MPISWEEP_PARAMS": "[1, 2]"})
    check(p.returncode != 0 and "not a JSON object" in p.stderr, p.stderr)


def test_seed_threads_id():
    code = ("from mpisweep import task; print(task.seed(), task.threads(), task.task_id())")
    p = py(code, env={"MPISWEEP_SEED": "18446744073709551615", "MPISWEEP_THREADS": "4",
                      "MPISWEEP_TASK_ID": "00ff00ff00ff00ff"})
    check(p.stdout.split() == ["18446744073709551615", "4", "00ff00ff00ff00ff"],
          p.stdout + p.stderr)
    p = py("from mpisweep import task; task.seed()")
    check(p.returncode != 0 and "MPISWEEP_SEED is not set" in p.stderr, p.stderr)
    p = py("from mpisweep import task; print(task.seed(7), task.threads())")
    check(p.stdout.split() == ["7", "1"], p.stdout)
    p = py("from mpisweep import task; task.threads()", env={"MPISWEEP_THREADS": "two"})
    check(p.returncode != 0 and "MPISWEEP_THREADS='two' is not an integer" in p.stderr, p.stderr)


def test_report_to_file_and_stdout():
    harness.workdir()
    code = ("from mpisweep import task; print('chatter'); "
            "task.report(metrics={'loss': 0.1, 'n': 3, 'ok': True}, series={'c': [1, 2.5]})")
    result = os.path.abspath("result.json")
    p = py(code, env={"MPISWEEP_RESULT": result})
    check(p.returncode == 0, p.stderr)
    with open(result) as f:
        got = json.load(f)
    check(got == {"metrics": {"loss": 0.1, "n": 3.0, "ok": 1.0}, "series": {"c": [1.0, 2.5]}},
          got)
    check(sorted(os.listdir(".")) == ["result.json"], "temporary files left: %s" % os.listdir("."))
    check(p.stdout == "chatter\n", "nothing printed when writing the file: %r" % p.stdout)
    # Without MPISWEEP_RESULT: the last line of stdout, exactly the same object.
    p = py(code)
    check(json.loads(p.stdout.splitlines()[-1]) == got, p.stdout)
    # Doubles survive the trip bit for bit.
    p = py("from mpisweep import task; task.report(metrics={'x': 0.1 + 0.2, 'y': 1e-310})")
    m = json.loads(p.stdout)["metrics"]
    check(m["x"] == 0.1 + 0.2 and m["y"] == 1e-310, m)


def test_report_rejects_bad_values():
    for bad, words in [("{'loss': float('nan')}", "finite"), ("{'loss': 'high'}", "not a number"),
                       ("{'loss': [1, 2]}", "not a number")]:
        p = py("from mpisweep import task; task.report(metrics=%s)" % bad,
               env={"MPISWEEP_RESULT": os.path.abspath("bad.json")})
        check(p.returncode != 0 and words in p.stderr and "'loss'" in p.stderr, p.stderr)
        check(not os.path.exists("bad.json"), "a rejected result left a file")
    p = py("from mpisweep import task; task.report(series={'c': [1, float('inf')]})")
    check(p.returncode != 0 and "series 'c'[1]" in p.stderr, p.stderr)


def test_example_task_closed_form():
    # No noise: x_k = (1 - lr)^k, loss_k = x_k^2 / 2; the first loss below 1e-3 comes at the
    # smallest k with (1 - lr)^(2k) / 2 < 1e-3.
    lr, steps = 0.2, 30
    p = py(script=EXAMPLE, env={"MPISWEEP_SEED": "3"},
           stdin=json.dumps({"lr": lr, "steps": steps, "noise": 0.0}))
    check(p.returncode == 0, p.stderr)
    r = json.loads(p.stdout.splitlines()[-1])
    expect = [0.5 * (1 - lr) ** (2 * k) for k in range(steps + 1)]
    check(len(r["series"]["loss"]) == steps + 1, r)
    check(all(abs(a - b) <= 1e-14 * b for a, b in zip(r["series"]["loss"], expect)), r)
    first = next(k for k, v in enumerate(expect) if v < 1e-3)
    check(r["metrics"]["steps_to_tol"] == first, (r["metrics"], first))
    # With noise: a function of (parameters, seed) alone; another seed gives other numbers.
    run = lambda seed: py(script=EXAMPLE, env={"MPISWEEP_SEED": str(seed)},
                          stdin=json.dumps({"lr": 0.5, "steps": 20, "noise": 0.1})).stdout
    check(run(1) == run(1) and run(1) != run(2), "seeded noise")


if __name__ == "__main__":
    harness.workdir()
    harness.main([test_params_from_env_and_stdin, test_seed_threads_id,
                  test_report_to_file_and_stdout, test_report_rejects_bad_values,
                  test_example_task_closed_form])
