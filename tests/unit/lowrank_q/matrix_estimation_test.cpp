// The matrix-estimation step on its own (spec lowrank_q.md "What a faithful implementation
// reproduces": 200×200 random rank-3 matrix, entry noise uniform in [-δ, δ]).
#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/lowrank_q/matrix_estimation.hpp>
#include <mpisweep/experiments/lowrank_q/value_iteration.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

using namespace mpisweep;
using namespace mpisweep::lowrank_q;

namespace {

Eigen::MatrixXd gaussian(int m, int n, Rng& rng) {
  Eigen::MatrixXd a(m, n);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) a(i, j) = rng.normal();
  return a;
}

// M = U Vᵀ with U, V of i.i.d. N(0, 1) entries: rank `r` almost surely.
Eigen::MatrixXd random_low_rank(int m, int n, int r, Rng& rng) {
  const Eigen::MatrixXd u = gaussian(m, r, rng);
  const Eigen::MatrixXd v = gaussian(n, r, rng);
  return u * v.transpose();
}

Eigen::MatrixXd with_uniform_noise(const Eigen::MatrixXd& m, double delta, Rng& rng) {
  Eigen::MatrixXd out = m;
  for (Eigen::Index j = 0; j < m.cols(); ++j)
    for (Eigen::Index i = 0; i < m.rows(); ++i) out(i, j) += rng.uniform(-delta, delta);
  return out;
}

double sup_norm(const Eigen::MatrixXd& a) { return a.cwiseAbs().maxCoeff(); }

// ‖M − M̂‖∞ for a 200×200 rank-3 matrix observed with noise δ on K random anchors.
double noisy_estimation_error(std::uint64_t seed, int k, int rank, double delta,
                              double* norm = nullptr) {
  Rng rng(seed);
  const Eigen::MatrixXd m = random_low_rank(200, 200, 3, rng);
  const Eigen::MatrixXd obs = with_uniform_noise(m, delta, rng);
  const auto rows = draw_anchors(200, k, AnchorRule::random, rng);
  const auto cols = draw_anchors(200, k, AnchorRule::random, rng);
  if (norm) *norm = sup_norm(m);
  return sup_norm(estimate_from_anchors(obs, rows, cols, rank) - m);
}

constexpr double delta = 1e-3;
constexpr std::uint64_t seeds[] = {1, 2, 3, 4, 5};

}  // namespace

TEST(TruncatedPinv, FullRankIsTheMoorePenroseInverse) {
  Rng rng(11);
  const Eigen::MatrixXd a = gaussian(7, 5, rng);
  const Eigen::MatrixXd p = truncated_pinv(a, 5);
  // The four Penrose conditions.
  EXPECT_LT(sup_norm(a * p * a - a), 1e-12);
  EXPECT_LT(sup_norm(p * a * p - p), 1e-12);
  EXPECT_LT(sup_norm((a * p).transpose() - a * p), 1e-12);
  EXPECT_LT(sup_norm((p * a).transpose() - p * a), 1e-12);
}

TEST(TruncatedPinv, KeepsOnlyTheLargestSingularValues) {
  // W = diag(4, 2, 1e-3) in a rotated basis: pinv_2 inverts 4 and 2 and drops 1e-3.
  Rng rng(12);
  const Eigen::MatrixXd q =
      Eigen::HouseholderQR<Eigen::MatrixXd>(gaussian(3, 3, rng)).householderQ();
  const Eigen::Vector3d s(4, 2, 1e-3);
  const Eigen::MatrixXd w = q * s.asDiagonal() * q.transpose();
  const Eigen::MatrixXd expected = q * Eigen::Vector3d(0.25, 0.5, 0).asDiagonal() * q.transpose();
  EXPECT_LT(sup_norm(truncated_pinv(w, 2) - expected), 1e-12);
  EXPECT_NEAR(truncated_pinv(w, 3).norm(), 1e3, 1e-2);  // the untruncated one blows up
  // A zero singular value is never inverted, whatever the rank asked for.
  EXPECT_TRUE(truncated_pinv(Eigen::MatrixXd::Zero(3, 3), 3).isZero());
}

TEST(SkeletonEstimate, RecoversAnExactlyLowRankMatrixFromItsCross) {
  for (auto seed : seeds) {
    Rng rng(seed);
    const Eigen::MatrixXd m = random_low_rank(200, 150, 3, rng);
    const auto rows = draw_anchors(200, 12, AnchorRule::random, rng);
    const auto cols = draw_anchors(150, 12, AnchorRule::random, rng);
    EXPECT_LT(sup_norm(estimate_from_anchors(m, rows, cols, 3) - m), 1e-9 * sup_norm(m)) << seed;
  }
}

TEST(SkeletonEstimate, ReadsOnlyTheCross) {
  Rng rng(3);
  const Eigen::MatrixXd m = random_low_rank(40, 30, 2, rng);
  const std::vector<int> rows = {1, 7, 20}, cols = {0, 11, 29};
  Eigen::MatrixXd garbage = m;
  for (int i = 0; i < 40; ++i)
    for (int j = 0; j < 30; ++j) {
      bool cross = std::find(rows.begin(), rows.end(), i) != rows.end() ||
                   std::find(cols.begin(), cols.end(), j) != cols.end();
      if (!cross) garbage(i, j) = 1e6;
    }
  EXPECT_LT(sup_norm(estimate_from_anchors(garbage, rows, cols, 2) - m), 1e-9 * sup_norm(m));
}

