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
  if (name == "cartpole") return Env::cartpole;
  throw param_error("env", "unknown task '" + std::string(name) +
                               "'; expected double_integrator, pendulum, mountain_car or cartpole");
}

std::string_view to_string(Env env) {
  switch (env) {
    case Env::double_integrator: return "double_integrator";
    case Env::pendulum: return "pendulum";
    case Env::mountain_car: return "mountain_car";
    case Env::cartpole: return "cartpole";
  }
  return "?";
}

Preset parse_preset(std::string_view name) {
  if (name == "none") return Preset::none;
  if (name == "svrl") return Preset::svrl;
  throw param_error("preset", "unknown preset '" + std::string(name) + "'; expected none or svrl");
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
// Cart-pole (SV-RL svp/CartPole.jl, the Barto–Sutton–Anderson 1983 pole): g, cart and pole mass,
// half-length of the pole, time step, reward sharpness.
constexpr double cp_g = 9.8, cp_mc = 1.0, cp_mp = 0.1, cp_l = 0.5, cp_dt = 0.1, cp_k = 15;
}  // namespace

TaskConfig task_config(Env env, Preset preset, int n_s, int n_a, double sigma) {
  TaskConfig c;
  c.env = env;
  c.dims = env == Env::cartpole ? 4 : 2;
  if (env == Env::cartpole) c.a_min = -10, c.a_max = 10;
  if (preset == Preset::none) {
    c.points.fill(n_s);
    c.n_a = n_a;
    c.sigma = sigma;
    return c;
  }
  // SV-RL svp/*.jl: 50 × 50 grids (cart-pole 10⁴), 1000 actions, γ = 0.95 (MDPs.jl), and
  // deterministic dynamics, except the pendulum's ω noise of 0.5° (InvertedPendulum.jl NOISE)
  // and its time step DT = (MV/MP)·π/VMAX = π/10.
  c.points.fill(env == Env::cartpole ? 10 : 50);
  c.n_a = 1000;
  c.gamma = 0.95;
  c.sigma = env == Env::pendulum ? 0.5 * pi / 180 : 0.0;
  if (env == Env::pendulum) c.dt = pi / 10;
  return c;
}

ControlTask::ControlTask(Env env, int n_s, int n_a, double sigma)
    : ControlTask(task_config(env, Preset::none, n_s, n_a, sigma)) {}

ControlTask::ControlTask(const TaskConfig& config) : cfg_(config) {
  const int d_count = cfg_.dims;
  for (int d = 0; d < d_count; ++d)
    if (cfg_.points[d] < 2) throw param_error("n_s", "needs at least 2 grid points per dimension");
  if (cfg_.n_a < 1) throw param_error("n_a", "needs at least 1 action");
  if (!(cfg_.sigma >= 0)) throw param_error("sigma", "must be >= 0");
  switch (cfg_.env) {
    case Env::double_integrator: lo_ = {-3, -3}, hi_ = {3, 3}; break;
    case Env::pendulum: lo_ = {-pi, -10}, hi_ = {pi, 10}; break;
    case Env::mountain_car: lo_ = {-1.2, -0.07}, hi_ = {0.5, 0.07}; break;
    case Env::cartpole: lo_ = {-pi / 2, -3, -2.4, -3.5}, hi_ = {pi / 2, 3, 2.4, 3.5}; break;
  }
  std::size_t count = 1;
  for (int d = d_count - 1; d >= 0; --d) {
    h_[d] = (hi_[d] - lo_[d]) / (cfg_.points[d] - 1);
    stride_[d] = static_cast<int>(count);
    count *= static_cast<std::size_t>(cfg_.points[d]);
  }
  // Row-major over the coordinates, the first slowest: s = Σ_d i_d · stride_d.
  grid_.resize(count);
  for (std::size_t s = 0; s < count; ++s) {
    State st{};
    for (int d = 0; d < d_count; ++d) {
      const int i = static_cast<int>(s / stride_[d]) % cfg_.points[d];
      st[d] = i == cfg_.points[d] - 1 ? hi_[d] : lo_[d] + i * h_[d];
    }
    grid_[s] = st;
  }
  const int n_a = cfg_.n_a;
  actions_.resize(static_cast<std::size_t>(n_a));
  const double span = cfg_.a_max - cfg_.a_min;
  for (int a = 0; a < n_a; ++a)
    actions_[a] = n_a == 1 ? 0.5 * (cfg_.a_min + cfg_.a_max)
                           : (a == n_a - 1 ? cfg_.a_max : cfg_.a_min + span * a / (n_a - 1));
  reward_.resize(grid_.size() * actions_.size());
  for (int s = 0; s < num_states(); ++s)
    for (int a = 0; a < n_a; ++a) reward_[idx(s, a)] = reward(grid_[s], actions_[a]);
}

