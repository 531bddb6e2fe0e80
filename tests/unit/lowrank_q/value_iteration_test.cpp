// Value iteration against closed forms on tiny MDPs solvable by hand, the exact sample count, and
// independence of the thread count.
#include <mpisweep/experiments/lowrank_q/analysis.hpp>
#include <mpisweep/experiments/lowrank_q/value_iteration.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numbers>

using namespace mpisweep;
using namespace mpisweep::lowrank_q;

namespace {

// Two states, two actions. State 0: action 0 stays (reward 1); action 1 moves to state 1
// (reward 0), or with `stochastic` to state 1 with probability w(ε) = 0.5 + 0.1ε and stays
// otherwise (E w = 1/2). State 1 is absorbing with reward 2.
class TwoStateMdp final : public Mdp {
 public:
  explicit TwoStateMdp(bool stochastic) : stochastic_(stochastic) {}
  int num_states() const override { return 2; }
  int num_actions() const override { return 2; }
  double reward(int s, int a) const override { return s == 1 ? 2.0 : (a == 0 ? 1.0 : 0.0); }
  Stencil next(int s, int a, double eps) const override {
    calls.fetch_add(1, std::memory_order_relaxed);
    Stencil st;
    if (s == 1 || a == 0) {
      st.index = {s, 0, 0, 0};
      st.weight = {1, 0, 0, 0};
      st.size = 1;
    } else if (!stochastic_) {
      st.index = {1, 0, 0, 0};
      st.weight = {1, 0, 0, 0};
      st.size = 1;
    } else {
      const double w = 0.5 + 0.1 * eps;
      st.index = {1, 0, 0, 0};
      st.weight = {w, 1 - w, 0, 0};
      st.size = 2;
    }
    return st;
  }
  mutable std::atomic<long> calls{0};

 private:
  bool stochastic_;
};

// A simulator that counts its calls.
class Counting final : public Mdp {
 public:
  explicit Counting(const Mdp& inner) : inner_(inner) {}
  int num_states() const override { return inner_.num_states(); }
  int num_actions() const override { return inner_.num_actions(); }
  double reward(int s, int a) const override { return inner_.reward(s, a); }
  Stencil next(int s, int a, double eps) const override {
    calls.fetch_add(1, std::memory_order_relaxed);
    return inner_.next(s, a, eps);
  }
  mutable std::atomic<long long> calls{0};

 private:
  const Mdp& inner_;
};

constexpr double gamma_ = 0.9;

bool bitwise_equal(const QMatrix& a, const QMatrix& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(double) * a.size()) == 0;
}

}  // namespace

// Deterministic: V(1) = 2/(1−γ) = 20; moving is worth γ·20 = 18 > staying forever 1/(1−γ) = 10, so
// Q*(0,1) = 18, Q*(0,0) = 1 + γ·18 = 17.2. Iterates: Q_k(1,·) = 2(1−γᵏ)/(1−γ).
TEST(ValueIteration, ExactMatchesTheClosedFormOnATwoStateMdp) {
  TwoStateMdp mdp(false);
  ThreadPool pool(1);
  int checked = 0;
  ExactResult r = exact_value_iteration(
      mdp, {.gamma = gamma_, .tol = 1e-12}, pool, [&](int k, const QMatrix& q) {
        const double v1 = 2 * (1 - std::pow(gamma_, k)) / (1 - gamma_);
        EXPECT_NEAR(q(1, 0), v1, 1e-12) << k;
        EXPECT_NEAR(q(1, 1), v1, 1e-12) << k;
        ++checked;
      });
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(checked, r.iterations);
  EXPECT_NEAR(r.q(1, 0), 20.0, 1e-10);
  EXPECT_NEAR(r.q(0, 1), 18.0, 1e-10);
  EXPECT_NEAR(r.q(0, 0), 17.2, 1e-10);
}

