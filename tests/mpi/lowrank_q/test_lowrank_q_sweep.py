"""lowrank_q end to end: a small sweep under mpiexec, its archive checked with h5py (rows,
statuses, sane metrics, the exact sample-count formula), thread-count independence through the
whole stack, and parameter errors reported with file:line."""
import os

from harness import *

PARAMS = ["env", "preset", "n_s", "n_a", "gamma", "sigma", "quadrature", "method", "iterations",
          "samples", "anchors", "rank", "estimator", "anchor_rule"]
TIMING = {"qstar_seconds"}  # wall-clock metrics: outside the determinism contract

SPEC = """
[sweep]
name = "lrq"
experiment = "lowrank_q"
seeds = 2

[params]
n_s = 9
n_a = 10
iterations = 12
rank = 2

[grid]
env = ["double_integrator", "pendulum"]
samples = [2, 3]

[zip]
method = ["exact", "full", "lowrank", "lowrank"]
anchors = [4, 4, 4, 6]
anchor_rule = ["random", "random", "random", "spread"]
"""
N_TASKS = 2 * 2 * 4 * 2


def text(col):
    return [x.decode() if isinstance(x, bytes) else str(x) for x in col]


def test_sweep_archive():
    workdir()
    write("lrq.toml", SPEC)
    mpisweep("run", "lrq.toml", "--archive", "lrq.h5", ranks=3)
    a = load("lrq.h5")
    check(len(a["id"]) == N_TASKS, "%d rows expected, got %d" % (N_TASKS, len(a["id"])))
    check((a["status"] == DONE).all(), "every task done: %s" % a["status"])
    check(len(set(a["id"])) == N_TASKS, "distinct task ids")
    for name in PARAMS:
        check(name in a["params"], "params column %s" % name)
    m, p, s = a["metrics"], a["params"], a["series"]
    method, env = text(p["method"]), text(p["env"])
    for k in ("q_error_inf", "q_error_rel", "samples_total", "policy_agreement", "qstar_rank99",
              "qstar_rank999", "return_mean", "policy_loss", "policy_loss_mean",
              "advantage_error_inf", "anchor_condition", "qstar_quadrature_error"):
        check(np.isfinite(m[k]).all(), "%s finite: %s" % (k, m[k]))
    for i in range(N_TASKS):
        n_states, n_a, T = p["n_s"][i] ** 2, p["n_a"][i], p["iterations"][i]
        N, K = p["samples"][i], p["anchors"][i]
        if method[i] == "exact":
            expected = 0
        elif method[i] == "full":
            expected = T * N * n_states * n_a
        else:  # T·N·(|S|K + K|A| − K²)
            expected = T * N * (n_states * K + K * n_a - K * K)
        check(m["samples_total"][i] == expected,
              "row %d (%s): samples_total %s, formula %d" % (i, method[i], m["samples_total"][i], expected))
        err = s["error_by_iteration"][i]
        cum = s["samples_by_iteration"][i]
        sv = s["qstar_singular_values"][i]
        check(len(sv) == n_a and (np.diff(sv) <= 1e-9 * sv[0]).all(), "singular values, descending")
        check(1 <= m["qstar_rank99"][i] <= m["qstar_rank999"][i] <= n_a, "energy ranks ordered")
        check(0 <= m["policy_agreement"][i] <= 1, "policy agreement is a fraction")
        check(m["policy_loss"][i] >= m["policy_loss_mean"][i] >= -1e-9,
              "policy loss >= its mean >= 0")
        check(len(s["greedy_action"][i]) == 2500, "greedy_action is the 50 x 50 heatmap")
        if method[i] == "exact":
            check(m["q_error_inf"][i] == 0 and m["policy_agreement"][i] == 1, "exact is Q*")
            check(abs(m["policy_loss"][i]) < 1e-9, "greedy(Q*) loses nothing")
            check(np.array_equal(s["greedy_action"][i], s["qstar_greedy_action"][i]), "same map")
            check(err[-1] < 1e-8, "exact sweeps converge")
        else:
            check(len(err) == T and len(cum) == T, "one error and sample count per round")
            check(err[-1] == m["q_error_inf"][i], "last error is the metric")
            check(cum[-1] == expected and (np.diff(cum) > 0).all(), "cumulative samples")
            check(0 < m["q_error_inf"][i] < 1e3, "Monte Carlo error sane: %s" % m["q_error_inf"][i])
    # Q* depends on (env, n_s, n_a, gamma, sigma) only: every row of an env shares its spectrum.
    for e in set(env):
        rows = [i for i in range(N_TASKS) if env[i] == e]
        ref = s["qstar_singular_values"][rows[0]]
        check(all(np.array_equal(s["qstar_singular_values"][i], ref) for i in rows),
              "one Q* per env")
    # q_error_rel = q_error_inf / ‖Q*‖∞: the same ratio on every Monte Carlo row of an env.
    for e in set(env):
        ratio = [m["q_error_rel"][i] / m["q_error_inf"][i] for i in range(N_TASKS)
                 if env[i] == e and method[i] != "exact"]
        check(np.allclose(ratio, ratio[0], rtol=1e-12), "q_error_rel / q_error_inf constant")
    # Seeds differ, so Monte Carlo rows of the same point differ between seeds.
    mc = [i for i in range(N_TASKS) if method[i] != "exact"]
    check(len(set(m["q_error_inf"][mc])) > len(mc) // 2, "seeds change the Monte Carlo runs")


def test_thread_budget_does_not_change_results():
    workdir()
    write("lrq.toml", SPEC)
    mpisweep("run", "lrq.toml", "--archive", "t1.h5", "--threads-per-worker", 1, ranks=2)
    mpisweep("run", "lrq.toml", "--archive", "t2.h5", "--threads-per-worker", 2, ranks=2)
    def deterministic(path):
        a = load(path)
        for k in TIMING:
            del a["metrics"][k]
        return by_id(a)
    check(deterministic("t1.h5") == deterministic("t2.h5"), "1 and 2 threads per worker: same bits")


def test_bad_parameters_are_named():
    workdir()
    write("bad.toml", SPEC.replace("rank = 2", "rank = 5"))  # rank > anchors = 4
    p = mpisweep("validate", "bad.toml", expect=2)
    check("bad.toml:" in p.stderr and "rank" in p.stderr, "file:line and 'rank': %s" % p.stderr)
    write("bad.toml", SPEC.replace("n_s = 9", "n_s = 9\ngamma = 1.0"))
    p = mpisweep("validate", "bad.toml", expect=2)
    check("gamma" in p.stderr, "names gamma: %s" % p.stderr)
    check(not os.path.exists("results"), "nothing written")


def test_experiments_lists_the_schema():
    workdir()
    p = mpisweep("experiments", "lowrank_q")
    for word in PARAMS + ["double_integrator", "(0, 1)", "q_error_inf", "samples_total",
                          "error_by_iteration", "qstar_singular_values"]:
        check(word in p.stdout, "experiments lowrank_q shows %s:\n%s" % (word, p.stdout))


if __name__ == "__main__":
    main([test_sweep_archive, test_thread_budget_does_not_change_results,
          test_bad_parameters_are_named, test_experiments_lists_the_schema])
