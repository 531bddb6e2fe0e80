// The two closure heads (mlp.hpp ClosureHead): the bounded default vanishes at isotropy and
// saturates in strong flow, the unbounded one does neither; both fit a made-up closure, and the
// unbounded head runs through the whole `active` scenario, bit-identical for any thread count.
#include <gtest/gtest.h>

#include "made_up_closure.hpp"

#include <cmath>
#include <map>
#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/kinetic_closure/mlp.hpp>
#include <mpisweep/experiments/registry.hpp>
#include <numbers>
#include <set>

using namespace mpisweep;
using namespace mpisweep::kinetic;

namespace {
constexpr double pi = std::numbers::pi;

// Eigenframe harmonic at a point with D diagonal (D11 > D22, so φ = 0 and lab = eigenframe),
// c = 1, order r, strain rate E11 = e, vorticity w.
Harmonic4 at(const NnClosure& nn, double r, double e, double w) {
  const double c = 1, dxx = 0.5 * (1 + r), dxy = 0, dyy = 0.5 * (1 - r);
  const double gxx = e, gxy = -0.5 * w, gyx = 0.5 * w;
  Harmonic4 out;
  nn.evaluate({&c, &dxx, &dxy, &dyy, &gxx, &gxy, &gyx}, 0, 1, &out);
  return out;
}

double relative_error(const NnClosure& nn, const Samples& s) {
  const auto h = nn.evaluate(s);
  double num = 0, den = 0;
  for (std::size_t p = 0; p < s.size(); ++p) {
    num += std::pow(h[p].c4 - s.c4[p] / s.c[p], 2) + std::pow(h[p].s4 - s.s4[p] / s.c[p], 2);
    den += std::pow(s.c4[p] / s.c[p], 2) + std::pow(s.s4[p] / s.c[p], 2);
  }
  return std::sqrt(num / den);
}
}  // namespace

// The skip adds parameters after the others and starts at zero: the same seed draws the same
// hidden weights, and with A = 0 the output is the network's alone.
TEST(ClosureHead, SkipStartsAtZeroAndKeepsTheOtherWeights) {
  Rng a(7), b(7);
  const Mlp plain({5, 8, 8, 3}, a, 0.1), skip({5, 8, 8, 3}, b, 0.1, true);
  ASSERT_EQ(skip.params().size(), plain.params().size() + 3 * 5);
  EXPECT_TRUE(skip.params().head(plain.params().size()) == plain.params());
  EXPECT_TRUE(skip.params().tail(15).isZero(0));
  Eigen::MatrixXd X = Eigen::MatrixXd::Random(5, 4);
  EXPECT_TRUE(skip.forward(X) == plain.forward(X));
}

// What "bounded" means, on a network with random (not fitted) weights: the bounded head's C̃4 is
// r² times a bounded function, so it vanishes at isotropy and saturates as the vorticity grows;
// the unbounded heads' C̃4 stays O(1) at r → 0 and grows like ω² (the ω² feature through the
// skip, and through the ReLU units for unbounded_relu).
TEST(ClosureHead, BoundedVanishesAtIsotropyAndSaturatesUnboundedDoesNeither) {
  for (ClosureHead head :
       {ClosureHead::bounded, ClosureHead::unbounded, ClosureHead::unbounded_relu}) {
    Rng rng(11);
    NnClosure nn(ClosureModel::direct, ClosureInputs::mu1_EW, false, 8, 2, rng, head);
    for (Eigen::Index i = 0; i < nn.net().params().size(); ++i) nn.net().params()[i] = rng.normal();
    const double iso = std::abs(at(nn, 1e-4, 0.2, 0.3).c4);
    const double w1 = std::abs(at(nn, 0.5, 0.2, 1e2).c4), w2 = std::abs(at(nn, 0.5, 0.2, 1e4).c4);
    if (head == ClosureHead::bounded) {
      EXPECT_LT(iso, 1e-6);                             // ≤ r² (|b0| + σ0 |y|) with |y| = O(10)
      EXPECT_LT(std::abs(w2 - w1), 1e-2 * w1 + 1e-12);  // softsign saturated
    } else {
      EXPECT_GT(iso, 1e-3);
      EXPECT_GT(w2, 1e3 * w1);  // ≈ 1e4: quadratic in ω
    }
  }
}