// Stochastic: with p = 1/2, moving forever gives V0 = γ(p·20 + (1−p)V0) ⇒ V0 = 9/0.55 = 16.3636…
// (better than staying, 1 + γV0 = 15.7273…). The piecewise rule gets E w(ε) = 1/2: its nodes
// are symmetric about 0.
TEST(ValueIteration, ExactMatchesTheClosedFormWithNoise) {
  TwoStateMdp mdp(true);
  ThreadPool pool(1);
  ExactResult r = exact_value_iteration(mdp, {.gamma = gamma_, .tol = 1e-12}, pool);
  const double v0 = 9.0 / 0.55;
  EXPECT_NEAR(r.q(0, 1), v0, 1e-9);
  EXPECT_NEAR(r.q(0, 0), 1 + gamma_ * v0, 1e-9);
  EXPECT_NEAR(r.q(1, 0), 20.0, 1e-9);
}

// Monte Carlo VI has no sampling error on a deterministic MDP: Q_T equals the T-th exact iterate,
// for full and for lowrank with K = |S| = |A| (the skeleton of a full-rank 2×2 matrix is itself).
TEST(ValueIteration, MonteCarloEqualsTheIteratesOnADeterministicMdp) {
  TwoStateMdp mdp(false);
  ThreadPool pool(1);
  for (bool lowrank : {false, true}) {
    McResult r = mc_value_iteration(mdp,
                                    {.gamma = gamma_,
                                     .iterations = 30,
                                     .samples = 3,
                                     .lowrank = lowrank,
                                     .anchors = 2,
                                     .rank = 2,
                                     .seed = 5},
                                    pool);
    const double v1 = 2 * (1 - std::pow(gamma_, 30)) / (1 - gamma_);
    const double v1_prev = 2 * (1 - std::pow(gamma_, 29)) / (1 - gamma_);
    EXPECT_NEAR(r.q(1, 0), v1, 1e-9) << lowrank;
    // Q_T(0,1) = γ V_{T−1}(1) since moving beats staying from the first round on.
    EXPECT_NEAR(r.q(0, 1), gamma_ * v1_prev, 1e-9) << lowrank;
  }
}

// With noise and many samples, MC VI lands within the statistical error of the closed form:
// the mean of N = 4000 draws of w has std 0.1/√N, moving Q(0,1) by about γ·0.0016·3.6.
TEST(ValueIteration, MonteCarloConvergesToTheClosedFormWithNoise) {
  TwoStateMdp mdp(true);
  ThreadPool pool(1);
  McResult r = mc_value_iteration(
      mdp, {.gamma = gamma_, .iterations = 150, .samples = 4000, .seed = 9}, pool);
  const double v0 = 9.0 / 0.55;
  EXPECT_NEAR(r.q(0, 1), v0, 0.05);
  EXPECT_NEAR(r.q(0, 0), 1 + gamma_ * v0, 0.05);
  EXPECT_NEAR(r.q(1, 1), 2 * (1 - std::pow(gamma_, 150)) / (1 - gamma_), 1e-9);
}

// samples_total = T·N·(|S|K + K|A| − K²) for lowrank, T·N·|S||A| for full, and it is the number
// of simulator calls actually made.
TEST(ValueIteration, SampleCountIsExactAndMatchesTheSimulatorCalls) {
  const ControlTask task(Env::pendulum, 10, 7, 0.2);
  ThreadPool pool(2);
  for (bool lowrank : {false, true})
    for (AnchorRule rule : {AnchorRule::random, AnchorRule::spread}) {
      Counting counted(task);
      McOptions o{.gamma = 0.9,
                  .iterations = 4,
                  .samples = 2,
                  .lowrank = lowrank,
                  .anchors = 3,
                  .rank = 2,
                  .anchor_rule = rule,
                  .seed = 1};
      McResult r = mc_value_iteration(counted, o, pool);
      const long long expected = lowrank ? 4LL * 2 * (100 * 3 + 3 * 7 - 9) : 4LL * 2 * 100 * 7;
      ASSERT_EQ(r.samples_by_iteration.size(), 4u);
      EXPECT_EQ(r.samples_by_iteration.back(), expected);
      EXPECT_EQ(r.samples_by_iteration.front(), expected / 4);
      EXPECT_EQ(counted.calls.load(), expected);
    }
  McOptions d{.lowrank = true};  // the spec's defaults: 1,600,800 and 9,375,000
  EXPECT_EQ(d.iterations * samples_per_round(d, 625, 50), 1'600'800);
  d.lowrank = false;
  EXPECT_EQ(d.iterations * samples_per_round(d, 625, 50), 9'375'000);
}

