"""moe_cl end to end: a small experts x terminate sweep under mpiexec, its archive checked with
h5py against invariants of the model (series end at the metrics, routing counts add up to T, one
expert makes the gate irrelevant, runs share tasks and gate until T1), rank-count independence,
and parameter errors that name the parameter."""
import os

from harness import *

PARAMS = ["d", "s", "clusters", "experts", "sigma", "beta", "eta", "alpha", "lambda", "T", "T1",
          "terminate", "termination", "Gamma", "aux_loss", "record_every"]
METRICS = ["F_T", "G_T", "convergence_round", "gate_stop_round", "cluster_coverage",
           "expert_purity", "load_max_over_mean"]

T, T1, EVERY, CLUSTERS = 300, 60, 30, 4
SPEC = """
[sweep]
name = "moe"
experiment = "moe_cl"
seeds = 3

[params]
T = %d
T1 = %d
record_every = %d
clusters = %d

[grid]
experts = [1, 4]
terminate = [true, false]
termination = ["paper", "fixed"]
""" % (T, T1, EVERY, CLUSTERS)
N_TASKS = 2 * 2 * 2 * 3


def test_sweep_archive():
    workdir()
    write("moe.toml", SPEC)
    mpisweep("run", "moe.toml", "--archive", "moe.h5", ranks=3)
    a = load("moe.h5")
    n = len(a["id"])
    check(n == N_TASKS, "%d rows expected, got %d" % (N_TASKS, n))
    check((a["status"] == DONE).all(), "every task done: %s" % a["status"])
    for name in PARAMS:
        check(name in a["params"], "params column %s" % name)
    for name in METRICS:
        check(name in a["metrics"], "metrics column %s" % name)
    p, m, s = a["params"], a["metrics"], a["series"]
    experts = p["experts"].astype(int)
    term = p["terminate"].astype(bool)
    for i in range(n):
        M = experts[i]
        for k in METRICS:
            check(np.isfinite(m[k][i]), "row %d: %s finite" % (i, k))
        F, G, counts = s["F_t"][i], s["G_t"][i], s["routing_counts"][i]
        check(len(F) == T // EVERY and len(G) == T // EVERY, "row %d: T/record_every points" % i)
        check(abs(F[-1] - m["F_T"][i]) <= 1e-12 and abs(G[-1] - m["G_T"][i]) <= 1e-12,
              "row %d: the series end at F_T, G_T" % i)
        check(len(counts) == CLUSTERS * M, "row %d: clusters x experts counts" % i)
        check(counts.sum() == T, "row %d: every round routed once" % i)
        load_ = counts.reshape(CLUSTERS, M).sum(axis=0)  # row-major: cluster x expert
        check(abs(m["load_max_over_mean"][i] - load_.max() * M / T) < 1e-12,
              "row %d: load_max_over_mean from the counts" % i)
        check(m["G_T"][i] >= 0 and 0 < m["cluster_coverage"][i] <= 1
              and 1.0 / CLUSTERS <= m["expert_purity"][i] <= 1, "row %d: ranges" % i)
        stop, conv = m["gate_stop_round"][i], m["convergence_round"][i]
        check(0 <= conv <= stop <= T, "row %d: convergence_round <= gate_stop_round <= T" % i)
        if M > 1 and not term[i]:
            check(stop == T, "row %d: no termination, the gate learns to the end" % i)
        if M > 1 and term[i] and p["termination"][i] in (b"fixed", "fixed"):
            check(stop == T1, "row %d: fixed rule stops at T1" % i)
        if M > 1 and term[i]:
            check(stop >= T1, "row %d: no rule stops before T1" % i)
    seeds = a["seed"]
    for seed in set(seeds):
        rows = {(experts[i], term[i]): i for i in range(n)
                if seeds[i] == seed and p["termination"][i] in (b"paper", "paper")}
        one_on, one_off = rows[(1, True)], rows[(1, False)]
        # One expert: the gate is irrelevant, so termination changes nothing.
        for k in METRICS:
            check(m[k][one_on] == m[k][one_off],
                  "seed %d, M 1: %s equal with/without termination" % (seed, k))
        check(m["convergence_round"][one_on] == 0 and m["gate_stop_round"][one_on] == 0,
              "one expert: no gate update, no map change")
        # Same seed: same tasks; the two M = 4 runs share the gate up to T1.
        four_on, four_off = rows[(4, True)], rows[(4, False)]
        k = T1 // EVERY
        check(np.array_equal(s["G_t"][four_on][:k], s["G_t"][four_off][:k]),
              "seed %d: G_t identical up to T1" % seed)
        check(not np.array_equal(s["G_t"][four_on], s["G_t"][four_off]),
              "seed %d: termination changes the run after T1" % seed)
    # Mixture against one expert, over the three seeds: a clear gap even on so few rounds.
    g1 = m["G_T"][(experts == 1)].mean()
    g4 = m["G_T"][(experts == 4) & term].mean()  # both rules
    check(g4 < g1, "mixture generalises better than one expert: %.3f vs %.3f" % (g4, g1))
    # Rank count does not change a bit.
    mpisweep("run", "moe.toml", "--archive", "moe2.h5", ranks=2)
    check(by_id(load("moe2.h5")) == by_id(a), "2 and 3 ranks: same bits")


def test_bad_parameters_are_named():
    workdir()
    write("bad.toml", SPEC.replace("T1 = %d" % T1, "T1 = %d\ns = 20" % T1))  # s = d
    p = mpisweep("validate", "bad.toml", expect=2)
    check("bad.toml" in p.stderr and "'s'" in p.stderr, "file and 's': %s" % p.stderr)
    write("bad.toml", SPEC.replace("experts = [1, 4]", "experts = [0, 4]"))
    p = mpisweep("validate", "bad.toml", expect=2)
    check("experts" in p.stderr, "names experts: %s" % p.stderr)
    write("ok.toml", SPEC)
    p = mpisweep("run", "ok.toml", "--set", "T1=5000", expect=2)
    check("T1" in p.stderr, "names T1: %s" % p.stderr)
    check(not os.path.exists("results"), "nothing written")


def test_experiments_lists_the_schema():
    workdir()
    p = mpisweep("experiments", "moe_cl")
    for word in PARAMS + METRICS + ["F_t", "G_t", "routing_counts", "row-major", "1000", "0.02",
                                    "paper", "fixed", "averaged"]:
        check(word in p.stdout, "experiments moe_cl shows %s:\n%s" % (word, p.stdout))


if __name__ == "__main__":
    main([test_sweep_archive, test_bad_parameters_are_named, test_experiments_lists_the_schema])
