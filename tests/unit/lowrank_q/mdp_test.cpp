// The control tasks and the quadrature (spec lowrank_q.md "Tasks", "Methods").
#include <mpisweep/core/error.hpp>
#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/lowrank_q/mdp.hpp>
#include <mpisweep/experiments/lowrank_q/value_iteration.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

using namespace mpisweep;
using namespace mpisweep::lowrank_q;

// The 5-point Gauss–Legendre rule against Abramowitz & Stegun Table 25.4, and the n-point rule
// integrates x^m over [−1, 1] (2/(m + 1) for even m, 0 for odd) exactly up to m = 2n − 1 only.
TEST(GaussLegendre, MatchesTheTableAndMomentsUpToDegree2nMinus1) {
  const Quadrature q5 = gauss_legendre(5);
  EXPECT_EQ(q5.node[2], 0.0);
  EXPECT_NEAR(q5.node[3], 0.538469310105683091, 1e-15);
  EXPECT_NEAR(q5.node[4], 0.906179845938663993, 1e-15);
  EXPECT_NEAR(q5.weight[2], 128.0 / 225.0, 1e-15);
  EXPECT_NEAR(q5.weight[3], 0.478628670499366468, 1e-15);
  EXPECT_NEAR(q5.weight[4], 0.236926885056189088, 1e-15);
  for (int n : {1, 4, 7}) {
    const Quadrature q = gauss_legendre(n);
    auto moment = [&](int m) {
      double s = 0;
      for (int i = 0; i < n; ++i) s += q.weight[i] * std::pow(q.node[i], m);
      return s;
    };
    for (int m = 0; m < 2 * n; ++m)
      EXPECT_NEAR(moment(m), m % 2 == 1 ? 0.0 : 2.0 / (m + 1), 1e-14) << n << " " << m;
    EXPECT_GT(std::abs(moment(2 * n) - 2.0 / (2 * n + 1)), 1e-4) << n;  // beyond the rule
  }
}

TEST(ControlTask, GridActionsAndRewards) {
  const ControlTask t(Env::double_integrator, 5, 3, 0.2);
  EXPECT_EQ(t.num_states(), 25);
  EXPECT_EQ(t.num_actions(), 3);
  EXPECT_EQ(t.action(0), -1.0);
  EXPECT_EQ(t.action(1), 0.0);
  EXPECT_EQ(t.action(2), 1.0);
  // s = i·n_s + j: position index i, velocity index j; spacing 6/4 = 1.5.
  EXPECT_EQ(t.grid_state(0), (ControlTask::State{-3, -3}));
  EXPECT_EQ(t.grid_state(7), (ControlTask::State{-1.5, 0}));
  EXPECT_EQ(t.grid_state(24), (ControlTask::State{3, 3}));
  EXPECT_DOUBLE_EQ(t.reward(7, 0), -0.5 * (1.5 * 1.5));

  const ControlTask p(Env::pendulum, 5, 3, 0.2);
  EXPECT_DOUBLE_EQ(p.reward({0, 0}, 0.0), 0.0);  // upright at rest: the best reward
  EXPECT_DOUBLE_EQ(p.reward({std::numbers::pi, 0}, 1.0), std::exp(-2.0) - 0.1 - 1);

  const ControlTask m(Env::mountain_car, 5, 3, 0.2);
  EXPECT_EQ(m.reward({0.5, 0}, 0.0), 10.0);
  EXPECT_EQ(m.reward({0.49, 0}, 0.0), -1.0);
}

TEST(ControlTask, DynamicsFollowTheSpec) {
  const ControlTask di(Env::double_integrator, 25, 50, 0.2);
  auto s = di.step({1.0, 2.0}, 1.0, 0.0);
  EXPECT_DOUBLE_EQ(s[1], 2.1);
  EXPECT_DOUBLE_EQ(s[0], 1.0 + 0.1 * 2.1);
  s = di.step({1.0, 2.0}, 0.0, 1.0);  // noise σε on the velocity
  EXPECT_DOUBLE_EQ(s[1], 2.2);
  s = di.step({2.95, 2.95}, 1.0, 10.0);  // both clipped
  EXPECT_EQ(s, (ControlTask::State{3.0, 3.0}));

  const ControlTask pe(Env::pendulum, 25, 50, 0.0);
  s = pe.step({3.1, 5.0}, 0.5, 0.0);
  EXPECT_NEAR(s[0], 3.6 - 2 * std::numbers::pi, 1e-12);  // wrapped into [-π, π)
  EXPECT_NEAR(s[1], 5.0 + 0.1 * (std::sin(3.1) - 5.0 + 0.5), 1e-12);

  const ControlTask mc(Env::mountain_car, 25, 50, 0.2);
  s = mc.step({-0.5, 0.01}, -1.0, 0.0);
  EXPECT_NEAR(s[1], 0.01 - 0.001 - 0.0025 * std::cos(-1.5), 1e-15);
  EXPECT_NEAR(s[0], -0.5 + s[1], 1e-15);
  s = mc.step({0.49, 0.07}, 1.0, 0.0);
  EXPECT_EQ(s[0], 0.5);               // reaches the goal by clipping
  s = mc.step({0.0, 0.0}, 0.0, 1.0);  // σ_mc = 0.01σ
  EXPECT_NEAR(s[1], -0.0025 + 0.002, 1e-15);
}