TEST(ValueIteration, AnchorsAreDistinctSortedAndSpread) {
  Rng rng(2);
  for (int rep = 0; rep < 50; ++rep) {
    const auto a = draw_anchors(30, 7, AnchorRule::random, rng);
    ASSERT_EQ(a.size(), 7u);
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_GE(a[i], 0);
      EXPECT_LT(a[i], 30);
      if (i) {
        EXPECT_LT(a[i - 1], a[i]);
      }
    }
    const auto s = draw_anchors(30, 7, AnchorRule::spread, rng);
    for (int i = 0; i < 7; ++i) {  // one in each block [⌊30i/7⌋, ⌊30(i+1)/7⌋)
      EXPECT_GE(s[i], 30 * i / 7);
      EXPECT_LT(s[i], 30 * (i + 1) / 7);
    }
  }
  EXPECT_EQ(draw_anchors(5, 5, AnchorRule::random, rng), (std::vector<int>{0, 1, 2, 3, 4}));
}

// Results are a function of the options and the seed: 1, 2 or 3 threads give the same bits.
TEST(ValueIteration, ResultsDoNotDependOnTheThreadCount) {
  const ControlTask task(Env::double_integrator, 25, 50, 0.2);
  for (bool lowrank : {false, true})
    for (AnchorRule rule : {AnchorRule::random, AnchorRule::spread}) {
      McOptions o{.gamma = 0.9,
                  .iterations = 8,
                  .samples = 3,
                  .lowrank = lowrank,
                  .anchors = 8,
                  .rank = 3,
                  .anchor_rule = rule,
                  .seed = 77};
      ThreadPool one(1);
      const McResult ref = mc_value_iteration(task, o, one);
      const double ret_ref = greedy_return(task, ref.q, 0.9, 30, 50, 77, one);
      for (int threads : {2, 3}) {
        ThreadPool pool(threads);
        const McResult r = mc_value_iteration(task, o, pool);
        EXPECT_TRUE(bitwise_equal(r.q, ref.q)) << lowrank << " " << threads;
        EXPECT_EQ(greedy_return(task, r.q, 0.9, 30, 50, 77, pool), ret_ref);
      }
    }
  const ControlTask small(Env::mountain_car, 9, 6, 0.2);
  ThreadPool one(1), three(3);
  EXPECT_TRUE(bitwise_equal(exact_value_iteration(small, {}, one).q,
                            exact_value_iteration(small, {}, three).q));
}

// A different seed gives different samples; the same seed the same.
TEST(ValueIteration, SeedDeterminesTheRun) {
  const ControlTask task(Env::double_integrator, 9, 10, 0.2);
  ThreadPool pool(1);
  McOptions o{.iterations = 3, .samples = 2, .lowrank = true, .anchors = 4, .rank = 2, .seed = 1};
  const QMatrix a = mc_value_iteration(task, o, pool).q;
  EXPECT_TRUE(bitwise_equal(a, mc_value_iteration(task, o, pool).q));
  o.seed = 2;
  EXPECT_FALSE(bitwise_equal(a, mc_value_iteration(task, o, pool).q));
}

TEST(Analysis, EnergyRankAndPolicyAgreement) {
  // Energies 100, 0.81, 0.01: shares 0.99187 and 0.99990.
  EXPECT_EQ(energy_rank(Eigen::Vector3d(10, 0.9, 0.1), 0.99), 1);
  EXPECT_EQ(energy_rank(Eigen::Vector3d(10, 0.9, 0.1), 0.999), 2);
  EXPECT_EQ(energy_rank(Eigen::Vector3d(1, 1, 1), 0.99), 3);
  QMatrix q_star(3, 2), q(3, 2);
  q_star << 1, 2,  //
      5, 5,        // a tie: either action is optimal
      3, 0;
  q << 0, 1,  // agrees
      1, 0,   // agrees up to the tie
      0, 1;   // disagrees
  EXPECT_DOUBLE_EQ(policy_agreement(q, q_star, 1e-9), 2.0 / 3.0);
}