// Dynamics of SV-RL svp/*.jl with velocity noise σε (spec table "Tasks"):
//   double integrator: v' = clip(v + 0.1a + σε, ±3), x' = clip(x + 0.1v', ±3)
//   pendulum:          θ' = wrap(θ + dt·ω), ω' = clip(ω + dt(sin θ − ω + a) + σε, ±10)
//   mountain car:      v' = clip(v + 0.001a − 0.0025 cos 3x + σ_mc ε, ±0.07), x' = clip(x + v')
//   cart-pole (force a ∈ [-10, 10], m = m_c + m_p):
//     f = (a + m_p l θ̇² sin θ)/m,  θ̈ = (g sin θ − f cos θ) / (l (4/3 − m_p cos² θ / m)),
//     ẍ = f − m_p l θ̈ cos θ / m;  θ' = clip(θ + dt θ̇, ±π/2), θ̇' = clip(θ̇ + dt θ̈ + σε, ±3),
//     x' = clip(x + dt ẋ, ±2.4), ẋ' = clip(ẋ + dt ẍ, ±3.5)   (explicit Euler, dt = 0.1)
ControlTask::State ControlTask::step(const State& s, double a, double eps) const {
  const double sigma = cfg_.sigma;
  switch (cfg_.env) {
    case Env::double_integrator: {
      const double v2 = clip(s[1] + 0.1 * a + sigma * eps, lo_[1], hi_[1]);
      return {clip(s[0] + 0.1 * v2, lo_[0], hi_[0]), v2};
    }
    case Env::pendulum: {
      const double dt = cfg_.dt;
      return {wrap(s[0] + dt * s[1]),
              clip(s[1] + dt * (std::sin(s[0]) - s[1] + a) + sigma * eps, lo_[1], hi_[1])};
    }
    case Env::mountain_car: {
      const double v2 = clip(
          s[1] + 0.001 * a - 0.0025 * std::cos(3 * s[0]) + mountain_car_noise_scale * sigma * eps,
          lo_[1], hi_[1]);
      return {clip(s[0] + v2, lo_[0], hi_[0]), v2};
    }
    case Env::cartpole: {
      const double th = s[0], thd = s[1], xd = s[3];
      const double sin_t = std::sin(th), cos_t = std::cos(th), m = cp_mp + cp_mc;
      const double f = (a + cp_mp * cp_l * thd * thd * sin_t) / m;
      const double th_acc =
          (cp_g * sin_t - cos_t * f) / (cp_l * (4.0 / 3.0 - cp_mp * cos_t * cos_t / m));
      const double x_acc = f - cp_mp * cp_l * th_acc * cos_t / m;
      return {clip(th + cp_dt * thd, lo_[0], hi_[0]),
              clip(thd + cp_dt * th_acc + sigma * eps, lo_[1], hi_[1]),
              clip(s[2] + cp_dt * xd, lo_[2], hi_[2]), clip(xd + cp_dt * x_acc, lo_[3], hi_[3])};
    }
  }
  return s;
}

// Rewards, earned in the current state (as in SV-RL svp/*.jl): −0.5(x² + v²);
// exp(cos θ − 1) − 0.1a² − 1; +10 at x = 0.5 (the goal, reached by clipping), else −1;
// cart-pole cos⁴(15θ).
double ControlTask::reward(const State& s, double a) const {
  switch (cfg_.env) {
    case Env::double_integrator: return -0.5 * (s[0] * s[0] + s[1] * s[1]);
    case Env::pendulum: return std::exp(std::cos(s[0]) - 1) - 0.1 * a * a - 1;
    case Env::mountain_car: return s[0] >= hi_[0] ? 10.0 : -1.0;
    case Env::cartpole: {
      const double c = std::cos(cp_k * s[0]);
      return (c * c) * (c * c);
    }
  }
  return 0;
}