// Bilinear interpolation reproduces functions a + bx + cv + dxv exactly; weights are a partition
// of unity; grid points map onto themselves.
TEST(ControlTask, InterpolationIsExactForBilinearFunctions) {
  for (Env env : {Env::double_integrator, Env::pendulum, Env::mountain_car}) {
    const ControlTask t(env, 7, 2, 0.1);
    std::vector<double> f(static_cast<std::size_t>(t.num_states()));
    auto bilinear = [](const ControlTask::State& s) {
      return 1.0 + 2.0 * s[0] - 3.0 * s[1] + 0.5 * s[0] * s[1];
    };
    for (int s = 0; s < t.num_states(); ++s) f[s] = bilinear(t.grid_state(s));
    Rng rng(4);
    for (int i = 0; i < 1000; ++i) {
      const auto s = t.sample_state(rng);
      const Stencil st = t.locate(s);
      double sum_w = 0, value = 0;
      for (int k = 0; k < st.size; ++k) {
        EXPECT_GE(st.weight[k], 0.0);
        sum_w += st.weight[k];
        value += st.weight[k] * f[st.index[k]];
      }
      EXPECT_NEAR(sum_w, 1.0, 1e-14);
      EXPECT_NEAR(value, bilinear(s), 1e-12 * (1 + std::abs(bilinear(s))));
    }
    for (int s = 0; s < t.num_states(); ++s) {
      const Stencil st = t.locate(t.grid_state(s));
      double value = 0;
      for (int k = 0; k < st.size; ++k) value += st.weight[k] * f[st.index[k]];
      EXPECT_NEAR(value, f[s], 1e-12 * (1 + std::abs(f[s])));
    }
  }
}

TEST(ControlTask, RejectsBadEnvNaming) {
  EXPECT_EQ(parse_env("cartpole"), Env::cartpole);
  try {
    parse_env("acrobot");
    FAIL();
  } catch (const param_error& e) {
    EXPECT_EQ(e.param(), "env");
  }
  EXPECT_EQ(parse_env(to_string(Env::mountain_car)), Env::mountain_car);
}