// V^π in closed form on the two-state MDP: π = (move, ·) gives V(1) = 2/(1−γ) = 20 and
// V(0) = γ·20 = 18 (deterministic) or V(0) = γ(½·20 + ½V(0)) = 9/0.55 (noisy, E w = ½);
// π = (stay, ·) gives V(0) = 1/(1−γ) = 10 either way.
TEST(PolicyEvaluation, MatchesTheClosedFormOnATwoStateMdp) {
  ThreadPool pool(1);
  const TwoStateMdp det(false), noisy(true);
  Eigen::VectorXd v = evaluate_policy(det, {1, 0}, gamma_, 7, pool);
  EXPECT_NEAR(v(0), 18.0, 1e-11);
  EXPECT_NEAR(v(1), 20.0, 1e-11);
  v = evaluate_policy(noisy, {1, 0}, gamma_, 7, pool);
  EXPECT_NEAR(v(0), 9.0 / 0.55, 1e-11);
  v = evaluate_policy(noisy, {0, 1}, gamma_, 7, pool);
  EXPECT_NEAR(v(0), 10.0, 1e-11);
  EXPECT_NEAR(v(1), 20.0, 1e-11);
}

// Policy iteration and value iteration are two computations of Q*: they agree on the closed
// form and on a control task with noise.
TEST(PolicyIteration, AgreesWithValueIterationAndTheClosedForm) {
  ThreadPool pool(2);
  const TwoStateMdp noisy(true);
  const OptimalResult two = optimal_q(noisy, gamma_, 7, pool);
  EXPECT_NEAR(two.q(0, 1), 9.0 / 0.55, 1e-10);
  EXPECT_NEAR(two.q(0, 0), 1 + gamma_ * 9.0 / 0.55, 1e-10);
  const ControlTask task(Env::pendulum, 11, 7, 0.3);
  const OptimalResult pi = optimal_q(task, gamma_, 9, pool);
  const ExactResult vi =
      exact_value_iteration(task, {.gamma = gamma_, .tol = 1e-12, .quadrature = 9}, pool);
  EXPECT_LT((pi.q - vi.q).cwiseAbs().maxCoeff(), 1e-9);
  EXPECT_LT((pi.v - state_values(vi.q)).cwiseAbs().maxCoeff(), 1e-9);
}

// policy loss = max_s V*(s) − V^π(s): zero for π greedy in Q*, positive once one state's action
// is changed to a worse one (evaluated with the same operator).
TEST(PolicyEvaluation, PolicyLossIsZeroOnlyForTheOptimalPolicy) {
  ThreadPool pool(1);
  const ControlTask task(Env::double_integrator, 9, 5, 0.2);
  const OptimalResult opt = optimal_q(task, gamma_, 7, pool);
  std::vector<int> pi = greedy_policy(opt.q);
  const Eigen::VectorXd v = evaluate_policy(task, pi, gamma_, 7, pool);
  EXPECT_LT((opt.v - v).cwiseAbs().maxCoeff(), 1e-9);
  // The worst action at the state with the largest action gap.
  int s_max = 0;
  double gap = 0;
  for (int s = 0; s < task.num_states(); ++s) {
    const double g = opt.q.row(s).maxCoeff() - opt.q.row(s).minCoeff();
    if (g > gap) gap = g, s_max = s;
  }
  Eigen::Index worst;
  opt.q.row(s_max).minCoeff(&worst);
  pi[s_max] = static_cast<int>(worst);
  const Eigen::VectorXd v_bad = evaluate_policy(task, pi, gamma_, 7, pool);
  // The wrong action at s_max costs at least Q*(s, π*(s)) − Q*(s, worst) there (more if the
  // policy comes back to s_max).
  EXPECT_GE(opt.v(s_max) - v_bad(s_max), gap - 1e-8);
  EXPECT_GT((opt.v - v_bad).maxCoeff(), 0.5 * gap);
  EXPECT_GE((opt.v - v_bad).minCoeff(), -1e-9);
}

