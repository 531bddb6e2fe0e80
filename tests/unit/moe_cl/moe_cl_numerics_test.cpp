// The building blocks of moe_cl against closed forms and invariants: the min-norm expert update,
// the gate loss and its gradient, the metrics against a direct recomputation.
#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/moe_cl/moe_cl.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>

namespace mpisweep::moe_cl {
namespace {

Eigen::MatrixXd gaussian(Rng& rng, Eigen::Index rows, Eigen::Index cols, double sd = 1.0) {
  Eigen::MatrixXd a(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j)
    for (Eigen::Index i = 0; i < rows; ++i) a(i, j) = sd * rng.normal();
  return a;
}

TEST(MoeClMinNorm, InterpolatesAndMovesByTheLeastNorm) {
  Rng rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    const Eigen::Index d = 20, s = 1 + trial % 12;
    const Eigen::MatrixXd X = gaussian(rng, d, s);
    const Eigen::VectorXd y = gaussian(rng, s, 1);
    const Eigen::VectorXd w = gaussian(rng, d, 1);
    const Eigen::VectorXd w1 = min_norm_update(X, y, w);

    // Interpolation: Xᵀw' = y.
    EXPECT_LT((X.transpose() * w1 - y).norm(), 1e-10 * (1 + y.norm()));
    // Closed form of the step length: ‖w' − w‖² = rᵀ(XᵀX)⁻¹r with r = y − Xᵀw.
    const Eigen::VectorXd r = y - X.transpose() * w;
    const double step2 = r.dot((X.transpose() * X).ldlt().solve(r));
    EXPECT_NEAR((w1 - w).squaredNorm(), step2, 1e-9 * (1 + step2));
    // The step lies in range(X): its component in null(Xᵀ) vanishes ...
    const Eigen::MatrixXd Q = X.householderQr().householderQ() * Eigen::MatrixXd::Identity(d, s);
    const Eigen::VectorXd step = w1 - w;
    EXPECT_LT((step - Q * (Q.transpose() * step)).norm(), 1e-10 * (1 + step.norm()));
    // ... so every other interpolant w' + z, z ∈ null(Xᵀ), is farther from w.
    for (int k = 0; k < 5; ++k) {
      const Eigen::VectorXd g = gaussian(rng, d, 1);
      const Eigen::VectorXd z = g - Q * (Q.transpose() * g);
      EXPECT_LT((X.transpose() * (w1 + z) - y).norm(), 1e-9);
      EXPECT_GT((w1 + z - w).norm(), (w1 - w).norm());
    }
    // A model that already interpolates the task does not move.
    EXPECT_LT((min_norm_update(X, y, w1) - w1).norm(), 1e-10);
  }
}

TEST(MoeClGate, LossAtZeroGateIsTheMeanWeight) {
  // Θ = 0 gives π uniform, so L = (1/M) Σ_m c_m, c_m = ‖Δw^(m)‖ + a_m.
  const int M = 5;
  const Eigen::MatrixXd theta = Eigen::MatrixXd::Zero(8, M);
  Eigen::VectorXd xbar = Eigen::VectorXd::LinSpaced(8, -1, 2);
  Eigen::VectorXd dw = Eigen::VectorXd::Zero(M);
  dw[2] = 1.5;
  Eigen::VectorXd f(M);
  f << 0.1, 0.2, 0.3, 0.25, 0.15;
  // current: a = α M f, Σ_m a_m / M = α Σ f = α.
  EXPECT_NEAR(gate_loss(theta, xbar, loss_weights(dw, f, 0.5, AuxLoss::current, 7)),
              1.5 / M + 0.5 * 1.0, 1e-14);
  // averaged (the paper's P_t = (1/t) Σ_τ π_τ): the load coefficient carries 1/t.
  EXPECT_NEAR(gate_loss(theta, xbar, loss_weights(dw, f, 0.5, AuxLoss::averaged, 4)),
              1.5 / M + 0.5 * 1.0 / 4, 1e-14);
}

// The paper's auxiliary loss α M Σ_m f_t^(m) P_t^(m), P_t^(m) = (1/t) Σ_{τ≤t} π_m(X_τ, Θ_τ), as a
// function of Θ_t with the earlier rounds' probabilities frozen: its gradient must equal the one
// gate_gradient takes from the averaged weights.
TEST(MoeClGate, AveragedLoadTermIsTheGradientOfTheTimeAverage) {
  Rng rng(5);
  const Eigen::Index d = 6;
  const int M = 4, t = 9;
  const Eigen::MatrixXd theta = gaussian(rng, d, M, 0.4);
  const Eigen::VectorXd xbar = gaussian(rng, d, 1);
  Eigen::VectorXd past = gaussian(rng, M, 1).cwiseAbs();  // Σ_{τ<t} π_m(X_τ, Θ_τ), frozen
  Eigen::VectorXd f = gaussian(rng, M, 1).cwiseAbs();
  f /= f.sum();
  const Eigen::VectorXd dw = Eigen::VectorXd::Zero(M);
  const double alpha = 0.3;
  auto aux = [&](const Eigen::MatrixXd& th) {
    const Eigen::VectorXd pi = softmax(th.transpose() * xbar);
    double sum = 0;
    for (int m = 0; m < M; ++m) sum += f[m] * (past[m] + pi[m]) / t;
    return alpha * M * sum;
  };
  const Eigen::MatrixXd grad =
      gate_gradient(theta, xbar, loss_weights(dw, f, alpha, AuxLoss::averaged, t));
  const double h = 1e-6;
  for (Eigen::Index k = 0; k < M; ++k)
    for (Eigen::Index i = 0; i < d; ++i) {
      Eigen::MatrixXd plus = theta, minus = theta;
      plus(i, k) += h;
      minus(i, k) -= h;
      EXPECT_NEAR(grad(i, k), (aux(plus) - aux(minus)) / (2 * h), 1e-8);
    }
}

TEST(MoeClGate, GradientMatchesFiniteDifferences) {
  Rng rng(11);
  for (int M : {2, 3, 7}) {
    const Eigen::Index d = 6;
    const Eigen::MatrixXd theta = gaussian(rng, d, M, 0.5);
    const Eigen::VectorXd xbar = gaussian(rng, d, 1);
    Eigen::VectorXd dw = Eigen::VectorXd::Zero(M);
    dw[static_cast<Eigen::Index>(rng.below(static_cast<std::uint64_t>(M)))] = 0.3 + rng.uniform();
    Eigen::VectorXd f = gaussian(rng, M, 1).cwiseAbs();
    f /= f.sum();
    const Eigen::VectorXd c = loss_weights(dw, f, 0.7, AuxLoss::current, 3);
    const Eigen::MatrixXd grad = gate_gradient(theta, xbar, c);
    ASSERT_EQ(grad.rows(), d);
    ASSERT_EQ(grad.cols(), M);
    const double h = 1e-6;
    for (Eigen::Index k = 0; k < M; ++k)
      for (Eigen::Index i = 0; i < d; ++i) {
        Eigen::MatrixXd plus = theta, minus = theta;
        plus(i, k) += h;
        minus(i, k) -= h;
        const double fd = (gate_loss(plus, xbar, c) - gate_loss(minus, xbar, c)) / (2 * h);
        EXPECT_NEAR(grad(i, k), fd, 1e-8) << "M " << M << " k " << k << " i " << i;
      }
    // Softmax is invariant to a common shift of h, so the per-expert gradients sum to zero.
    EXPECT_LT(grad.rowwise().sum().norm(), 1e-12);
  }
}

TEST(MoeClGate, SingleExpertHasNoGradient) {
  Rng rng(3);
  const Eigen::MatrixXd g =
      gate_gradient(gaussian(rng, 5, 1), gaussian(rng, 5, 1), Eigen::VectorXd::Constant(1, 2.0));
  EXPECT_EQ(g.norm(), 0.0);
}

TEST(MoeClProblem, SignalsAreOrthonormalAndTasksFollowTheModel) {
  Config c;
  const Problem p = make_problem(c, 42);
  EXPECT_LT((p.signals.transpose() * p.signals - Eigen::MatrixXd::Identity(c.clusters, c.clusters))
                .norm(),
            1e-12);
  TaskStream stream(c, p, 42);
  std::vector<int> seen(static_cast<std::size_t>(c.clusters), 0);
  for (int t = 0; t < 400; ++t) {
    const Task task = stream.next();
    ++seen[static_cast<std::size_t>(task.cluster)];
    // Exactly one column is β·v_n; y = Xᵀ w_n.
    int signal_columns = 0;
    for (Eigen::Index j = 0; j < c.s; ++j)
      signal_columns += (task.X.col(j) - c.beta * p.signals.col(task.cluster)).norm() == 0.0;
    EXPECT_EQ(signal_columns, 1);
    EXPECT_LT((task.y - task.X.transpose() * p.truths.col(task.cluster)).norm(), 1e-15);
  }
  for (int n : seen) EXPECT_GT(n, 60);  // ~100 each of 400
}

// The single-expert run with a plain loop over the same tasks and the definitions of the spec:
//   F_T = 1/(T−1) Σ_{τ<T} [‖w_T − w_{n_τ}‖² − ‖w_τ − w_{n_τ}‖²],  G_T = 1/T Σ_τ ‖w_T − w_{n_τ}‖².
TEST(MoeClSimulation, SingleExpertMatchesDirectComputationAndIgnoresTheGate) {
  Config c;
  c.experts = 1;
  c.T = 300;
  RunContext ctx;
  ctx.seed = 5;
  const Problem p = make_problem(c, ctx.seed);
  TaskStream stream(c, p, ctx.seed);
  Eigen::VectorXd w = Eigen::VectorXd::Zero(c.d);
  std::vector<double> learned;
  std::vector<int> cluster;
  for (std::int64_t t = 0; t < c.T; ++t) {
    const Task task = stream.next();
    w = min_norm_update(task.X, task.y, w);
    learned.push_back((w - p.truths.col(task.cluster)).squaredNorm());
    cluster.push_back(task.cluster);
  }
  double F = 0, G = 0;
  for (std::size_t tau = 0; tau < learned.size(); ++tau) {
    const double now = (w - p.truths.col(cluster[tau])).squaredNorm();
    if (tau + 1 < learned.size()) F += now - learned[tau];
    G += now;
  }
  F /= static_cast<double>(c.T - 1);
  G /= static_cast<double>(c.T);

  const Outcome o = simulate(c, ctx);
  EXPECT_NEAR(o.F_T, F, 1e-10);
  EXPECT_NEAR(o.G_T, G, 1e-10);
  EXPECT_GT(o.F_T, 0.1);  // a single model does forget
  EXPECT_EQ(o.cluster_of_round, cluster);
  EXPECT_EQ(o.convergence_round, 0);  // no gate update, the map never changes
  EXPECT_EQ(o.gate_stop_round, 0);
  EXPECT_EQ(o.load_max_over_mean, 1);
  // The one expert owns one cluster of four; its purity is the majority cluster's share of the
  // rounds t > T/2 (about 1/4), counted here directly.
  EXPECT_EQ(o.cluster_coverage, 0.25);
  std::vector<double> late(static_cast<std::size_t>(c.clusters), 0.0);
  for (std::size_t tau = static_cast<std::size_t>(c.T / 2); tau < cluster.size(); ++tau)
    late[static_cast<std::size_t>(cluster[tau])] += 1;
  EXPECT_DOUBLE_EQ(o.expert_purity,
                   *std::max_element(late.begin(), late.end()) / static_cast<double>(c.T / 2));

  // Gate settings cannot matter with one expert.
  Config other = c;
  other.eta = 0.1;
  other.alpha = 3;
  other.lambda = 2;
  other.terminate = false;
  const Outcome o2 = simulate(other, ctx);
  EXPECT_EQ(o2.F_T, o.F_T);
  EXPECT_EQ(o2.G_T, o.G_T);
  EXPECT_EQ(o2.G_t, o.G_t);
}

TEST(MoeClSimulation, CountsAndLoadsAreConsistent) {
  Config c;
  c.experts = 3;
  c.clusters = 5;
  c.T = 500;
  RunContext ctx;
  ctx.seed = 2;
  const Outcome o = simulate(c, ctx);
  ASSERT_EQ(o.routing_counts.size(), 15u);
  std::vector<double> load(3, 0.0);
  for (const int m : o.expert_of_round) load[static_cast<std::size_t>(m)] += 1;
  double total = 0;
  for (std::size_t n = 0; n < 5; ++n)
    for (std::size_t m = 0; m < 3; ++m) total += o.routing_counts[n * 3 + m];
  EXPECT_EQ(total, 500);
  // Row-major layout: column sums are the expert loads.
  for (std::size_t m = 0; m < 3; ++m) {
    double col = 0;
    for (std::size_t n = 0; n < 5; ++n) col += o.routing_counts[n * 3 + m];
    EXPECT_EQ(col, load[m]);
  }
  EXPECT_NEAR(o.load_max_over_mean, *std::max_element(load.begin(), load.end()) * 3 / 500.0, 1e-12);
  EXPECT_GE(o.load_max_over_mean, 1.0);
  EXPECT_GE(o.cluster_coverage, 0.0);
  EXPECT_LE(o.cluster_coverage, 3.0 / 5.0);  // three experts own at most three of five clusters
  EXPECT_GE(o.expert_purity, 1.0 / 5.0);
  EXPECT_LE(o.expert_purity, 1.0);
}

TEST(MoeClSimulation, DependsOnTheSeedOnly) {
  Config c;
  RunContext a, b, other;
  a.seed = b.seed = 77;
  other.seed = 78;
  const Outcome oa = simulate(c, a), ob = simulate(c, b), oc = simulate(c, other);
  EXPECT_EQ(oa.F_T, ob.F_T);
  EXPECT_EQ(oa.G_t, ob.G_t);
  EXPECT_EQ(oa.routing_counts, ob.routing_counts);
  EXPECT_NE(oa.G_T, oc.G_T);
}

TEST(MoeClSimulation, StopsWhenCancelled) {
  std::atomic<bool> flag{true};
  RunContext ctx;
  ctx.cancel_flag = &flag;
  EXPECT_THROW(simulate(Config{}, ctx), task_cancelled);
}

}  // namespace
}  // namespace mpisweep::moe_cl
