#pragma once
// Value iteration on an Mdp: exact (expectation over ε by Gauss–Hermite quadrature) and Monte
// Carlo (full, or the low-rank variant of Shah et al., NeurIPS 2020, Algorithm 1). Spec:
// lowrank_q.md "Methods". Results depend on the options and seed only, never on the pool size.
#include <mpisweep/core/parallel.hpp>
#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/lowrank_q/mdp.hpp>

#include <Eigen/Dense>

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

namespace mpisweep::lowrank_q {

using QMatrix = Eigen::MatrixXd;  // |S| × |A|

// E[f(ε)], ε ~ N(0, 1), ≈ Σᵢ weight[i] · f(node[i]); exact for polynomials of degree ≤ 13.
// From the 7-point Gauss–Hermite rule ∫ e^{-x²} g(x) dx ≈ Σ wᵢ g(xᵢ) by ε = √2 x, weight = w/√π.
struct Quadrature {
  std::array<double, 7> node, weight;
};
const Quadrature& gauss_hermite7();

// V(s) = max_a Q(s, a).
Eigen::VectorXd state_values(const QMatrix& q);

// (T Q)(s, a) = r(s, a) + γ E_ε[V(s'(s, a, ε))] with V = max_a Q, iterated from Q₀ = 0 until
// ‖Q_{k+1} − Q_k‖∞ ≤ tol (then ‖Q_{k+1} − Q*‖∞ ≤ γ/(1−γ) · tol). Parallel over states.
struct ExactOptions {
  double gamma = 0.9;
  double tol = 1e-9;
  int max_iterations = 100000;
};
struct ExactResult {
  QMatrix q;
  int iterations = 0;
  bool converged = false;
};
// `on_iteration(k, Q_k)` runs after each sweep (e.g. to record errors or poll cancellation).
ExactResult exact_value_iteration(const Mdp& mdp, const ExactOptions& opt, ThreadPool& pool,
                                  const std::function<void(int, const QMatrix&)>& on_iteration = {});

enum class AnchorRule { random, spread };

struct McOptions {
  double gamma = 0.9;
  int iterations = 60;          // T
  int samples = 5;              // N, next states per evaluated entry and round
  bool lowrank = false;         // false: every (s, a) is evaluated ("full")
  int anchors = 8;              // K
  int rank = 3;                 // r, singular values kept by pinv_r
  AnchorRule anchor_rule = AnchorRule::random;
  std::uint64_t seed = 0;
};
struct McResult {
  QMatrix q;                                  // Q_T
  std::vector<std::int64_t> samples_by_iteration;  // cumulative simulator calls after round t
};
// Monte Carlo value iteration from Q₀ = 0. Round t:
//   V_{t−1}(s) = max_a Q_{t−1}(s, a) on the grid;
//   Q̂(s, a) = r(s, a) + γ/N Σ_{n<N} V_{t−1}(s'_n), s'_n from N draws of ε, on the evaluated set;
//   full: Q_t = Q̂ on all of S × A;
//   lowrank: draw K anchor states S# and actions A#, evaluate only Ω = (S × A#) ∪ (S# × A) and set
//   Q_t = Q̂(S, A#) · pinv_r(Q̂(S#, A#)) · Q̂(S#, A).
// Randomness: anchors of round t from Rng(derive_seed(seed, 1), t); the draws of state s in round
// t from Rng(derive_seed(derive_seed(seed, 2), t), s), actions in index order — so the result
// does not depend on the pool size. `on_iteration(t, Q_t)` runs after each round.
McResult mc_value_iteration(const Mdp& mdp, const McOptions& opt, ThreadPool& pool,
                            const std::function<void(int, const QMatrix&)>& on_iteration = {});

// Simulator calls of one round: N·|S|·|A| (full) or N·(|S|K + K|A| − K²) (lowrank).
std::int64_t samples_per_round(const McOptions& opt, int num_states, int num_actions);

// k distinct indices of [0, n), sorted. random: uniform without replacement (partial
// Fisher–Yates); spread: one uniform draw from each of the k blocks [⌊in/k⌋, ⌊(i+1)n/k⌋).
std::vector<int> draw_anchors(int n, int k, AnchorRule rule, Rng& rng);

}  // namespace mpisweep::lowrank_q
