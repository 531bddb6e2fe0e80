// MLP, Adam and the learned closure (specs/kinetic_closure.md "Closures"; equations in mlp.hpp).
#include <cmath>
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/kinetic_closure/mlp.hpp>
#include <numeric>

namespace mpisweep::kinetic {

namespace {
constexpr std::size_t sample_chunk = 64;  // fixed work unit: results independent of threads

// softsign(z) = z/(1 + |z|), derivative 1/(1 + |z|)² = (1 − |a|)²; relu(z) = max(z, 0),
// derivative 1 where a > 0 (0 at the kink).
Eigen::MatrixXd activation(Activation f, const Eigen::MatrixXd& z) {
  if (f == Activation::relu) return z.cwiseMax(0.0);
  return (z.array() / (1.0 + z.array().abs())).matrix();
}
Eigen::ArrayXXd activation_slope(Activation f, const Eigen::MatrixXd& a) {
  if (f == Activation::relu) return (a.array() > 0.0).cast<double>();
  return (1.0 - a.array().abs()).square();
}
}  // namespace

Mlp::Mlp(std::vector<int> sizes, Rng& rng, double output_scale, bool linear_skip,
         Activation activation)
    : sizes_(std::move(sizes)), act_(activation) {
  if (sizes_.size() < 2) throw internal_error("Mlp: need at least input and output sizes");
  Eigen::Index n = 0;
  for (std::size_t l = 1; l < sizes_.size(); ++l) {
    w_off_.push_back(n);
    n += Eigen::Index(sizes_[l]) * sizes_[l - 1];
    b_off_.push_back(n);
    n += sizes_[l];
  }
  if (linear_skip) {
    skip_off_ = n;
    n += Eigen::Index(sizes_.back()) * sizes_.front();
  }
  theta_.setZero(n);
  for (std::size_t l = 1; l < sizes_.size(); ++l) {
    const double sd = std::sqrt(1.0 / sizes_[l - 1]) * (l + 1 == sizes_.size() ? output_scale : 1);
    for (Eigen::Index i = 0; i < Eigen::Index(sizes_[l]) * sizes_[l - 1]; ++i)
      theta_[w_off_[l - 1] + i] = sd * rng.normal();
  }
}

Eigen::MatrixXd Mlp::forward(const Eigen::MatrixXd& X) const {
  Eigen::MatrixXd a = X;
  for (std::size_t l = 1; l < sizes_.size(); ++l) {
    Eigen::Map<const Eigen::MatrixXd> W(theta_.data() + w_off_[l - 1], sizes_[l], sizes_[l - 1]);
    Eigen::Map<const Eigen::VectorXd> b(theta_.data() + b_off_[l - 1], sizes_[l]);
    Eigen::MatrixXd z = W * a;
    z.colwise() += b;
    if (l + 1 < sizes_.size()) z = activation(act_, z);
    a = std::move(z);
  }
  if (linear_skip()) a.noalias() += skip() * X;
  return a;
}

Eigen::MatrixXd Mlp::forward_tangents(const Eigen::MatrixXd& X,
                                      std::vector<Eigen::MatrixXd>& dY) const {
  Eigen::MatrixXd a = X;
  dY.assign(std::size_t(X.rows()), Eigen::MatrixXd());
  for (Eigen::Index f = 0; f < X.rows(); ++f) {
    dY[std::size_t(f)] = Eigen::MatrixXd::Zero(X.rows(), X.cols());
    dY[std::size_t(f)].row(f).setOnes();
  }
  for (std::size_t l = 1; l < sizes_.size(); ++l) {
    Eigen::Map<const Eigen::MatrixXd> W(theta_.data() + w_off_[l - 1], sizes_[l], sizes_[l - 1]);
    Eigen::Map<const Eigen::VectorXd> b(theta_.data() + b_off_[l - 1], sizes_[l]);
    Eigen::MatrixXd z = W * a;
    z.colwise() += b;
    const bool hidden = l + 1 < sizes_.size();
    if (hidden) z = activation(act_, z);
    for (auto& t : dY) {
      Eigen::MatrixXd nt = W * t;
      if (hidden) nt = (nt.array() * activation_slope(act_, z)).matrix();
      t = std::move(nt);
    }
    a = std::move(z);
  }
  if (linear_skip()) {
    a.noalias() += skip() * X;
    for (Eigen::Index f = 0; f < X.rows(); ++f) dY[std::size_t(f)].colwise() += skip().col(f);
  }
  return a;
}

void Mlp::backward(const Eigen::MatrixXd& X, const Eigen::MatrixXd& dY,
                   Eigen::VectorXd& grad) const {
  const std::size_t L = sizes_.size() - 1;
  std::vector<Eigen::MatrixXd> act(L + 1);
  act[0] = X;
  for (std::size_t l = 1; l <= L; ++l) {
    Eigen::Map<const Eigen::MatrixXd> W(theta_.data() + w_off_[l - 1], sizes_[l], sizes_[l - 1]);
    Eigen::Map<const Eigen::VectorXd> b(theta_.data() + b_off_[l - 1], sizes_[l]);
    Eigen::MatrixXd z = W * act[l - 1];
    z.colwise() += b;
    act[l] = l < L ? activation(act_, z) : z;
  }
  if (linear_skip()) {
    Eigen::Map<Eigen::MatrixXd> gA(grad.data() + skip_off_, sizes_.back(), sizes_.front());
    gA.noalias() += dY * X.transpose();
  }
  Eigen::MatrixXd delta = dY;
  for (std::size_t l = L; l >= 1; --l) {
    Eigen::Map<const Eigen::MatrixXd> W(theta_.data() + w_off_[l - 1], sizes_[l], sizes_[l - 1]);
    Eigen::Map<Eigen::MatrixXd> gW(grad.data() + w_off_[l - 1], sizes_[l], sizes_[l - 1]);
    Eigen::Map<Eigen::VectorXd> gb(grad.data() + b_off_[l - 1], sizes_[l]);
    gW.noalias() += delta * act[l - 1].transpose();
    gb += delta.rowwise().sum();
    if (l > 1) {
      Eigen::MatrixXd back = W.transpose() * delta;
      delta = (back.array() * activation_slope(act_, act[l - 1])).matrix();
    }
  }
}

Adam::Adam(Eigen::Index n, double lr, double beta1, double beta2, double eps)
    : m_(Eigen::VectorXd::Zero(n)),
      v_(Eigen::VectorXd::Zero(n)),
      lr_(lr),
      b1_(beta1),
      b2_(beta2),
      eps_(eps) {}

void Adam::step(Eigen::VectorXd& theta, const Eigen::VectorXd& g) {
  ++t_;
  m_ = b1_ * m_ + (1 - b1_) * g;
  v_ = b2_ * v_ + (1 - b2_) * g.cwiseProduct(g);
  const double c1 = 1 - std::pow(b1_, double(t_)), c2 = 1 - std::pow(b2_, double(t_));
  theta.array() -= lr_ * (m_.array() / c1) / ((v_.array() / c2).sqrt() + eps_);
}

}  // namespace mpisweep::kinetic
