// Training-range coverage of the learned closure (coverage.hpp): the fraction of evaluations
// outside the training range and the worst excursion, on hand-made inputs whose answers are
// known, the network inputs it measures, and the monitor a closed run is given.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <mpisweep/experiments/kinetic_closure/coverage.hpp>
#include <numbers>
#include <vector>

using namespace mpisweep;
using namespace mpisweep::kinetic;

TEST(Coverage, HandMadeTrajectoryGivesExactFractionAndExcursion) {
  // Training data: input 0 spans [0, 1] (width 1), input 1 spans [−2, 2] (width 4).
  Eigen::MatrixXd train(2, 3);
  train << 0, 1, 0.5, -2, 2, 0;
  const InputRange range = InputRange::of(train);
  EXPECT_EQ(range.lo, Eigen::Vector2d(0, -2));
  EXPECT_EQ(range.hi, Eigen::Vector2d(1, 2));
  // Trajectory with known excursions: inside, on the boundary (inside), 0.25 above on input 0,
  // 0.25 above on input 1 ((3 − 2)/4), below on both (max(0.5/1, 2/4) = 0.5), far out
  // (max(1/1, 3/4) = 1).
  Eigen::MatrixXd traj(2, 6);
  traj << 0.5, 1, 1.25, 0.5, -0.5, 2, 0, -2, 0, 3, -4, 5;
  const double expected[6] = {0, 0, 0.25, 0.25, 0.5, 1};
  for (int i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(range.excursion(traj.col(i)), expected[i]) << i;
  InputCoverage cov;
  cov.add(range, traj);
  EXPECT_EQ(cov.evaluations(), 6);
  EXPECT_EQ(cov.outside(), 4);
  EXPECT_DOUBLE_EQ(cov.outside_fraction(), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(cov.worst_excursion(), 1.0);
  // The training data itself is inside its own range.
  InputCoverage self;
  self.add(range, train);
  EXPECT_EQ(self.outside_fraction(), 0.0);
  EXPECT_EQ(self.worst_excursion(), 0.0);
}

TEST(Coverage, EmptyAndZeroWidthCases) {
  const InputCoverage none;
  EXPECT_TRUE(std::isnan(none.outside_fraction()));
  EXPECT_TRUE(std::isnan(none.worst_excursion()));
  EXPECT_THROW(InputRange::of(Eigen::MatrixXd(2, 0)), std::exception);
  // A constant training input: on it is inside, off it is infinitely far in width units.
  Eigen::MatrixXd train(1, 2);
  train << 3, 3;
  const InputRange r = InputRange::of(train);
  EXPECT_EQ(r.excursion(Eigen::VectorXd::Constant(1, 3.0)), 0.0);
  EXPECT_EQ(r.excursion(Eigen::VectorXd::Constant(1, 3.5)),
            std::numeric_limits<double>::infinity());
}

namespace {

// Four solver points (c = 1): the eigenframe of D is φ = 0 except at point 3, which is point 0
// rotated by 30° (D and G both), so its invariants must equal point 0's.
struct Points {
  std::vector<double> c, dxx, dxy, dyy, gxx, gxy, gyx;
  ClosureInput in() const {
    return {c.data(), dxx.data(), dxy.data(), dyy.data(), gxx.data(), gxy.data(), gyx.data()};
  }
};

Points hand_made() {
  Points p;
  // 0: μ1 = 0.75, ẽ11 = 0.125, ẽ12 = 0.25, ω = −0.25 → x = (0.75, 0.125, 1/16, 1/16, −1/16).
  // 1: μ1 = 0.9375 (r = 0.875), no flow. 2: μ1 = 0.75, ẽ12 = 0, ω = 2 → ω² = 4.
  p.c = {1, 1, 1, 1};
  p.dxx = {0.75, 0.9375, 0.75, 0};
  p.dxy = {0, 0, 0, 0};
  p.dyy = {0.25, 0.0625, 0.25, 0};
  p.gxx = {0.125, 0, 0, 0};
  p.gxy = {0.375, 0, -1, 0};
  p.gyx = {0.125, 0, 1, 0};
  // Point 3 = R (point 0) Rᵀ, R the rotation by ψ = 30°.
  const double cs = std::cos(std::numbers::pi / 6), sn = std::sin(std::numbers::pi / 6);
  const Eigen::Matrix2d R{{cs, -sn}, {sn, cs}};
  const Eigen::Matrix2d D = R * Eigen::Matrix2d{{0.75, 0}, {0, 0.25}} * R.transpose();
  const Eigen::Matrix2d G = R * Eigen::Matrix2d{{0.125, 0.375}, {0.125, -0.125}} * R.transpose();
  p.dxx[3] = D(0, 0), p.dxy[3] = D(0, 1), p.dyy[3] = D(1, 1);
  p.gxx[3] = G(0, 0), p.gxy[3] = G(0, 1), p.gyx[3] = G(1, 0);
  return p;
}

NnClosure network() {
  Rng rng(7, 0);
  return NnClosure(ClosureModel::direct, ClosureInputs::mu1_EW, false, 8, 2, rng);
}

}  // namespace

TEST(Coverage, NetworkInputsAreTheRotationInvariants) {
  const Points pts = hand_made();
  const NnClosure nn = network();
  const Eigen::MatrixXd x = nn.inputs(pts.in(), 0, 4);
  ASSERT_EQ(x.rows(), 5);
  Eigen::VectorXd x0(5), x1(5), x2(5);
  x0 << 0.75, 0.125, 1.0 / 16, 1.0 / 16, -1.0 / 16;
  x1 << 0.9375, 0, 0, 0, 0;
  x2 << 0.75, 0, 0, 4, 0;
  EXPECT_EQ(x.col(0), x0);
  EXPECT_EQ(x.col(1), x1);
  EXPECT_EQ(x.col(2), x2);
  EXPECT_LT((x.col(3) - x0).cwiseAbs().maxCoeff(), 1e-14) << "rotated state, same invariants";
}

TEST(Coverage, MonitorCountsArmedEvaluationsAndPassesTheClosureThrough) {
  const Points pts = hand_made();
  const NnClosure nn = network();
  // Range by hand: μ1 ∈ [0.5, 0.875], the flow invariants within [−1, 1] (ω² within [0, 1]).
  InputRange range;
  range.lo = Eigen::VectorXd::Constant(5, -1.0);
  range.hi = Eigen::VectorXd::Constant(5, 1.0);
  range.lo[0] = 0.5, range.hi[0] = 0.875;
  range.lo[3] = 0;
  InputMonitor mon(nn, range, 4);
  std::vector<Harmonic4> direct(4), monitored(4);
  nn.evaluate(pts.in(), 0, 4, direct.data());
  // Not armed: nothing is recorded.
  mon.evaluate(pts.in(), 0, 4, monitored.data());
  EXPECT_EQ(mon.coverage().evaluations(), 0);
  // Armed, evaluated in two disjoint ranges as the solver's rows are.
  mon.arm(true);
  mon.evaluate(pts.in(), 0, 2, monitored.data());
  mon.evaluate(pts.in(), 2, 4, monitored.data());
  mon.collect();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(monitored[i].c4, direct[i].c4) << i;
    EXPECT_EQ(monitored[i].s4, direct[i].s4) << i;
  }
  // Point 1: μ1 0.0625 above 0.875, width 0.375 → 1/6; point 2: ω² 3 above 1, width 1 → 3;
  // points 0 and 3 inside.
  EXPECT_EQ(mon.coverage().evaluations(), 4);
  EXPECT_EQ(mon.coverage().outside(), 2);
  EXPECT_DOUBLE_EQ(mon.coverage().outside_fraction(), 0.5);
  EXPECT_DOUBLE_EQ(mon.coverage().worst_excursion(), 3.0);
  EXPECT_DOUBLE_EQ(range.excursion(nn.inputs(pts.in(), 1, 2).col(0)), 1.0 / 6.0);
}