// Multilinear interpolation: per coordinate d, u = (x_d − lo_d)/h_d, cell i_d = min(⌊u⌋, n_d − 2),
// fraction f_d = u − i_d; corner c (bit d of c: lower or upper node in coordinate d) gets the
// weight Π_d (bit ? f_d : 1 − f_d). In 2-D: (1−f)(1−g), f(1−g), (1−f)g, fg.
Stencil ControlTask::locate(const State& s) const {
  const int d_count = cfg_.dims;
  int base = 0;
  double frac[max_dims];
  for (int d = 0; d < d_count; ++d) {
    const double u = (clip(s[d], lo_[d], hi_[d]) - lo_[d]) / h_[d];
    const int i = std::min(static_cast<int>(u), cfg_.points[d] - 2);
    base += i * stride_[d];
    frac[d] = std::min(1.0, std::max(0.0, u - i));
  }
  Stencil st;
  st.size = 1 << d_count;
  for (int c = 0; c < st.size; ++c) {
    int index = base;
    double w = 1;
    for (int d = 0; d < d_count; ++d) {
      const bool upper = (c >> d) & 1;
      index += upper ? stride_[d] : 0;
      w *= upper ? frac[d] : 1 - frac[d];
    }
    st.index[c] = index;
    st.weight[c] = w;
  }
  return st;
}

// For each coordinate d of s' that moves with ε (s'_d(−E) < s'_d(E), E = eps_max), the kinks
// are where s'_d meets a grid line g of d, which includes the clip bounds (the box's faces are
// grid lines). s'_d is nondecreasing, so for g inside (s'_d(−E), s'_d(E)] the kink is
// inf{ε : s'_d(ε) ≥ g}; where s'_d starts clipped at the lower face, the kink is where it leaves:
// sup{ε : s'_d(ε) ≤ lo_d}. Each is found by 30 bisection steps, to δ = 2E/2³⁰ < 2e-8 for
// E ≤ 8: a kink misplaced by δ costs the piecewise rule O(δ²) ≈ 1e-16 relative, and 30 steps
// instead of 56 halve the cost of Q* on the noisy tasks.
void ControlTask::noise_breaks(int s, int a, double eps_max, std::vector<double>& out) const {
  out.clear();
  if (deterministic()) return;
  const State& x = grid_[s];
  const double u = actions_[a];
  const State low = step(x, u, -eps_max), high = step(x, u, eps_max);
  for (int d = 0; d < cfg_.dims; ++d) {
    if (!(low[d] < high[d])) continue;  // does not move with ε
    // Smallest ε with s'_d(ε) ≥ g (at_most: largest with s'_d(ε) ≤ g).
    auto crossing = [&](double g, bool at_most) {
      double lo = -eps_max, hi = eps_max;
      for (int it = 0; it < 30; ++it) {
        const double mid = 0.5 * (lo + hi), v = step(x, u, mid)[d];
        if (at_most ? v <= g : v < g)
          lo = mid;
        else
          hi = mid;
      }
      return 0.5 * (lo + hi);
    };
    const int n = cfg_.points[d];
    const int first = std::max(0, static_cast<int>(std::floor((low[d] - lo_[d]) / h_[d])));
    const int last = std::min(n - 1, static_cast<int>(std::ceil((high[d] - lo_[d]) / h_[d])));
    for (int i = first; i <= last; ++i) {
      const double g = i == n - 1 ? hi_[d] : lo_[d] + i * h_[d];  // as the grid's states
      if (g == low[d] && i == 0)
        out.push_back(crossing(g, true));
      else if (g > low[d] && g <= high[d])
        out.push_back(crossing(g, false));
    }
  }
  std::sort(out.begin(), out.end());
}

ControlTask::State ControlTask::sample_state(Rng& rng) const {
  State s{};
  for (int d = 0; d < cfg_.dims; ++d) s[d] = rng.uniform(lo_[d], hi_[d]);
  return s;
}

ControlTask::State ControlTask::raster_state(int i, int j, int m) const {
  State s{};
  for (int d = 2; d < cfg_.dims; ++d) s[d] = clip(0.0, lo_[d], hi_[d]);
  const double t0 = m > 1 ? double(i) / (m - 1) : 0.5, t1 = m > 1 ? double(j) / (m - 1) : 0.5;
  s[0] = i == m - 1 ? hi_[0] : lo_[0] + t0 * (hi_[0] - lo_[0]);
  s[1] = j == m - 1 ? hi_[1] : lo_[1] + t1 * (hi_[1] - lo_[1]);
  return s;
}

}  // namespace mpisweep::lowrank_q
