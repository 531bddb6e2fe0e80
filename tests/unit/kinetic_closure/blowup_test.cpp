// The blow-up detector of closed-model runs (moment.hpp BlowupDetector) and the drift metric
// (scenarios.hpp order_drift), on hand-made trajectories whose blow-up step or drift is known,
// and the solver's max |D̂| the detector is fed.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <mpisweep/experiments/kinetic_closure/moment.hpp>
#include <mpisweep/experiments/kinetic_closure/scenarios.hpp>
#include <numbers>
#include <vector>

using namespace mpisweep;
using namespace mpisweep::kinetic;

namespace {
const double none = std::numeric_limits<double>::quiet_NaN();  // order not computed
constexpr double dt = 0.05;
}  // namespace

TEST(Blowup, BoundedTrajectoryNeverBlowsUpEvenAtTheLimits) {
  BlowupDetector d;
  for (int i = 1; i <= 400; ++i) {
    // |D̂| exactly at the limit and order exactly 1 are still physical (strict inequalities).
    const double m = i == 200 ? BlowupDetector::max_coefficient : 0.5 + 0.1 * std::sin(i);
    EXPECT_FALSE(d.observe(i * dt, m, i == 300 ? 1.0 : 0.6));
  }
  EXPECT_FALSE(d.blown_up());
  EXPECT_TRUE(std::isnan(d.time()));
}

TEST(Blowup, ExponentialGrowthBlowsUpAtTheFirstStepAboveTheLimit) {
  // |D̂| = 1e-3 · 2^i passes 1e6 between i = 29 (5.4e5) and i = 30 (1.07e6).
  BlowupDetector d;
  int first = -1;
  for (int i = 1; i <= 40; ++i)
    if (d.observe(i * dt, 1e-3 * std::ldexp(1.0, i), 0.5) && first < 0) first = i;
  EXPECT_EQ(first, 30);
  EXPECT_DOUBLE_EQ(d.time(), 30 * dt);
  // Later bounded steps do not undo it.
  EXPECT_TRUE(d.observe(41 * dt, 0.1, 0.5));
  EXPECT_DOUBLE_EQ(d.time(), 30 * dt);
}

TEST(Blowup, NonFiniteCoefficientBlowsUpAtOnce) {
  BlowupDetector d;
  for (int i = 1; i < 7; ++i) EXPECT_FALSE(d.observe(i * dt, 0.4, none));
  EXPECT_TRUE(d.observe(7 * dt, none, none));
  EXPECT_DOUBLE_EQ(d.time(), 7 * dt);
  BlowupDetector inf;
  EXPECT_TRUE(inf.observe(dt, std::numeric_limits<double>::infinity(), none));
}

TEST(Blowup, OrderAboveOneCountsOnlyOnTheStepsWhereItIsComputed) {
  // Order 0.9 + 0.015 i, computed on even steps only (NaN otherwise): step 7 (1.005) is not
  // looked at, step 8 (1.02) is the blow-up.
  BlowupDetector d;
  int first = -1;
  for (int i = 1; i <= 12 && first < 0; ++i)
    if (d.observe(i * dt, 0.5, i % 2 == 0 ? 0.9 + 0.015 * i : none)) first = i;
  EXPECT_EQ(first, 8);
  EXPECT_DOUBLE_EQ(d.time(), 8 * dt);
}

TEST(Blowup, SolverMaxAbsSeesHugeAndNonFiniteCoefficients) {
  ThreadPool pool(1);
  const MomentConfig cfg{.N = 8};
  const BinghamClosure bingham;
  MomentSolver m(cfg, bingham, pool);
  const std::size_t nk = m.grid().kept();
  MomentSolver::Fields f;
  for (auto& v : f) v.assign(nk, cplx(0));
  f[0][0] = f[2][0] = 0.5;  // isotropic, c = 1
  f[1][3] = cplx(0.3, -0.4);
  m.set_state(f);
  EXPECT_DOUBLE_EQ(m.max_abs(), 0.5);
  EXPECT_TRUE(m.finite());
  f[1][3] = cplx(0, 2e6);
  m.set_state(f);
  EXPECT_DOUBLE_EQ(m.max_abs(), 2e6);
  EXPECT_FALSE(m.finite());
  f[1][3] = cplx(none, 0);
  m.set_state(f);
  EXPECT_TRUE(std::isnan(m.max_abs()));
  EXPECT_FALSE(m.finite());
}

namespace {
// A chaotic-looking kinetic order trace: 0.5 plus two sines with whole periods over n = 200
// samples, so its mean over either half is exactly 0.5 up to roundoff.
std::vector<double> kinetic_trace() {
  std::vector<double> k(200);
  for (std::size_t j = 0; j < k.size(); ++j)
    k[j] = 0.5 + 0.05 * std::sin(2 * std::numbers::pi * double(j) / 20) +
           0.02 * std::cos(2 * std::numbers::pi * double(j) / 10);
  return k;
}
}  // namespace

TEST(Drift, ConstantBiasIsNoDriftButALateError) {
  const auto k = kinetic_trace();
  std::vector<double> m = k;
  for (auto& v : m) v += 0.03;  // Bingham-like: 6 % high from the start, not growing
  const kinetic::Drift d = kinetic::order_drift(m, k);
  EXPECT_NEAR(d.drift, 0.0, 1e-13);
  EXPECT_NEAR(d.late_error, 0.06, 1e-13);
  const kinetic::Drift same = kinetic::order_drift(k, k);
  EXPECT_EQ(same.drift, 0.0);
  EXPECT_EQ(same.late_error, 0.0);
}

TEST(Drift, LinearRampIsItsRiseOverTheRun) {
  // e_j = 0.1 j/199: the deviation grows by 0.1 over the run, 0.2 of the kinetic mean; over
  // the second half (j = 100..199, mean j 149.5) the mean deviation is 0.1·149.5/199.
  const auto k = kinetic_trace();
  std::vector<double> up = k, down = k;
  for (std::size_t j = 0; j < k.size(); ++j) {
    up[j] += 0.1 * double(j) / 199;
    down[j] -= 0.1 * double(j) / 199;
  }
  const kinetic::Drift d = kinetic::order_drift(up, k);
  EXPECT_NEAR(d.drift, 0.2, 1e-12);
  EXPECT_NEAR(d.late_error, 0.1 * 149.5 / 199 / 0.5, 1e-12);
  // Decaying towards isotropy is a negative drift of the same size; the late error is unsigned.
  const kinetic::Drift e = kinetic::order_drift(down, k);
  EXPECT_NEAR(e.drift, -0.2, 1e-12);
  EXPECT_NEAR(e.late_error, d.late_error, 1e-12);
}

TEST(Drift, OnlyTheCommonLengthCountsAndShortTracesAreNan) {
  const auto k = kinetic_trace();
  std::vector<double> m(k.begin(), k.begin() + 100);
  for (std::size_t j = 0; j < m.size(); ++j) m[j] += 0.001 * double(j);  // slope 0.001/sample
  const kinetic::Drift d = kinetic::order_drift(m, k);                   // k's tail ignored
  double kin_mean = 0;
  for (std::size_t j = 0; j < 100; ++j) kin_mean += k[j] / 100;
  EXPECT_NEAR(d.drift, 0.001 * 99 / kin_mean, 1e-12);
  EXPECT_TRUE(std::isnan(kinetic::order_drift({0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}).drift));
}
