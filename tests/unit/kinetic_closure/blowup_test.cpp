// The blow-up detector of closed-model runs (moment.hpp BlowupDetector), on hand-made
// trajectories whose blow-up step is known, and the solver's max |D̂| it is fed.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <mpisweep/experiments/kinetic_closure/moment.hpp>

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