// Both heads fit a closure that is neither Bingham nor their initial head, to within a few
// percent: the comparison of their a-posteriori behaviour is between networks that fit equally.
TEST(ClosureHead, BothHeadsFitAMadeUpClosure) {
  Rng data(12);
  const Samples s = test::made_up_closure(data, 1024);
  std::map<ClosureHead, double> err;
  for (ClosureHead head :
       {ClosureHead::bounded, ClosureHead::unbounded, ClosureHead::unbounded_relu}) {
    Rng init(1), shuffle(2);
    ThreadPool pool(1);
    NnClosure nn(ClosureModel::direct, ClosureInputs::mu1_EW, false, 16, 2, init, head);
    NnClosure untrained = nn;
    Rng shuffle0(2);
    untrained.train(s, {.epochs = 0}, shuffle0, pool);
    nn.train(s, {.epochs = 150, .batch = 64, .learning_rate = 3e-3}, shuffle, pool);
    err[head] = relative_error(nn, s);
    EXPECT_LT(err[head], 0.2 * relative_error(untrained, s));
  }
  EXPECT_LT(err[ClosureHead::bounded], 0.03);
  EXPECT_LT(err[ClosureHead::unbounded], 0.05);
  EXPECT_LT(err[ClosureHead::unbounded_relu], 0.05);
}

// The unbounded head through the registered experiment: a short active run (as in
// experiment_test.cpp), its network differs from the bounded one's, its time-stepping training
// lowers its loss, and the run is bit-identical on 1 and 2 threads.
TEST(ClosureHead, ActiveRunWithTheUnboundedHeadIsThreadIndependent) {
  const Experiment& kc = find_experiment("kinetic_closure");
  auto run = [&](const std::string& head, int threads) {
    Params g;
    for (const auto& [k, v] :
         std::initializer_list<std::pair<std::string, Value>>{{"N", std::int64_t{16}},
                                                              {"Ntheta", std::int64_t{13}},
                                                              {"dt", 0.05},
                                                              {"perturbation", 0.05},
                                                              {"t_spinup", 24.0},
                                                              {"t_final", 40.0},
                                                              {"snapshot_every", 1.0},
                                                              {"epochs", std::int64_t{40}},
                                                              {"train_points", std::int64_t{2048}},
                                                              {"hidden", std::int64_t{16}},
                                                              {"closure_head", head}})
      g.set(k, v);
    const Params p = resolve_params(kc.params, g);
    kc.check(p);
    RunContext ctx;
    ctx.seed = 42;
    ctx.threads = threads;
    return kc.run(p, ctx);
  };
  const Result u = run("unbounded", 1), b = run("bounded", 1);
  for (const auto& name : {"apriori_error_nn", "apriori_error_nn_apriori_only", "order_nn",
                           "order_nn_apriori_only", "ts_loss_first", "ts_loss_final"})
    EXPECT_TRUE(std::isfinite(u.metrics.at(name))) << name;
  EXPECT_NE(u.metrics.at("apriori_error_nn"), b.metrics.at("apriori_error_nn"));
  EXPECT_LT(u.metrics.at("apriori_error_nn"), u.metrics.at("apriori_error_nn_untrained"));
  EXPECT_LT(u.metrics.at("ts_loss_final"), u.metrics.at("ts_loss_first"));
  std::set<std::string> timing;
  for (const auto& m : kc.metrics)
    if (m.timing) timing.insert(m.name);
  const Result u2 = run("unbounded", 2);
  for (const auto& [name, v] : u.metrics)
    if (!timing.count(name)) {
      EXPECT_TRUE(v == u2.metrics.at(name) || (std::isnan(v) && std::isnan(u2.metrics.at(name))))
          << name;
    }
  for (const auto& [name, v] : u.series) EXPECT_EQ(v, u2.series.at(name)) << name;
}
