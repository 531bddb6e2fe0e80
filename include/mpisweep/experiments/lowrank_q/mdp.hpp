#pragma once
// Markov decision processes seen through a generative model: states and actions are indices, and
// the next state of (s, a) under noise ε ~ N(0, 1) is given as interpolation weights on the states,
// so that V(s') = Σᵢ wᵢ V(indexᵢ). The three control tasks of the spec (lowrank_q.md "Tasks",
// after Yang et al., ICLR 2020, SV-RL svp/) discretise a 2-D continuous state on a grid and
// evaluate V(s') by bilinear interpolation. Everything here is const and thread-safe.
#include <mpisweep/core/rng.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mpisweep::lowrank_q {

// V(s') = Σ_{i < size} weight[i] · V(index[i]); weights are ≥ 0 and sum to 1.
struct Stencil {
  std::array<std::int32_t, 4> index{};
  std::array<double, 4> weight{};
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
};

enum class Env { double_integrator, pendulum, mountain_car };
Env parse_env(std::string_view name);  // throws param_error("env", ...)
std::string_view to_string(Env env);

// One control task on an n_s × n_s state grid and n_a actions evenly spaced in [-1, 1].
// State index s = i·n_s + j for position-like coordinate i and velocity-like coordinate j.
class ControlTask final : public Mdp {
 public:
  using State = std::array<double, 2>;  // (x, v) or (θ, ω)

  ControlTask(Env env, int n_s, int n_a, double sigma);

  int num_states() const override { return n_s_ * n_s_; }
  int num_actions() const override { return n_a_; }
  double reward(int s, int a) const override { return reward_[idx(s, a)]; }
  Stencil next(int s, int a, double eps) const override {
    return locate(step(grid_[s], actions_[a], eps));
  }

  Env env() const { return env_; }
  int grid_points() const { return n_s_; }
  double sigma() const { return sigma_; }
  const State& grid_state(int s) const { return grid_[s]; }
  double action(int a) const { return actions_[a]; }
  State lower() const { return lo_; }
  State upper() const { return hi_; }

  // One step of the continuous dynamics (spec table "Tasks") with velocity noise eps.
  State step(const State& s, double a, double eps) const;
  double reward(const State& s, double a) const;
  // Bilinear interpolation weights of a continuous state (clamped to the grid's box).
  Stencil locate(const State& s) const;
  // A state drawn uniformly from the box (start states of rollouts).
  State sample_state(Rng& rng) const;

 private:
  std::size_t idx(int s, int a) const {
    return static_cast<std::size_t>(s) * static_cast<std::size_t>(n_a_) + static_cast<std::size_t>(a);
  }

  Env env_;
  int n_s_, n_a_;
  double sigma_;
  State lo_{}, hi_{}, h_{};
  std::vector<State> grid_;
  std::vector<double> actions_;
  std::vector<double> reward_;  // row-major |S| × |A|
};

}  // namespace mpisweep::lowrank_q
