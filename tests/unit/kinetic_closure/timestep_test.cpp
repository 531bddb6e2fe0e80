// The time-stepping loss through the moment-model solver: its hand-derived adjoint gradient
// against central finite differences of the real solver's loss (timestep.hpp).
#include <gtest/gtest.h>

#include <cmath>
#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/kinetic_closure/kinetic.hpp>
#include <mpisweep/experiments/kinetic_closure/timestep.hpp>
#include <numbers>

using namespace mpisweep;
using namespace mpisweep::kinetic;

namespace {
constexpr double pi = std::numbers::pi;

// k + 2 consecutive D̂ of a small kinetic run from a strongly perturbed state (every field
// populated, D well away from isotropic).
Window kinetic_window(const KineticConfig& kc, int k) {
  ThreadPool pool(1);
  KineticSolver kin(kc, pool);
  kin.set_state([&](double x, double y, double th) {
    const double q = 2 * pi / kc.L;
    return (1 + 0.6 * std::cos(q * x + 2 * th) + 0.4 * std::sin(q * (x + y) - 2 * th + 0.3) +
            0.3 * std::cos(2 * q * y + 4 * th)) /
           (2 * pi);
  });
  for (int i = 0; i < 3; ++i) kin.step();
  Window w;
  for (int j = 0; j < k + 2; ++j) {
    const auto mh = kin.moments_hat(kin.state());
    w.push_back({mh[1], mh[2], mh[3]});
    kin.step();
  }
  return w;
}

void check_gradient(ClosureModel model, ClosureInputs inputs,
                    ClosureHead head = ClosureHead::bounded) {
  const KineticConfig kc{
      .alpha = -3, .zeta = 0.3, .dT = 0.05, .dR = 0.05, .L = 10, .N = 12, .Ntheta = 17, .dt = 0.05};
  const MomentConfig mc{.alpha = kc.alpha,
                        .zeta = kc.zeta,
                        .dT = kc.dT,
                        .dR = kc.dR,
                        .L = kc.L,
                        .N = kc.N,
                        .dt = kc.dt};
  const Window w = kinetic_window(kc, 3);
  Rng rng(21);
  NnClosure nn(model, inputs, false, 6, 2, rng, head);
  for (Eigen::Index i = 0; i < nn.net().params().size(); ++i)
    nn.net().params()[i] = 0.5 * rng.normal();
  Eigen::VectorXd g = Eigen::VectorXd::Zero(nn.net().params().size());
  const double L0 = timestep_gradient(mc, nn, w, g);
  EXPECT_NEAR(L0, timestep_loss(mc, nn, w), 1e-14 * L0);
  // The same gradient, bit for bit, when the window's solver and adjoint run on 3 threads.
  ThreadPool three(3);
  Eigen::VectorXd g3 = Eigen::VectorXd::Zero(g.size());
  EXPECT_EQ(timestep_gradient(mc, nn, w, g3, &three), L0);
  EXPECT_TRUE(g3 == g);
  EXPECT_GT(L0, 1e-6);  // the closure is wrong, so there is something to differentiate
  EXPECT_GT(g.norm(), 0);
  const double h = 1e-5;
  double worst = 0;
  for (Eigen::Index i = 0; i < nn.net().params().size(); i += 3) {
    const double keep = nn.net().params()[i];
    nn.net().params()[i] = keep + h;
    const double lp = timestep_loss(mc, nn, w);
    nn.net().params()[i] = keep - h;
    const double lm = timestep_loss(mc, nn, w);
    nn.net().params()[i] = keep;
    const double fd = (lp - lm) / (2 * h);
    worst = std::max(worst, std::abs(fd - g[i]) / (1e-3 * g.cwiseAbs().maxCoeff() + std::abs(fd)));
  }
  EXPECT_LT(worst, 1e-5);
}
}  // namespace

TEST(Timestep, AdjointGradientMatchesFiniteDifferencesDirect) {
  check_gradient(ClosureModel::direct, ClosureInputs::mu1_EW);
}

TEST(Timestep, AdjointGradientMatchesFiniteDifferencesResidualMu1) {
  check_gradient(ClosureModel::residual, ClosureInputs::mu1);
}

// The unbounded head (no r² factor, linear skip): the skip's weights are in the gradient too.
TEST(Timestep, AdjointGradientMatchesFiniteDifferencesUnboundedHead) {
  check_gradient(ClosureModel::direct, ClosureInputs::mu1_EW, ClosureHead::unbounded);
}

TEST(Timestep, AdjointGradientMatchesFiniteDifferencesUnboundedReluHead) {
  check_gradient(ClosureModel::direct, ClosureInputs::mu1_EW, ClosureHead::unbounded_relu);
}
