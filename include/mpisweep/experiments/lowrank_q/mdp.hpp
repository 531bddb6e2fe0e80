#pragma once
// Markov decision processes seen through a generative model: states and actions are indices, and
// the next state of (s, a) under noise ε ~ N(0, 1) is given as interpolation weights on the states,
// so that V(s') = Σᵢ wᵢ V(indexᵢ). The control tasks (spec lowrank_q.md "Tasks"; dynamics after
// Yang et al., ICLR 2020, SV-RL svp/*.jl) discretise a d-dimensional continuous state (d = 2, or
// 4 for cart-pole) on a rectangular grid and evaluate V(s') by multilinear interpolation.
// Everything here is const and thread-safe.
#include <mpisweep/core/rng.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mpisweep::lowrank_q {

constexpr int max_dims = 4;

// V(s') = Σ_{i < size} weight[i] · V(index[i]); weights are ≥ 0 and sum to 1. 2^d corners of the
// grid cell around s' for multilinear interpolation in d ≤ 4 dimensions.
struct Stencil {
  std::array<std::int32_t, 16> index{};
  std::array<double, 16> weight{};
  int size = 0;
};

class Mdp {
 public:
  virtual ~Mdp() = default;
  virtual int num_states() const = 0;
  virtual int num_actions() const = 0;
  virtual double reward(int s, int a) const = 0;
  // Next state of (s, a) for the noise value eps (a draw of N(0, 1)).
  virtual Stencil next(int s, int a, double eps) const = 0;
  // True when next() ignores eps: expectations over ε then need one node.
  virtual bool deterministic() const { return false; }
  // The noise values in (−eps_max, eps_max), ascending, at which ε ↦ next(s, a, ε) has a kink:
  // the next state crosses a grid line (its stencil changes cell) or a clip engages. Between two
  // of them the stencil's cell is fixed and its weights are smooth in ε, so a quadrature can
  // integrate piece by piece. Default: none (next() smooth in ε).
  virtual void noise_breaks(int s, int a, double eps_max, std::vector<double>& out) const {
    (void)s, (void)a, (void)eps_max;
    out.clear();
  }
};

enum class Env { double_integrator, pendulum, mountain_car, cartpole };
Env parse_env(std::string_view name);  // throws param_error("env", ...)
std::string_view to_string(Env env);

// `svrl`: the settings of SV-RL's svp/*.jl for the task (grid, actions, γ, noise, time step).
enum class Preset { none, svrl };
Preset parse_preset(std::string_view name);  // throws param_error("preset", ...)

// Everything that defines a task. State coordinates: (x, v) double integrator and mountain car,
// (θ, ω) pendulum, (θ, θ̇, x, ẋ) cart-pole. The noise σε enters the velocity update of the
// first velocity coordinate (v, ω, θ̇; mountain car scales it by 0.01, see mdp.cpp).
struct TaskConfig {
  Env env = Env::double_integrator;
  int dims = 2;
  std::array<int, max_dims> points{};  // grid points per dimension
  int n_a = 50;
  double a_min = -1, a_max = 1;
  double sigma = 0.2;
  double dt = 0.1;     // pendulum's time step (the other tasks' steps are fixed constants)
  double gamma = 0.9;  // the preset's discount; the experiment passes it on
};
// preset none: n_s points per dimension, n_a actions, σ as given, pendulum dt 0.1, γ unset (0.9).
// preset svrl: the SV-RL file's constants; n_s, n_a and sigma are ignored.
TaskConfig task_config(Env env, Preset preset, int n_s, int n_a, double sigma);

class ControlTask final : public Mdp {
 public:
  using State = std::array<double, max_dims>;  // unused trailing coordinates are 0

  explicit ControlTask(const TaskConfig& config);
  // The spec's 2-D tasks (and cart-pole) with n_s points per dimension, preset none.
  ControlTask(Env env, int n_s, int n_a, double sigma);

  int num_states() const override { return static_cast<int>(grid_.size()); }
  int num_actions() const override { return cfg_.n_a; }
  double reward(int s, int a) const override { return reward_[idx(s, a)]; }
  Stencil next(int s, int a, double eps) const override {
    return locate(step(grid_[s], actions_[a], eps));
  }
  bool deterministic() const override { return cfg_.sigma == 0; }
  // Every coordinate of step() is a nondecreasing function of ε (the noise raises one velocity,
  // and the other coordinates depend on it through increasing maps and clips), so each grid
  // line of each coordinate is crossed at most once: bisection finds where.
  void noise_breaks(int s, int a, double eps_max, std::vector<double>& out) const override;

  const TaskConfig& config() const { return cfg_; }
  Env env() const { return cfg_.env; }
  int dims() const { return cfg_.dims; }
  int grid_points() const { return cfg_.points[0]; }
  int grid_points(int d) const { return cfg_.points[d]; }
  double sigma() const { return cfg_.sigma; }
  const State& grid_state(int s) const { return grid_[s]; }
  double action(int a) const { return actions_[a]; }
  State lower() const { return lo_; }
  State upper() const { return hi_; }

  // One step of the continuous dynamics (mdp.cpp, with sources) with velocity noise eps.
  State step(const State& s, double a, double eps) const;
  double reward(const State& s, double a) const;
  // Multilinear interpolation weights of a continuous state (clamped to the grid's box).
  Stencil locate(const State& s) const;
  // A state drawn uniformly from the box (start states of rollouts).
  State sample_state(Rng& rng) const;
  // Point (i, j) of an m × m raster over the first two coordinates, corners on the box's
  // corners; the other coordinates are 0 (cart-pole: the cart at rest in the middle), as in
  // SV-RL's policy heatmaps.
  State raster_state(int i, int j, int m) const;

 private:
  std::size_t idx(int s, int a) const {
    return static_cast<std::size_t>(s) * static_cast<std::size_t>(cfg_.n_a) +
           static_cast<std::size_t>(a);
  }

  TaskConfig cfg_;
  State lo_{}, hi_{}, h_{};
  std::array<int, max_dims> stride_{};
  std::vector<State> grid_;
  std::vector<double> actions_;
  std::vector<double> reward_;  // row-major |S| × |A|
};

}  // namespace mpisweep::lowrank_q