// Cart-pole (SV-RL svp/CartPole.jl) against steps worked by hand. From rest, upright, with force
// a = 10: f = 10/1.1 = 9.0909…, θ̈ = −f / (0.5(4/3 − 0.1/1.1)) = −14.6341…,
// ẍ = f − 0.05·θ̈/1.1 = 9.7561…; after dt = 0.1: θ' = 0, θ̇' = −1.46341…, x' = 0, ẋ' = 0.97561….
// Tilted θ = 0.2 at rest, no force: θ̈ = 9.8 sin 0.2 / (0.5(4/3 − 0.1 cos² 0.2/1.1)).
TEST(CartPole, DynamicsMatchHandComputedSteps) {
  const ControlTask cp(Env::cartpole, 5, 3, 0.0);
  EXPECT_EQ(cp.dims(), 4);
  EXPECT_EQ(cp.num_states(), 625);
  EXPECT_EQ(cp.action(0), -10.0);
  EXPECT_EQ(cp.action(2), 10.0);
  auto s = cp.step({0, 0, 0, 0}, 10.0, 0.0);
  const double f = 10 / 1.1, th_acc = -f / (0.5 * (4.0 / 3.0 - 0.1 / 1.1));
  EXPECT_DOUBLE_EQ(s[0], 0.0);
  EXPECT_NEAR(s[1], 0.1 * th_acc, 1e-12);
  EXPECT_NEAR(s[1], -1.4634146341463414, 1e-12);
  EXPECT_DOUBLE_EQ(s[2], 0.0);
  EXPECT_NEAR(s[3], 0.1 * (f - 0.05 * th_acc / 1.1), 1e-12);
  EXPECT_NEAR(s[3], 0.975609756097561, 1e-12);
  s = cp.step({0.2, 0, 1.0, 2.0}, 0.0, 0.0);
  const double c = std::cos(0.2);
  const double acc = 9.8 * std::sin(0.2) / (0.5 * (4.0 / 3.0 - 0.1 * c * c / 1.1));
  EXPECT_DOUBLE_EQ(s[0], 0.2);
  EXPECT_NEAR(s[1], 0.1 * acc, 1e-12);
  EXPECT_NEAR(s[2], 1.2, 1e-12);
  EXPECT_NEAR(s[3], 2.0 + 0.1 * (-0.05 * acc * c / 1.1), 1e-12);
  // Clipped: θ at ±π/2, θ̇ at ±3, x at ±2.4, ẋ at ±3.5.
  s = cp.step({1.5, 3.0, 2.39, 3.5}, 10.0, 0.0);
  EXPECT_EQ(s[0], std::numbers::pi / 2);
  EXPECT_EQ(s[2], 2.4);
  // Noise σε enters θ̇ only.
  const ControlTask noisy(Env::cartpole, 5, 3, 0.5);
  const auto a = noisy.step({0.1, 0.2, 0.3, 0.4}, 1.0, 0.0);
  const auto b = noisy.step({0.1, 0.2, 0.3, 0.4}, 1.0, 1.0);
  EXPECT_NEAR(b[1] - a[1], 0.5, 1e-12);
  EXPECT_EQ(a[0], b[0]);
  EXPECT_EQ(a[2], b[2]);
  EXPECT_EQ(a[3], b[3]);
  // Reward cos⁴(15θ): 1 upright, 0 at θ = π/30.
  EXPECT_DOUBLE_EQ(cp.reward({0, 1, 2, 3}, 5.0), 1.0);
  EXPECT_NEAR(cp.reward({std::numbers::pi / 30, 0, 0, 0}, 0.0), 0.0, 1e-30);
}

// 4-D multilinear interpolation reproduces Π-affine functions (here 1 + x₀ − 2x₁x₂ + x₀x₁x₂x₃)
// exactly, with 16 non-negative weights that sum to 1.
TEST(CartPole, InterpolationIsExactForMultilinearFunctions) {
  const ControlTask t(Env::cartpole, 4, 2, 0.0);
  auto f = [](const ControlTask::State& s) {
    return 1.0 + s[0] - 2.0 * s[1] * s[2] + s[0] * s[1] * s[2] * s[3];
  };
  std::vector<double> g(static_cast<std::size_t>(t.num_states()));
  for (int s = 0; s < t.num_states(); ++s) g[s] = f(t.grid_state(s));
  Rng rng(9);
  for (int i = 0; i < 500; ++i) {
    const auto s = t.sample_state(rng);
    const Stencil st = t.locate(s);
    ASSERT_EQ(st.size, 16);
    double sum_w = 0, value = 0;
    for (int k = 0; k < st.size; ++k) {
      EXPECT_GE(st.weight[k], 0.0);
      sum_w += st.weight[k];
      value += st.weight[k] * g[st.index[k]];
    }
    EXPECT_NEAR(sum_w, 1.0, 1e-14);
    EXPECT_NEAR(value, f(s), 1e-11);
  }
}

// preset svrl carries the constants of SV-RL's svp/*.jl files.
TEST(Preset, SvrlSettings) {
  const TaskConfig di = task_config(Env::double_integrator, Preset::svrl, 7, 7, 0.7);
  EXPECT_EQ(di.points[0], 50);
  EXPECT_EQ(di.points[1], 50);
  EXPECT_EQ(di.n_a, 1000);
  EXPECT_EQ(di.gamma, 0.95);
  EXPECT_EQ(di.sigma, 0.0);
  const TaskConfig pe = task_config(Env::pendulum, Preset::svrl, 7, 7, 0.7);
  EXPECT_DOUBLE_EQ(pe.dt, std::numbers::pi / 10);
  EXPECT_DOUBLE_EQ(pe.sigma, 0.5 * std::numbers::pi / 180);
  const TaskConfig cp = task_config(Env::cartpole, Preset::svrl, 7, 7, 0.7);
  EXPECT_EQ(cp.points, (std::array<int, 4>{10, 10, 10, 10}));
  EXPECT_EQ(cp.a_min, -10.0);
  EXPECT_EQ(cp.sigma, 0.0);
  EXPECT_FALSE(ControlTask(pe).deterministic());
}
