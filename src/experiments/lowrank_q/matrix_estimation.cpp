#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/lowrank_q/matrix_estimation.hpp>

#include <algorithm>
#include <string>

namespace mpisweep::lowrank_q {

Eigen::MatrixXd truncated_pinv(const Eigen::MatrixXd& w, int rank, double rcond,
                               double* condition) {
  if (rank < 1) throw internal_error("truncated_pinv: rank " + std::to_string(rank) + " < 1");
  if (w.size() == 0) return Eigen::MatrixXd::Zero(w.cols(), w.rows());
  // W = U Σ Vᵀ; pinv_r(W) = Σ_{i<r, σᵢ > rcond σ₁} vᵢ uᵢᵀ / σᵢ.
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(w, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const Eigen::VectorXd& s = svd.singularValues();
  const Eigen::Index keep_max = std::min<Eigen::Index>(rank, s.size());
  Eigen::Index keep = 0;
  while (keep < keep_max && s(keep) > rcond * s(0) && s(keep) > 0) ++keep;
  if (condition) *condition = keep == 0 ? 0.0 : s(0) / s(keep - 1);
  const auto u = svd.matrixU().leftCols(keep);
  const auto v = svd.matrixV().leftCols(keep);
  return v * s.head(keep).cwiseInverse().asDiagonal() * u.transpose();
}

Eigen::MatrixXd skeleton_estimate(const Eigen::MatrixXd& cols, const Eigen::MatrixXd& core,
                                  const Eigen::MatrixXd& rows, int rank, double* condition) {
  if (cols.cols() != core.cols() || core.rows() != rows.rows())
    throw internal_error("skeleton_estimate: shapes of C, W and R do not fit");
  // Multiply the small factor first: (C · pinv_r(W)) is m×K, then times R (K×n).
  const Eigen::MatrixXd left = cols * truncated_pinv(core, rank, 1e-13, condition);
  return left * rows;
}

Eigen::MatrixXd anchor_inverse_estimate(const Eigen::MatrixXd& cols, const Eigen::MatrixXd& core,
                                        const Eigen::MatrixXd& rows, double* condition) {
  if (core.rows() != core.cols())
    throw internal_error("anchor_inverse_estimate: the anchor block must be square");
  return skeleton_estimate(cols, core, rows, static_cast<int>(core.rows()), condition);
}

Eigen::MatrixXd estimate_from_anchors(const Eigen::MatrixXd& observed,
                                      std::span<const int> row_anchors,
                                      std::span<const int> col_anchors, int rank) {
  const Eigen::Index m = observed.rows(), n = observed.cols();
  const Eigen::Index k_r = static_cast<Eigen::Index>(row_anchors.size());
  const Eigen::Index k_c = static_cast<Eigen::Index>(col_anchors.size());
  for (int i : row_anchors)
    if (i < 0 || i >= m) throw internal_error("estimate_from_anchors: row anchor out of range");
  for (int j : col_anchors)
    if (j < 0 || j >= n) throw internal_error("estimate_from_anchors: column anchor out of range");
  Eigen::MatrixXd c(m, k_c), w(k_r, k_c), r(k_r, n);
  for (Eigen::Index j = 0; j < k_c; ++j) c.col(j) = observed.col(col_anchors[j]);
  for (Eigen::Index i = 0; i < k_r; ++i) r.row(i) = observed.row(row_anchors[i]);
  for (Eigen::Index i = 0; i < k_r; ++i)
    for (Eigen::Index j = 0; j < k_c; ++j) w(i, j) = observed(row_anchors[i], col_anchors[j]);
  return skeleton_estimate(c, w, r, rank);
}

}  // namespace mpisweep::lowrank_q
