// The moment model's time step (moment.hpp MomentSolver): two parallel regions per step, and
// the same state bit for bit whatever the thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <mpisweep/experiments/kinetic_closure/kinetic.hpp>
#include <mpisweep/experiments/kinetic_closure/moment.hpp>
#include <numbers>

using namespace mpisweep;
using namespace mpisweep::kinetic;

namespace {
// A saturated-looking kinetic state at N 16 (a few steps of the kinetic solver from a
// perturbed isotropic state), its D̂ for the moment model.
MomentSolver::Fields start(const KineticConfig& kc) {
  ThreadPool pool(1);
  KineticSolver kin(kc, pool);
  kin.set_state([](double x, double y, double th) {
    return (1 + 0.3 * std::cos(0.6283 * x + 2 * th) + 0.2 * std::sin(1.2566 * y - 2 * th) +
            0.1 * std::cos(0.6283 * (x + y) + 4 * th)) /
           (2 * std::numbers::pi);
  });
  for (int i = 0; i < 5; ++i) kin.step();
  const auto mh = kin.moments_hat(kin.state());
  return {mh[1], mh[2], mh[3]};
}
// N 16, 13 θ points, α −2.5: small and active.
KineticConfig small_config(double zeta) {
  KineticConfig kc;
  kc.N = 16;
  kc.Ntheta = 13;
  kc.dt = 0.05;
  kc.alpha = -2.5;
  kc.zeta = zeta;
  return kc;
}
}  // namespace

TEST(MomentThreads, TwoRegionsPerStepAndBitIdenticalForOneToFourThreads) {
  const KineticConfig kc = small_config(0.2);
  const MomentSolver::Fields d0 = start(kc);
  const BinghamClosure bingham;
  MomentSolver::Fields ref;
  for (int threads = 1; threads <= 4; ++threads) {
    ThreadPool pool(threads);
    MomentSolver m({.alpha = kc.alpha, .zeta = kc.zeta, .N = kc.N, .dt = kc.dt}, bingham, pool);
    m.set_state(d0);
    m.step();  // the first step after set_state also makes the first x-pass: one region more
    const std::size_t r0 = pool.regions();
    for (int i = 0; i < 20; ++i) m.step();
    EXPECT_EQ(pool.regions() - r0, 40u) << threads << " threads";
    ASSERT_TRUE(m.finite());
    if (threads == 1) {
      ref = m.state();
      EXPECT_GT(std::abs(ref[1][5] - d0[1][5]), 1e-6);  // the state moved
    } else {
      for (int a = 0; a < 3; ++a) EXPECT_EQ(m.state()[a], ref[a]) << threads << " threads";
    }
  }
}

// What step() keeps of the state in its regions, against a plain pass over the state: the
// moment model's max |D̂| (taken per column), and the kinetic solver's moments (per mode).
TEST(MomentThreads, StepKeepsMaxAbsAndMomentsOfTheStateItLeaves) {
  const KineticConfig kc = small_config(0.0);
  const MomentSolver::Fields d0 = start(kc);
  auto plain_max = [](const MomentSolver::Fields& d) {
    double mx = 0;
    for (const auto& f : d)
      for (const auto& z : f) mx = std::max(mx, std::abs(z));
    return mx;
  };
  const BinghamClosure bingham;
  ThreadPool pool(3);
  MomentSolver m({.alpha = kc.alpha, .N = kc.N, .dt = kc.dt}, bingham, pool);
  m.set_state(d0);
  EXPECT_EQ(m.max_abs(), plain_max(d0));
  for (int i = 0; i < 4; ++i) {
    m.step();
    EXPECT_EQ(m.max_abs(), plain_max(m.state())) << "step " << i;
  }
  MomentSolver::Fields bad = d0;
  bad[2].back() = cplx(std::nan(""), 0);
  m.set_state(bad);
  EXPECT_TRUE(std::isnan(m.max_abs()));
  m.step();
  EXPECT_TRUE(std::isnan(m.max_abs())) << "a NaN stays a NaN through the per-column maxima";

  KineticSolver kin(kc, pool);
  kin.set_state([](double x, double, double th) {
    return (1 + 0.3 * std::cos(0.6283 * x + 2 * th)) / (2 * std::numbers::pi);
  });
  for (int i = 0; i < 3; ++i) {
    const auto now = kin.moments_hat_now(), plain = kin.moments_hat(kin.state());
    for (int k = 0; k < 6; ++k) EXPECT_EQ(now[k], plain[k]) << "moment " << k << " step " << i;
    kin.step();
  }
}
