#pragma once
// Value iteration on an Mdp: exact (expectation over ε by piecewise quadrature) and Monte
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

// Σᵢ weight[i] · f(node[i]), a quadrature rule.
struct Quadrature {
  std::vector<double> node, weight;
};
// The n-point Gauss–Legendre rule on [−1, 1] (exact for polynomials of degree ≤ 2n − 1), by the
// Golub–Welsch eigenvalue method (Golub & Welsch, Math. Comp. 23, 1969): nodes are the
// eigenvalues of the Jacobi matrix with J_{k,k+1} = k/√(4k² − 1), weights 2× the squared first
// components of its unit eigenvectors. Symmetric about 0 (made exact), ascending.
Quadrature gauss_legendre(int n);

// E_ε V(s'(s, a, ε)), ε ~ N(0, 1), integrated piece by piece. V(s'(ε)) is multilinear
// interpolation composed with clipped dynamics: smooth between the kinks of Mdp::noise_breaks,
// not across them, so a single Gauss–Hermite rule converges only algebraically (≈ 2e-4 relative
// at 224 nodes on the spec's double integrator). Here [−8, 8] (mass outside < 2e-15) is cut at
// the kinks and into pieces of width ≤ 1, and each piece [l, u] gets the `order`-point
// Gauss–Legendre rule on V(s'(ε)) φ(ε) (φ the normal density); the weights are rescaled to sum
// to 1 so that constants stay exact. On a piece the integrand is a polynomial of degree ≤ d in ε
// times φ, which the rule integrates to about 4e-10 relative at order 4 and to rounding (1e-14)
// from order 6 on (measured on the spec's double integrator, docs/experiments/lowrank_q.md). Deterministic Mdps get the single node ε = 0.
// One object per thread: rule() reuses its buffers.
class NoiseRule {
 public:
  NoiseRule(const Mdp& mdp, int order);
  // The rule for entry (s, a); valid until the next call. Depends on (s, a, order) only.
  const Quadrature& rule(int s, int a);
  static constexpr double eps_max = 8;

 private:
  const Mdp* mdp_;
  Quadrature legendre_;
  std::vector<double> breaks_;
  Quadrature rule_;
};

// V(s) = max_a Q(s, a).
Eigen::VectorXd state_values(const QMatrix& q);

// (T Q)(s, a) = r(s, a) + γ E_ε[V(s'(s, a, ε))] with V = max_a Q, iterated from Q₀ = 0 until
// ‖Q_{k+1} − Q_k‖∞ ≤ tol (then ‖Q_{k+1} − Q*‖∞ ≤ γ/(1−γ) · tol). Parallel over states.
struct ExactOptions {
  double gamma = 0.9;
  double tol = 1e-9;
  int max_iterations = 100000;
  int quadrature = 6;  // Gauss–Legendre nodes per piece for E_ε (NoiseRule)
};
struct ExactResult {
  QMatrix q;
  int iterations = 0;
  bool converged = false;
};
// `on_iteration(k, Q_k)` runs after each sweep (e.g. to record errors or poll cancellation).
ExactResult exact_value_iteration(
    const Mdp& mdp, const ExactOptions& opt, ThreadPool& pool,
    const std::function<void(int, const QMatrix&)>& on_iteration = {});

// Q* by policy iteration (Howard 1960; Puterman, MDPs, §6.4) with the same quadrature operator:
//   evaluate V^π = r_π + γ P_π V^π (evaluate_policy), improve Q = r + γ P V^π,
//   π'(s) = argmax_a Q(s, a), keeping π(s) when it is within 1e-12·(1 + |max|) of the maximum,
// until π' = π; then V^π = V* and Q = Q*. Up to `store_limit` (s, a) entries P is built once
// and kept (a CSR row per entry); above it P is applied on the fly and needs memory for Q only,
// so it scales to cart-pole's 10⁴ × 1000 entries. `on_improvement(k, Q_k)` runs after
// improvement k.
struct OptimalResult {
  QMatrix q;             // Q*
  Eigen::VectorXd v;     // V* = max_a Q*
  int improvements = 0;  // policy-iteration steps
};
constexpr std::int64_t default_store_limit = std::int64_t{1} << 18;  // 3 MB per nonzero a row
OptimalResult optimal_q(const Mdp& mdp, double gamma, int quadrature, ThreadPool& pool,
                        const std::function<void(int, const QMatrix&)>& on_improvement = {},
                        std::int64_t store_limit = default_store_limit);

// V^π of the deterministic policy π (an action index per state): the fixed point of
// V = r_π + γ P_π V with P_π the quadrature operator, by Jacobi sweeps from `start` (or 0) until
// ‖V_{k+1} − V_k‖∞ ≤ 1e-14·max(1, ‖V_k‖∞), so ‖V − V^π‖∞ ≤ γ/(1−γ) of that.
Eigen::VectorXd evaluate_policy(const Mdp& mdp, const std::vector<int>& policy, double gamma,
                                int quadrature, ThreadPool& pool,
                                const Eigen::VectorXd* start = nullptr);

// π(s) = argmax_a Q(s, a), the first maximiser.
std::vector<int> greedy_policy(const QMatrix& q);

enum class AnchorRule { random, spread };

// How Q is completed from the cross of anchor rows and columns each round.
//   paper:     Q = Q̂(S, A#) · Q̂(S#, A#)⁻¹ · Q̂(S#, A), the inverse of the K × K anchor block,
//              K = r (Shah et al. 2020, §4, Algorithm 1 step 3), as the Moore–Penrose inverse
//              (= the inverse whenever it exists); `rank` is unused.
//   truncated: Q = Q̂(S, A#) · pinv_r(Q̂(S#, A#)) · Q̂(S#, A), K ≥ r anchors and the
//              pseudo-inverse truncated to the r largest singular values (our variant).
enum class Estimator { paper, truncated };

struct McOptions {
  double gamma = 0.9;
  int iterations = 60;   // T
  int samples = 5;       // N, next states per evaluated entry and round
  bool lowrank = false;  // false: every (s, a) is evaluated ("full")
  int anchors = 8;       // K
  int rank = 3;          // r, singular values kept by pinv_r
  AnchorRule anchor_rule = AnchorRule::random;
  Estimator estimator = Estimator::truncated;
  std::uint64_t seed = 0;
};
struct McResult {
  QMatrix q;                                       // Q_T
  std::vector<std::int64_t> samples_by_iteration;  // cumulative simulator calls after round t
  // Largest condition number σ₁/σ_k over the rounds of the part of the anchor block Q̂(S#, A#)
  // that the estimator inverts (its k kept singular values), the noise amplification of the
  // completion (lowrank; 0 for full).
  double anchor_condition = 0;
};
// Monte Carlo value iteration from Q₀ = 0. Round t:
//   V_{t−1}(s) = max_a Q_{t−1}(s, a) on the grid;
//   Q̂(s, a) = r(s, a) + γ/N Σ_{n<N} V_{t−1}(s'_n), s'_n from N draws of ε, on the evaluated set;
//   full: Q_t = Q̂ on all of S × A;
//   lowrank: draw K anchor states S# and actions A#, evaluate only Ω = (S × A#) ∪ (S# × A) and
//   complete Q_t from the cross by `estimator` (see Estimator).
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
