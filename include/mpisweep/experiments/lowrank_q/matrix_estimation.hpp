#pragma once
// Matrix estimation from a cross of anchor rows and columns (skeleton / CUR decomposition), the
// completion step of low-rank value iteration (Shah, Song, Xu, Yang, NeurIPS 2020, §4 eq. (3);
// spec lowrank_q.md "Methods"). Pure functions, thread-safe.
#include <Eigen/Dense>

#include <span>

namespace mpisweep::lowrank_q {

// pinv_r(W) = V_r Σ_r⁻¹ U_rᵀ from the SVD W = U Σ Vᵀ, keeping the `rank` largest singular values.
// Singular values ≤ rcond · σ₁ are dropped as well (they are zero to working precision), so the
// result is finite for any W. rank ≥ min(rows, cols) gives the Moore–Penrose pseudo-inverse.
// `condition`, if given, receives σ₁/σ_k of the k singular values kept (1 if k ≤ 1, 0 if none):
// the factor by which the inverse can amplify noise in W.
Eigen::MatrixXd truncated_pinv(const Eigen::MatrixXd& w, int rank, double rcond = 1e-13,
                               double* condition = nullptr);

// M̂ = C · pinv_r(W) · R with C = M(:, A#) (m×K), W = M(S#, A#) (K×K) and R = M(S#, :) (K×n).
// If M has rank ≤ r and W has rank r, M̂ = M exactly (skeleton decomposition).
Eigen::MatrixXd skeleton_estimate(const Eigen::MatrixXd& cols, const Eigen::MatrixXd& core,
                                  const Eigen::MatrixXd& rows, int rank,
                                  double* condition = nullptr);

// The paper's completion (Shah et al. 2020, §4 eq. (3), Algorithm 1): M̂ = C · W⁻¹ · R with the
// inverse of the square anchor block W (K = r anchors). We take the Moore–Penrose inverse, which
// is W⁻¹ whenever W is invertible and also completes an exactly rank-deficient block (e.g. round
// 1 from Q₀ = 0 where the reward ignores the action, so W = r(S#)1ᵀ has rank 1): it is
// skeleton_estimate with rank = K and no truncation beyond rounding (rcond 1e-13).
Eigen::MatrixXd anchor_inverse_estimate(const Eigen::MatrixXd& cols, const Eigen::MatrixXd& core,
                                        const Eigen::MatrixXd& rows, double* condition = nullptr);

// The same estimate from a matrix of observations of which only the cross
// (all rows × col_anchors) ∪ (row_anchors × all cols) is read. Usable on any matrix.
Eigen::MatrixXd estimate_from_anchors(const Eigen::MatrixXd& observed,
                                      std::span<const int> row_anchors,
                                      std::span<const int> col_anchors, int rank);

}  // namespace mpisweep::lowrank_q