// Issue 12: the reference must be converged, i.e. doubling the quadrature order changes Q* by
// < 1e-6 relative, on the spec's noisy default double integrator (25² × 50, σ 0.2, γ 0.9) and
// on a smaller pendulum. A single Gauss–Hermite rule over the kinked integrand stalled at 1.9e-3
// (16 → 32 nodes) and 2.1e-4 (112 → 224); the piecewise rule reaches it at the default order 6.
TEST(Quadrature, ReferenceConvergesOnTheNoisyDefaults) {
  ThreadPool pool(2);
  for (Env env : {Env::double_integrator, Env::pendulum}) {
    const bool spec = env == Env::double_integrator;  // the pendulum smaller, to keep it quick
    const ControlTask task(env, spec ? 25 : 15, spec ? 50 : 20, 0.2);
    const QMatrix q6 = optimal_q(task, gamma_, 6, pool).q;
    const QMatrix q12 = optimal_q(task, gamma_, 12, pool).q;
    const double change = (q12 - q6).cwiseAbs().maxCoeff() / q12.cwiseAbs().maxCoeff();
    std::printf("%s: |Q*_12 - Q*_6| / |Q*_12| = %.3g\n", std::string(to_string(env)).c_str(),
                change);
    EXPECT_LT(change, 1e-6) << to_string(env);
  }
  // A smooth problem: the two-state MDP's w(ε) is linear, so every order is exact.
  const TwoStateMdp noisy(true);
  EXPECT_LT((optimal_q(noisy, gamma_, 1, pool).q - optimal_q(noisy, gamma_, 2, pool).q)
                .cwiseAbs()
                .maxCoeff(),
            1e-10);
}

// Q* with the operator kept (the default on small problems) and applied on the fly (the path of
// the svrl grids) are the same computation in another summation order: equal to rounding, and
// each bit-identical for 1 and 3 threads.
TEST(PolicyIteration, StoredAndOnTheFlyOperatorsAgree) {
  const ControlTask task(Env::mountain_car, 12, 9, 0.3);
  ThreadPool one(1), three(3);
  const QMatrix kept = optimal_q(task, gamma_, 6, one).q;
  const QMatrix fly = optimal_q(task, gamma_, 6, one, {}, 0).q;
  EXPECT_LT((kept - fly).cwiseAbs().maxCoeff(), 1e-11 * kept.cwiseAbs().maxCoeff());
  EXPECT_FALSE(bitwise_equal(kept, fly));  // the test runs both paths
  EXPECT_TRUE(bitwise_equal(kept, optimal_q(task, gamma_, 6, three).q));
  EXPECT_TRUE(bitwise_equal(fly, optimal_q(task, gamma_, 6, three, {}, 0).q));
}

namespace {

// The same task without its kinks: noise_breaks is the base class's (none), so NoiseRule
// integrates across the grid lines with fixed-width pieces only.
class WithoutBreaks final : public Mdp {
 public:
  explicit WithoutBreaks(const Mdp& inner) : inner_(inner) {}
  int num_states() const override { return inner_.num_states(); }
  int num_actions() const override { return inner_.num_actions(); }
  double reward(int s, int a) const override { return inner_.reward(s, a); }
  Stencil next(int s, int a, double eps) const override { return inner_.next(s, a, eps); }

 private:
  const Mdp& inner_;
};

double value_at(const Mdp& mdp, int s, int a, double eps, const std::vector<double>& v) {
  const Stencil st = mdp.next(s, a, eps);
  double sum = 0;
  for (int i = 0; i < st.size; ++i) sum += st.weight[i] * v[st.index[i]];
  return sum;
}

}  // namespace

// The piecewise rule against brute force: composite Simpson with 2²¹ panels of width 8e-6 on
// [−8.5, 8.5], which knows nothing of the kinks (its error there is O(h²) ≈ 1e-10), for E_ε V(s')
// with a random V on small grids where the noise crosses many grid lines and both clips (σ 0.7
// on the double integrator and mountain car, where ε moves two coordinates, and cart-pole).
// Without the breaks the same rule is off by far more, so the test sees a missed kink.
TEST(Quadrature, PiecewiseRuleMatchesBruteForceIntegration) {
  const double inv_sqrt_2pi = 0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2;
  for (Env env : {Env::double_integrator, Env::mountain_car, Env::cartpole}) {
    const ControlTask task(env, env == Env::cartpole ? 4 : 6, 3, 0.7);
    const WithoutBreaks smooth(task);
    Rng rng(17);
    std::vector<double> v(static_cast<std::size_t>(task.num_states()));
    for (double& x : v) x = rng.uniform(-1.0, 1.0);
    NoiseRule rule(task, 6), plain(smooth, 6);
    double worst = 0, worst_plain = 0;
    for (int trial = 0; trial < 6; ++trial) {
      const int s = static_cast<int>(rng.below(static_cast<std::uint64_t>(task.num_states())));
      const int a = trial % 3;
      const int panels = 1 << 21;
      const double lo = -8.5, h = 17.0 / panels;
      double brute = 0;
      for (int i = 0; i <= panels; ++i) {
        const double e = lo + i * h, w = (i == 0 || i == panels) ? 1 : (i % 2 ? 4 : 2);
        brute += w * value_at(task, s, a, e, v) * inv_sqrt_2pi * std::exp(-0.5 * e * e);
      }
      brute *= h / 3;
      auto integrate = [&](NoiseRule& r) {
        const Quadrature& q = r.rule(s, a);
        double sum = 0;
        for (std::size_t k = 0; k < q.node.size(); ++k)
          sum += q.weight[k] * value_at(task, s, a, q.node[k], v);
        return sum;
      };
      worst = std::max(worst, std::abs(integrate(rule) - brute));
      worst_plain = std::max(worst_plain, std::abs(integrate(plain) - brute));
    }
    std::printf("%s: |piecewise - brute| %.2g, without the breaks %.2g\n",
                std::string(to_string(env)).c_str(), worst, worst_plain);
    EXPECT_LT(worst, 1e-9) << to_string(env);
    EXPECT_GT(worst_plain, 1e3 * worst + 1e-8) << to_string(env);
  }
}

