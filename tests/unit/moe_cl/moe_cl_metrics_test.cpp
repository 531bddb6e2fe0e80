// moe_cl's metrics against independent computations: the routing diagnostics on hand-made tables,
// and a second, deliberately plain implementation of the whole run (routing, expert updates, gate
// steps, both termination rules, convergence_round, F_T, G_T) on tiny cases, written from the
// equations of docs/experiments/moe_cl.md with loops and a different linear solver.
#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/moe_cl/moe_cl.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace mpisweep::moe_cl {
namespace {

Eigen::MatrixXd table(std::initializer_list<std::initializer_list<double>> rows) {
  Eigen::MatrixXd t(static_cast<Eigen::Index>(rows.size()),
                    static_cast<Eigen::Index>(rows.begin()->size()));
  Eigen::Index i = 0;
  for (const auto& r : rows) {
    Eigen::Index j = 0;
    for (double v : r) t(i, j++) = v;
    ++i;
  }
  return t;
}

// Rows are clusters, columns experts.
TEST(MoeClDiagnostics, OneExpertServesEveryCluster) {
  const Eigen::MatrixXd c = table({{30}, {25}, {25}, {20}});  // M = 1, N = 4
  EXPECT_DOUBLE_EQ(cluster_coverage(c), 0.25);                // it owns cluster 0 only
  EXPECT_DOUBLE_EQ(expert_purity(c), 0.30);                   // 30 of its 100 tasks
  // M = N = 1: a single cluster is perfectly served.
  EXPECT_DOUBLE_EQ(cluster_coverage(table({{7}})), 1.0);
  EXPECT_DOUBLE_EQ(expert_purity(table({{7}})), 1.0);
}

TEST(MoeClDiagnostics, PerfectAssignmentWithMEqualN) {
  const Eigen::MatrixXd c = table({{0, 12, 0}, {9, 0, 0}, {0, 0, 4}});
  EXPECT_DOUBLE_EQ(cluster_coverage(c), 1.0);
  EXPECT_DOUBLE_EQ(expert_purity(c), 1.0);
}

TEST(MoeClDiagnostics, TwoClustersSharingAnExpertAreCaught) {
  // The first pass's case (seed 4 at M 4): clusters 0 and 1 both go to expert 0, expert 3 idle.
  const Eigen::MatrixXd c = table({{10, 0, 0, 0}, {8, 0, 0, 0}, {0, 9, 0, 0}, {0, 0, 11, 0}});
  EXPECT_DOUBLE_EQ(cluster_coverage(c), 0.75);                  // cluster 1 owns no expert
  EXPECT_DOUBLE_EQ(expert_purity(c), (10.0 / 18 + 1 + 1) / 3);  // idle expert 3 not counted
}

TEST(MoeClDiagnostics, FewerExpertsThanClusters) {
  // M = 2 < N = 3, each expert as pure as it can be: coverage ≤ M/N.
  const Eigen::MatrixXd c = table({{20, 0}, {0, 15}, {0, 5}});
  EXPECT_DOUBLE_EQ(cluster_coverage(c), 2.0 / 3);
  EXPECT_DOUBLE_EQ(expert_purity(c), (1 + 0.75) / 2);
}

TEST(MoeClDiagnostics, MoreExpertsThanClustersWithExpertSets) {
  // M = 5 > N = 2: cluster 0 spread over experts {0, 2}, cluster 1 over {1, 3, 4}, one stray
  // task of cluster 1 on expert 0.
  const Eigen::MatrixXd c = table({{10, 0, 12, 0, 0}, {1, 7, 0, 6, 5}});
  EXPECT_DOUBLE_EQ(cluster_coverage(c), 1.0);
  EXPECT_DOUBLE_EQ(expert_purity(c), (10.0 / 11 + 1 + 1 + 1 + 1) / 5);
}

TEST(MoeClDiagnostics, EmptyTableIsNaNAndUnseenClustersDoNotCount) {
  EXPECT_TRUE(std::isnan(cluster_coverage(Eigen::MatrixXd::Zero(3, 2))));
  EXPECT_TRUE(std::isnan(expert_purity(Eigen::MatrixXd::Zero(3, 2))));
  // Cluster 2 had no tasks: coverage is over the two clusters that did.
  EXPECT_DOUBLE_EQ(cluster_coverage(table({{4, 0}, {0, 3}, {0, 0}})), 1.0);
}

// ---- a plain second implementation of a run ----

// Min-norm update through the normal equations solved by Gaussian elimination with partial
// pivoting (the library uses a Cholesky factorisation).
std::vector<double> plain_update(const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                                 const std::vector<double>& w) {
  const int d = static_cast<int>(X.rows()), s = static_cast<int>(X.cols());
  std::vector<std::vector<double>> A(s, std::vector<double>(s + 1, 0.0));
  for (int i = 0; i < s; ++i) {
    for (int j = 0; j < s; ++j)
      for (int k = 0; k < d; ++k) A[i][j] += X(k, i) * X(k, j);
    double r = y[i];
    for (int k = 0; k < d; ++k) r -= X(k, i) * w[k];
    A[i][s] = r;
  }
  for (int col = 0; col < s; ++col) {
    int piv = col;
    for (int i = col + 1; i < s; ++i)
      if (std::abs(A[i][col]) > std::abs(A[piv][col])) piv = i;
    std::swap(A[col], A[piv]);
    for (int i = col + 1; i < s; ++i) {
      const double f = A[i][col] / A[col][col];
      for (int j = col; j <= s; ++j) A[i][j] -= f * A[col][j];
    }
  }
  std::vector<double> a(s);
  for (int i = s - 1; i >= 0; --i) {
    double v = A[i][s];
    for (int j = i + 1; j < s; ++j) v -= A[i][j] * a[j];
    a[i] = v / A[i][i];
  }
  std::vector<double> out = w;
  for (int k = 0; k < d; ++k)
    for (int i = 0; i < s; ++i) out[k] += X(k, i) * a[i];
  return out;
}

double dist2(const std::vector<double>& w, const Eigen::MatrixXd& truths, int n) {
  double e = 0;
  for (std::size_t k = 0; k < w.size(); ++k) {
    const double diff = w[k] - truths(static_cast<Eigen::Index>(k), n);
    e += diff * diff;
  }
  return e;
}

int first_argmax(const std::vector<double>& v) {
  int best = 0;
  for (int m = 1; m < static_cast<int>(v.size()); ++m)
    if (v[m] > v[best]) best = m;
  return best;
}

struct Reference {
  double F_T = 0, G_T = 0;
  std::int64_t convergence_round = 0, gate_stop_round = 0;
  std::vector<int> experts_used;
};

// Algorithm of docs/experiments/moe_cl.md "Model", written out once more. The routing noise is
// drawn like the library's (stream 3 of the seed, one Unif[0, λ] per expert in index order), so
// the two runs see the same numbers.
Reference reference_run(const Config& c, std::uint64_t seed) {
  const Problem p = make_problem(c, seed);
  TaskStream stream(c, p, seed);
  Rng noise(seed, 3);
  const int M = c.experts, N = c.clusters, d = c.d;
  const std::int64_t T1 =
      c.T1 > 0 ? c.T1 : static_cast<std::int64_t>(std::ceil(static_cast<double>(M) / c.eta));
  std::vector<std::vector<double>> w(M, std::vector<double>(d, 0.0));
  std::vector<std::vector<double>> th(M, std::vector<double>(d, 0.0));
  std::vector<double> load(M, 0.0), learned;
  std::vector<int> cluster, map(N, 0);
  std::vector<std::vector<double>> xbars;
  bool active = M > 1;
  Reference r;
  for (std::int64_t t = 1; t <= c.T; ++t) {
    const Task task = stream.next();
    std::vector<double> xbar(d, 0.0);
    for (int k = 0; k < d; ++k)
      for (int i = 0; i < c.s; ++i) xbar[k] += task.X(k, i);
    std::vector<double> h(M, 0.0), noisy(M);
    for (int m = 0; m < M; ++m) {
      for (int k = 0; k < d; ++k) h[m] += th[m][k] * xbar[k];
      noisy[m] = h[m] + noise.uniform(0.0, c.lambda);
    }
    const int mt = first_argmax(noisy);
    const std::vector<double> before = w[mt];
    w[mt] = plain_update(task.X, task.y, before);
    double step2 = 0;
    for (int k = 0; k < d; ++k) step2 += (w[mt][k] - before[k]) * (w[mt][k] - before[k]);
    load[mt] += 1;
    learned.push_back(dist2(w[mt], p.truths, task.cluster));
    cluster.push_back(task.cluster);
    xbars.push_back(xbar);
    r.experts_used.push_back(mt);

    if (active && c.terminate && t > T1) {
      if (c.termination == Termination::fixed) active = false;
      for (int m = 0; m < M; ++m)
        if (c.termination == Termination::paper && m != mt && std::abs(h[m] - h[mt]) < c.Gamma)
          active = false;
    }
    if (!active) continue;
    // c_m = ‖Δw^(m)‖ + α M f^(m) [/ t]; ∂L/∂θ^(k) = π_k (c_k − Σ_m π_m c_m) x̄.
    double hmax = h[0];
    for (double v : h) hmax = std::max(hmax, v);
    std::vector<double> pi(M), cw(M);
    double z = 0, L = 0;
    for (int m = 0; m < M; ++m) z += pi[m] = std::exp(h[m] - hmax);
    for (int m = 0; m < M; ++m) {
      pi[m] /= z;
      const double f = load[m] / static_cast<double>(t);
      const double per_round = c.aux_loss == AuxLoss::averaged ? static_cast<double>(t) : 1.0;
      const double a = c.alpha * M * f / per_round;
      cw[m] = (m == mt ? std::sqrt(step2) : 0.0) + a;
      L += pi[m] * cw[m];
    }
    for (int m = 0; m < M; ++m)
      for (int k = 0; k < d; ++k) th[m][k] -= c.eta * pi[m] * (cw[m] - L) * xbar[k];
    r.gate_stop_round = t;
    for (int n = 0; n < N; ++n) {
      std::vector<double> score(M, 0.0);
      for (int m = 0; m < M; ++m)
        for (int k = 0; k < d; ++k) score[m] += th[m][k] * p.signals(k, n);
      const int m = first_argmax(score);
      if (m != map[n]) r.convergence_round = t;
      map[n] = m;
    }
  }
  const auto T = static_cast<std::size_t>(c.T);
  for (std::size_t tau = 0; tau < T; ++tau) {
    if (tau + 1 < T) r.F_T += dist2(w[r.experts_used[tau]], p.truths, cluster[tau]) - learned[tau];
    std::vector<double> h(M, 0.0);
    for (int m = 0; m < M; ++m)
      for (int k = 0; k < d; ++k) h[m] += th[m][k] * xbars[tau][k];
    r.G_T += dist2(w[first_argmax(h)], p.truths, cluster[tau]);
  }
  r.F_T /= static_cast<double>(c.T - 1);
  r.G_T /= static_cast<double>(c.T);
  return r;
}

void expect_matches_reference(const Config& c, std::uint64_t seed) {
  RunContext ctx;
  ctx.seed = seed;
  const Outcome o = simulate(c, ctx);
  const Reference r = reference_run(c, seed);
  ASSERT_EQ(o.expert_of_round, r.experts_used);
  EXPECT_NEAR(o.F_T, r.F_T, 1e-9 * (1 + r.F_T));
  EXPECT_NEAR(o.G_T, r.G_T, 1e-9 * (1 + r.G_T));
  EXPECT_EQ(o.convergence_round, static_cast<double>(r.convergence_round));
  EXPECT_EQ(o.gate_stop_round, static_cast<double>(r.gate_stop_round));
  // The series end at the metrics when record_every divides T.
  ASSERT_EQ(o.F_t.size(), static_cast<std::size_t>(c.T / c.record_every));
  ASSERT_EQ(c.T % c.record_every, 0);
  EXPECT_EQ(o.F_t.back(), o.F_T);
  EXPECT_EQ(o.G_t.back(), o.G_T);
}

Config tiny() {
  Config c;
  c.d = 8;
  c.s = 4;
  c.clusters = 3;
  c.experts = 5;
  c.T = 150;
  c.T1 = 40;
  c.record_every = 10;
  return c;
}

TEST(MoeClReference, PaperRuleAndAveragedLoadMatchThePlainRun) {
  for (std::uint64_t seed : {1, 2, 3}) expect_matches_reference(tiny(), seed);
}

TEST(MoeClReference, FixedRuleCurrentLoadAndNoTerminationMatchThePlainRun) {
  Config c = tiny();
  c.termination = Termination::fixed;
  c.aux_loss = AuxLoss::current;
  expect_matches_reference(c, 4);
  c.terminate = false;
  expect_matches_reference(c, 5);
  c = tiny();
  c.experts = 2;  // M < N
  c.T1 = 0;       // ⌈M/η⌉
  c.eta = 0.05;
  expect_matches_reference(c, 6);
}

TEST(MoeClTermination, FixedRuleStopsAtT1AndTheMapSettlesBeforeIt) {
  Config c;
  c.termination = Termination::fixed;
  c.T = 400;
  c.T1 = 120;
  for (std::uint64_t seed : {1, 2, 3, 4}) {
    RunContext ctx;
    ctx.seed = seed;
    const Outcome o = simulate(c, ctx);
    EXPECT_EQ(o.gate_stop_round, 120);
    EXPECT_LE(o.convergence_round, 120);
    EXPECT_GT(o.convergence_round, 0);  // the gate did move the map off the all-zero start
  }
}

TEST(MoeClTermination, PaperRuleNeverStopsBeforeT1AndDefaultT1IsCeilMOverEta) {
  Config c;
  c.T1 = 0;
  c.eta = 0.3;
  c.experts = 4;
  EXPECT_EQ(effective_T1(c), 14);  // ⌈4 / 0.3⌉
  c.T = 300;
  for (std::uint64_t seed : {1, 2, 3}) {
    RunContext ctx;
    ctx.seed = seed;
    const Outcome o = simulate(c, ctx);
    EXPECT_GE(o.gate_stop_round, 14);
    EXPECT_LE(o.convergence_round, o.gate_stop_round);
  }
  c.terminate = false;
  RunContext ctx;
  ctx.seed = 1;
  EXPECT_EQ(simulate(c, ctx).gate_stop_round, 300);
}

}  // namespace
}  // namespace mpisweep::moe_cl
