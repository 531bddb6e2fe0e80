// The reproduction claims of spec lowrank_q.md on the double integrator with the defaults
// (n_s 25, n_a 50, γ 0.9, σ 0.2, T 60, N 5, K 8, r 3), over 5 seeds. Q* is computed once.
#include <mpisweep/experiments/lowrank_q/analysis.hpp>
#include <mpisweep/experiments/lowrank_q/value_iteration.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace mpisweep;
using namespace mpisweep::lowrank_q;

namespace {

const ControlTask& task() {
  static const ControlTask t(Env::double_integrator, 25, 50, 0.2);
  return t;
}

const QMatrix& q_star() {
  static const QMatrix q = [] {
    ThreadPool pool(1);
    ExactResult r = exact_value_iteration(task(), {.gamma = 0.9, .tol = 1e-9}, pool);
    EXPECT_TRUE(r.converged);
    return r.q;
  }();
  return q;
}

McOptions defaults(bool lowrank, std::uint64_t seed) {
  return {.gamma = 0.9,
          .iterations = 60,
          .samples = 5,
          .lowrank = lowrank,
          .anchors = 8,
          .rank = 3,
          .anchor_rule = AnchorRule::random,
          .seed = seed};
}

double sup_error(const QMatrix& q) { return (q - q_star()).cwiseAbs().maxCoeff(); }

constexpr std::uint64_t seeds[] = {1, 2, 3, 4, 5};

}  // namespace

TEST(Claims, QStarIsNearlyRankOne) {
  const Eigen::VectorXd sv = singular_values(q_star());
  std::printf("Q*: |Q*|inf %.4g, sigma1..4 = %.4g %.4g %.4g %.4g, rank99 %d, rank999 %d\n",
              q_star().cwiseAbs().maxCoeff(), sv(0), sv(1), sv(2), sv(3), energy_rank(sv, 0.99),
              energy_rank(sv, 0.999));
  EXPECT_EQ(energy_rank(sv, 0.99), 1);
  EXPECT_LE(energy_rank(sv, 0.999), 2);
}

// The spec's claim, kept as the spec states it: lowrank's ‖Q_T − Q*‖∞ ≤ 1.5 × full's at 0.171 of
// the samples. Issue 12: this error is mostly the state-only part of Q_T − Q*, which does not
// change the policy; see PolicyLossReversesTheRankingAtEightAnchors for what the policy says.
TEST(Claims, LowRankBeatsFullWithAFifthOfTheSamples) {
  ThreadPool pool(1);
  for (auto seed : seeds) {
    const McResult full = mc_value_iteration(task(), defaults(false, seed), pool);
    const McResult low = mc_value_iteration(task(), defaults(true, seed), pool);
    const double e_full = sup_error(full.q), e_low = sup_error(low.q);
    const auto n_full = full.samples_by_iteration.back(), n_low = low.samples_by_iteration.back();
    std::printf(
        "seed %llu: full %.4g (%lld samples), lowrank %.4g (%lld samples), error ratio "
        "%.3f, sample ratio %.4f, policy agreement full %.3f lowrank %.3f\n",
        static_cast<unsigned long long>(seed), e_full, static_cast<long long>(n_full), e_low,
        static_cast<long long>(n_low), e_low / e_full, double(n_low) / double(n_full),
        policy_agreement(full.q, q_star(), 1e-6), policy_agreement(low.q, q_star(), 1e-6));
    EXPECT_LE(e_low, 1.5 * e_full) << seed;
    EXPECT_LE(double(n_low), 0.2 * double(n_full)) << seed;
    EXPECT_EQ(n_full, 9'375'000);
    EXPECT_EQ(n_low, 1'600'800);
  }
}

// Spec: with rank = anchors (plain pseudo-inverse) the iteration diverges or stalls at ≈ ‖Q*‖∞.
TEST(Claims, UntruncatedPseudoInverseFails) {
  ThreadPool pool(1);
  const double norm = q_star().cwiseAbs().maxCoeff();
  for (auto seed : seeds) {
    McOptions o = defaults(true, seed);
    o.rank = o.anchors;
    const double e_plain = sup_error(mc_value_iteration(task(), o, pool).q);
    const double e_trunc = sup_error(mc_value_iteration(task(), defaults(true, seed), pool).q);
    std::printf("seed %llu: untruncated error %.4g (|Q*|inf %.4g), truncated %.4g\n",
                static_cast<unsigned long long>(seed), e_plain, norm, e_trunc);
    EXPECT_TRUE(!std::isfinite(e_plain) || e_plain >= 0.5 * norm) << seed;
    EXPECT_TRUE(!std::isfinite(e_plain) || e_plain >= 2 * e_trunc) << seed;
  }
}

// Ranked by the policy (issue 12), the same comparison reads differently. policy_loss =
// max_s V*(s) − V^π(s) with π greedy in Q_T, valued exactly with the converged reference
// (piecewise rule, order 6). Measured (seeds 1–5): full 9.02–9.78, lowrank K 8 10.3–13.8,
// lowrank K 16 6.4–11.8. Lowrank with K = 8 (0.171 of full's samples) has the smaller q_error
// (and advantage error) but the worse policy on every seed, by a median factor of 1.42
// (1.08–1.49); with K = 16 (0.337 of the samples) its median policy loss is 0.90 × full's
// (0.66–1.31).
TEST(Claims, PolicyLossReversesTheRankingAtEightAnchors) {
  ThreadPool pool(1);
  const OptimalResult opt = optimal_q(task(), 0.9, 6, pool);
  auto policy_loss = [&](const QMatrix& q) {
    const Eigen::VectorXd v = evaluate_policy(task(), greedy_policy(q), 0.9, 6, pool, &opt.v);
    return (opt.v - v).maxCoeff();
  };
  std::vector<double> ratio8, ratio16;
  for (auto seed : seeds) {
    const McResult full = mc_value_iteration(task(), defaults(false, seed), pool);
    const McResult k8 = mc_value_iteration(task(), defaults(true, seed), pool);
    McOptions o16 = defaults(true, seed);
    o16.anchors = 16;
    const McResult k16 = mc_value_iteration(task(), o16, pool);
    const double l_full = policy_loss(full.q), l8 = policy_loss(k8.q), l16 = policy_loss(k16.q);
    std::printf(
        "seed %llu: policy loss full %.4g, lowrank K8 %.4g (q error %.4g vs %.4g), "
        "K16 %.4g; advantage error full %.4g K8 %.4g K16 %.4g\n",
        static_cast<unsigned long long>(seed), l_full, l8, sup_error(k8.q), sup_error(full.q), l16,
        advantage_error(full.q, q_star()), advantage_error(k8.q, q_star()),
        advantage_error(k16.q, q_star()));
    EXPECT_LT(sup_error(k8.q), sup_error(full.q)) << seed;
    EXPECT_GT(l8, l_full) << seed;
    ratio8.push_back(l8 / l_full);
    ratio16.push_back(l16 / l_full);
  }
  auto median = [](std::vector<double> x) {
    std::nth_element(x.begin(), x.begin() + x.size() / 2, x.end());
    return x[x.size() / 2];
  };
  EXPECT_GT(median(ratio8), 1.2);
  EXPECT_LT(median(ratio16), 1.0);
}
