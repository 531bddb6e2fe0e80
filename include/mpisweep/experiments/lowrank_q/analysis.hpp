#pragma once
// Summaries of a Q-function against Q*: spectrum, policy agreement, greedy returns
// (spec lowrank_q.md "Metrics and series").
#include <mpisweep/core/parallel.hpp>
#include <mpisweep/experiments/lowrank_q/mdp.hpp>
#include <mpisweep/experiments/lowrank_q/value_iteration.hpp>

#include <Eigen/Dense>

#include <cstdint>

namespace mpisweep::lowrank_q {

// Singular values σ₁ ≥ σ₂ ≥ … of Q.
Eigen::VectorXd singular_values(const QMatrix& q);

// Smallest k with Σ_{i≤k} σᵢ² ≥ fraction · Σᵢ σᵢ² (the share of Frobenius energy ‖Q‖_F²).
int energy_rank(const Eigen::VectorXd& sigma, double fraction);

// Fraction of states s whose greedy action a = argmax Q(s, ·) (first maximiser) is optimal for
// Q* up to ties: Q*(s, a) ≥ max_b Q*(s, b) − tie_tol.
double policy_agreement(const QMatrix& q, const QMatrix& q_star, double tie_tol);

// ‖A − A*‖∞ with the advantage A(s, a) = Q(s, a) − max_b Q(s, b): the error of Q without its
// state-only part, which changes neither the greedy policy nor this number.
double advantage_error(const QMatrix& q, const QMatrix& q_star);

// Mean over `rollouts` of Σ_{t<steps} γᵗ r(s_t, a_t) for the policy a_t = argmax_a Q(s_t, a), with
// Q(s, a) interpolated bilinearly at the continuous state, from start states uniform on the box.
// Rollout i draws from Rng(derive_seed(seed, 3), i); the mean is taken in rollout order.
double greedy_return(const ControlTask& task, const QMatrix& q, double gamma, int rollouts,
                     int steps, std::uint64_t seed, ThreadPool& pool);

}  // namespace mpisweep::lowrank_q