// Spec: K = 12 anchors and rank-3 truncation keep the ∞-norm error ≤ 10δ.
TEST(SkeletonEstimate, NoisyRank3With12AnchorsStaysWithin10Delta) {
  for (auto seed : seeds) {
    double norm = 0;
    const double e = noisy_estimation_error(seed, 12, 3, delta, &norm);
    std::printf("seed %llu: K=12 r=3 error %.3g delta (|M|inf %.3g)\n",
                static_cast<unsigned long long>(seed), e / delta, norm);
    EXPECT_LE(e, 10 * delta) << seed;
  }
}

// Spec: with K = 2 < rank the cross cannot span a rank-3 matrix: the error is of the order of the
// matrix itself, not of the noise.
TEST(SkeletonEstimate, TwoAnchorsCannotRecoverRank3) {
  for (auto seed : seeds) {
    double norm = 0;
    const double e = noisy_estimation_error(seed, 2, 2, delta, &norm);
    std::printf("seed %llu: K=2 error %.3g (|M|inf %.3g)\n", static_cast<unsigned long long>(seed),
                e, norm);
    EXPECT_GT(e, 0.1 * norm) << seed;
    EXPECT_GT(e, 100 * delta) << seed;
  }
}

// Spec: without truncation (rank = K) the noise singular values of W are inverted.
TEST(SkeletonEstimate, UntruncatedPseudoInverseAmplifiesNoise) {
  for (auto seed : seeds) {
    const double truncated = noisy_estimation_error(seed, 12, 3, delta);
    const double plain = noisy_estimation_error(seed, 12, 12, delta);
    std::printf("seed %llu: K=12 untruncated error %.3g delta vs truncated %.3g delta\n",
                static_cast<unsigned long long>(seed), plain / delta, truncated / delta);
    EXPECT_GT(plain, 10 * delta) << seed;
    EXPECT_GT(plain, 3 * truncated) << seed;
  }
}

// The paper's estimator (Shah et al. 2020, §4: K = r anchors, exact inverse of the anchor block)
// recovers a noiseless rank-r matrix exactly when the anchor block is well conditioned, and
// reports the block's condition number σ₁/σ_r.
TEST(PaperEstimator, ExactOnANoiselessRankRMatrix) {
  for (std::uint64_t seed : {1, 2, 3}) {
    Rng rng(seed);
    const int r = 4;
    const Eigen::MatrixXd m = random_low_rank(120, 80, r, rng);
    const std::vector<int> rows = {3, 40, 77, 101}, cols = {0, 21, 50, 79};
    Eigen::MatrixXd c(120, r), w(r, r), rr(r, 80);
    for (int j = 0; j < r; ++j) c.col(j) = m.col(cols[j]);
    for (int i = 0; i < r; ++i) rr.row(i) = m.row(rows[i]);
    for (int i = 0; i < r; ++i)
      for (int j = 0; j < r; ++j) w(i, j) = m(rows[i], cols[j]);
    double cond = 0;
    const Eigen::MatrixXd est = anchor_inverse_estimate(c, w, rr, &cond);
    const Eigen::VectorXd sv = Eigen::JacobiSVD<Eigen::MatrixXd>(w).singularValues();
    EXPECT_NEAR(cond, sv(0) / sv(r - 1), 1e-9 * cond);
    ASSERT_LT(cond, 1e4) << "anchors not well conditioned for seed " << seed;
    EXPECT_LT(sup_norm(est - m), 1e-10 * sup_norm(m)) << seed;
  }
  // With K = r + 1 anchors the block of a rank-r matrix is singular: the inverse is then the
  // Moore–Penrose one (the rank-r part), still exact, and the condition counts r values.
  Rng rng(7);
  const Eigen::MatrixXd m = random_low_rank(60, 50, 2, rng);
  const std::vector<int> rows = {1, 20, 45}, cols = {2, 30, 49};
  double cond = 0;
  const Eigen::MatrixXd est = estimate_from_anchors(m, rows, cols, 3);
  EXPECT_LT(sup_norm(est - m), 1e-9 * sup_norm(m));
  Eigen::MatrixXd w(3, 3);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) w(i, j) = m(rows[i], cols[j]);
  truncated_pinv(w, 3, 1e-13, &cond);
  const Eigen::VectorXd sv = Eigen::JacobiSVD<Eigen::MatrixXd>(w).singularValues();
  EXPECT_NEAR(cond, sv(0) / sv(1), 1e-6 * cond);
}

// A diagonal block diag(4, 2, 0.5): condition 8 when all three are kept, 2 when rank 2.
TEST(PaperEstimator, ConditionOfTheInvertedPart) {
  Eigen::MatrixXd w = Eigen::Vector3d(4, 2, 0.5).asDiagonal();
  double cond = 0;
  truncated_pinv(w, 3, 1e-13, &cond);
  EXPECT_DOUBLE_EQ(cond, 8.0);
  truncated_pinv(w, 2, 1e-13, &cond);
  EXPECT_DOUBLE_EQ(cond, 2.0);
}
