#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/lowrank_q/mdp.hpp>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace mpisweep::lowrank_q {

Env parse_env(std::string_view name) {
  if (name == "double_integrator") return Env::double_integrator;
  if (name == "pendulum") return Env::pendulum;
  if (name == "mountain_car") return Env::mountain_car;
  throw param_error("env", "unknown task '" + std::string(name) +
                               "'; expected double_integrator, pendulum or mountain_car");
}

std::string_view to_string(Env env) {
  switch (env) {
    case Env::double_integrator: return "double_integrator";
    case Env::pendulum: return "pendulum";
    case Env::mountain_car: return "mountain_car";
  }
  return "?";
}

namespace {
constexpr double pi = std::numbers::pi;
double clip(double x, double lo, double hi) { return std::min(hi, std::max(lo, x)); }
// θ mapped into [-π, π).
double wrap(double theta) { return theta - 2 * pi * std::floor((theta + pi) / (2 * pi)); }
// Mountain car's velocity noise. The spec leaves σ_mc open; we scale σ by the action's effect on
// the velocity per step (0.001 here, 0.1 in the other two tasks), so that noise/actuation is the
// same in all three tasks: σ_mc = σ · 0.001 / 0.1.
constexpr double mountain_car_noise_scale = 0.01;
}  // namespace

ControlTask::ControlTask(Env env, int n_s, int n_a, double sigma)
    : env_(env), n_s_(n_s), n_a_(n_a), sigma_(sigma) {
  if (n_s < 2) throw param_error("n_s", "needs at least 2 grid points per dimension");
  if (n_a < 1) throw param_error("n_a", "needs at least 1 action");
  if (!(sigma >= 0)) throw param_error("sigma", "must be >= 0");
  switch (env) {
    case Env::double_integrator: lo_ = {-3, -3}, hi_ = {3, 3}; break;
    case Env::pendulum: lo_ = {-pi, -10}, hi_ = {pi, 10}; break;
    case Env::mountain_car: lo_ = {-1.2, -0.07}, hi_ = {0.5, 0.07}; break;
  }
  for (int d = 0; d < 2; ++d) h_[d] = (hi_[d] - lo_[d]) / (n_s - 1);
  grid_.resize(static_cast<std::size_t>(n_s) * n_s);
  for (int i = 0; i < n_s; ++i)
    for (int j = 0; j < n_s; ++j)
      grid_[static_cast<std::size_t>(i * n_s + j)] = {i == n_s - 1 ? hi_[0] : lo_[0] + i * h_[0],
                                                       j == n_s - 1 ? hi_[1] : lo_[1] + j * h_[1]};
  actions_.resize(static_cast<std::size_t>(n_a));
  for (int a = 0; a < n_a; ++a)
    actions_[a] = n_a == 1 ? 0.0 : (a == n_a - 1 ? 1.0 : -1.0 + 2.0 * a / (n_a - 1));
  reward_.resize(grid_.size() * actions_.size());
  for (int s = 0; s < num_states(); ++s)
    for (int a = 0; a < n_a; ++a) reward_[idx(s, a)] = reward(grid_[s], actions_[a]);
}

// Spec lowrank_q.md, table "Tasks" (dynamics of SV-RL svp/*.jl plus velocity noise σε):
//   double integrator: v' = clip(v + 0.1a + σε, ±3), x' = clip(x + 0.1v', ±3)
//   pendulum:          θ' = wrap(θ + 0.1ω), ω' = clip(ω + 0.1(sin θ − ω + a) + σε, ±10)
//   mountain car:      v' = clip(v + 0.001a − 0.0025 cos 3x + σ_mc ε, ±0.07), x' = clip(x + v')
ControlTask::State ControlTask::step(const State& s, double a, double eps) const {
  const double x = s[0], v = s[1];
  switch (env_) {
    case Env::double_integrator: {
      const double v2 = clip(v + 0.1 * a + sigma_ * eps, lo_[1], hi_[1]);
      return {clip(x + 0.1 * v2, lo_[0], hi_[0]), v2};
    }
    case Env::pendulum: {
      constexpr double dt = 0.1;
      return {wrap(x + dt * v), clip(v + dt * (std::sin(x) - v + a) + sigma_ * eps, lo_[1], hi_[1])};
    }
    case Env::mountain_car: {
      const double v2 = clip(v + 0.001 * a - 0.0025 * std::cos(3 * x) +
                                 mountain_car_noise_scale * sigma_ * eps,
                             lo_[1], hi_[1]);
      return {clip(x + v2, lo_[0], hi_[0]), v2};
    }
  }
  return s;
}

// Rewards of the spec's table, earned in the current state (as in SV-RL svp/*.jl):
// −0.5(x² + v²); exp(cos θ − 1) − 0.1a² − 1; +10 at x = 0.5 (the goal, reached by clipping), else −1.
double ControlTask::reward(const State& s, double a) const {
  switch (env_) {
    case Env::double_integrator: return -0.5 * (s[0] * s[0] + s[1] * s[1]);
    case Env::pendulum: return std::exp(std::cos(s[0]) - 1) - 0.1 * a * a - 1;
    case Env::mountain_car: return s[0] >= hi_[0] ? 10.0 : -1.0;
  }
  return 0;
}

// Bilinear interpolation: with u = (x − lo)/h, i = min(⌊u⌋, n−2), f = u − i (and likewise j, g),
// V(x, v) = (1−f)(1−g) V_ij + f(1−g) V_{i+1,j} + (1−f)g V_{i,j+1} + fg V_{i+1,j+1}.
Stencil ControlTask::locate(const State& s) const {
  int cell[2];
  double frac[2];
  for (int d = 0; d < 2; ++d) {
    const double u = (clip(s[d], lo_[d], hi_[d]) - lo_[d]) / h_[d];
    const int i = std::min(static_cast<int>(u), n_s_ - 2);
    cell[d] = i;
    frac[d] = std::min(1.0, std::max(0.0, u - i));
  }
  const int base = cell[0] * n_s_ + cell[1];
  const double f = frac[0], g = frac[1];
  Stencil st;
  st.index = {base, base + n_s_, base + 1, base + n_s_ + 1};
  st.weight = {(1 - f) * (1 - g), f * (1 - g), (1 - f) * g, f * g};
  st.size = 4;
  return st;
}

ControlTask::State ControlTask::sample_state(Rng& rng) const {
  const double x = rng.uniform(lo_[0], hi_[0]);
  const double v = rng.uniform(lo_[1], hi_[1]);
  return {x, v};
}

}  // namespace mpisweep::lowrank_q