// Every cell change of the next state lies at a reported kink: on a fine ε grid, wherever the
// stencil's cell (its first corner) changes between two neighbours, a break lies between them.
TEST(Quadrature, BreaksBracketEveryCellChange) {
  for (Env env : {Env::double_integrator, Env::pendulum, Env::mountain_car, Env::cartpole}) {
    const ControlTask task(env, env == Env::cartpole ? 5 : 9, 4, 0.9);
    std::vector<double> breaks;
    int changes = 0;
    for (int s = 0; s < task.num_states(); s += 7)
      for (int a = 0; a < 4; ++a) {
        task.noise_breaks(s, a, NoiseRule::eps_max, breaks);
        EXPECT_TRUE(std::is_sorted(breaks.begin(), breaks.end()));
        const int steps = 4000;
        const double h = 2 * NoiseRule::eps_max / steps;
        int prev = task.next(s, a, -NoiseRule::eps_max).index[0];
        for (int i = 1; i <= steps; ++i) {
          const double e0 = -NoiseRule::eps_max + (i - 1) * h, e1 = e0 + h;
          const int cell = task.next(s, a, e1).index[0];
          if (cell == prev) continue;
          ++changes;
          prev = cell;
          const bool bracketed = std::any_of(breaks.begin(), breaks.end(), [&](double b) {
            return b >= e0 - 1e-7 && b <= e1 + 1e-7;
          });
          EXPECT_TRUE(bracketed) << to_string(env) << " s " << s << " a " << a << " at " << e1;
        }
      }
    EXPECT_GT(changes, 10) << to_string(env);  // the test crosses cells at all
  }
}

// A = Q − max_a Q. By hand: Q* = [[1, 3], [0, -2]] has A* = [[-2, 0], [0, -2]];
// Q = [[2, 3], [5, 1]] has A = [[-1, 0], [0, -4]], so ‖A − A*‖∞ = 2. Adding any state-only term
// f(s) to Q leaves the advantage (and the greedy policy) unchanged but moves ‖Q − Q*‖∞.
TEST(Analysis, AdvantageErrorIgnoresStateOnlyTerms) {
  QMatrix q_star(2, 2), q(2, 2);
  q_star << 1, 3, 0, -2;
  q << 2, 3, 5, 1;
  EXPECT_DOUBLE_EQ(advantage_error(q, q_star), 2.0);
  Rng rng(3);
  for (int trial = 0; trial < 5; ++trial) {
    QMatrix shifted = q;
    for (int s = 0; s < 2; ++s) shifted.row(s).array() += rng.uniform(-100.0, 100.0);
    EXPECT_NEAR(advantage_error(shifted, q_star), 2.0, 1e-12);
    EXPECT_EQ(greedy_policy(shifted), greedy_policy(q));
  }
  QMatrix big = q;
  big.row(1).array() += 50;
  EXPECT_GT((big - q_star).cwiseAbs().maxCoeff(), 50.0);
  EXPECT_NEAR(advantage_error(big, q_star), 2.0, 1e-12);
}
