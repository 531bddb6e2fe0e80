// The moment model against the kinetic right-hand side, the MLP's backpropagation against finite
// differences, and the learned closure's symmetries (specs/kinetic_closure.md "Model",
// "Closures").
#include <gtest/gtest.h>

#include "made_up_closure.hpp"

#include <cmath>
#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/kinetic_closure/kinetic.hpp>
#include <mpisweep/experiments/kinetic_closure/mlp.hpp>
#include <mpisweep/experiments/kinetic_closure/moment.hpp>
#include <numbers>
#include <ostream>

using namespace mpisweep;
using namespace mpisweep::kinetic;

namespace {
constexpr double pi = std::numbers::pi;
}

TEST(Moment, RightHandSideIsTheThetaMomentOfTheKineticOneGivenTheTrueS) {
  ThreadPool pool(2);
  KineticConfig kc{
      .alpha = -2, .zeta = 0.4, .dT = 0.05, .dR = 0.05, .L = 10, .N = 16, .Ntheta = 17, .dt = 0.02};
  KineticSolver kin(kc, pool);
  Rng rng(11);
  double a[6];
  for (auto& v : a) v = rng.uniform(-1, 1);
  kin.set_state([&](double x, double y, double th) {
    const double k = 2 * pi / 10;
    return (1 + 0.3 * a[0] * std::cos(k * x + 2 * th + a[1]) +
            0.3 * a[2] * std::sin(2 * k * y - 2 * th) +
            0.2 * a[3] * std::cos(k * (x - y) + 4 * th + a[4]) +
            0.1 * a[5] * std::cos(3 * k * y + 6 * th)) /
           (2 * pi);
  });
  for (int i = 0; i < 5; ++i) kin.step();  // a generic state with every harmonic populated

  CMatrix n(kin.state().rows(), kin.state().cols());
  kin.explicit_rhs(kin.state(), n);
  for (int m = -kin.modes(); m <= kin.modes(); ++m)
    for (Eigen::Index q = 0; q < n.cols(); ++q)
      n(m + kin.modes(), q) += kin.linear(m, std::size_t(q)) * kin.state()(m + kin.modes(), q);
  const auto kinetic_rhs = kin.moments_hat(n);

  const MomentFields f = kin.moments();
  std::vector<Harmonic4> truth(f.c.size());
  for (std::size_t p = 0; p < truth.size(); ++p) truth[p] = {f.c4[p] / f.c[p], f.s4[p] / f.c[p]};
  FixedClosure closure(truth);
  MomentSolver mom({.alpha = kc.alpha,
                    .zeta = kc.zeta,
                    .dT = kc.dT,
                    .dR = kc.dR,
                    .L = kc.L,
                    .N = kc.N,
                    .dt = kc.dt},
                   closure, pool);
  const auto mh = kin.moments_hat(kin.state());
  MomentSolver::Fields d{mh[1], mh[2], mh[3]}, rhs;
  mom.explicit_rhs(d, rhs);
  double scale = 0, err = 0;
  for (int c = 0; c < 3; ++c) {
    for (std::size_t q = 0; q < rhs[c].size(); ++q) {
      const cplx full = rhs[c][q] - kc.dT * mom.grid().k2(q) * d[c][q];
      err = std::max(err, std::abs(full - kinetic_rhs[1 + c][q]));
      scale = std::max(scale, std::abs(kinetic_rhs[1 + c][q]));
    }
  }
  EXPECT_GT(scale, 1e-3);
  EXPECT_LT(err, 1e-13 * std::max(1.0, scale)) << "scale " << scale;
}

// Softsign without and with the linear skip of the unbounded closure heads (Y += A X), and ReLU
// hidden units with the skip (ClosureHead::unbounded_relu).
struct MlpVariant {
  bool skip;
  Activation act;
};
void PrintTo(const MlpVariant& v, std::ostream* os) {
  *os << (v.skip ? "skip, " : "no skip, ") << (v.act == Activation::relu ? "relu" : "softsign");
}
class MlpSkip : public ::testing::TestWithParam<MlpVariant> {};
INSTANTIATE_TEST_SUITE_P(Mlp, MlpSkip,
                         ::testing::Values(MlpVariant{false, Activation::softsign},
                                           MlpVariant{true, Activation::softsign},
                                           MlpVariant{true, Activation::relu}),
                         [](const auto& param_info) {
                           return std::string(param_info.param.skip ? "Skip" : "NoSkip") +
                                  (param_info.param.act == Activation::relu ? "Relu" : "");
                         });

TEST_P(MlpSkip, BackpropagationMatchesFiniteDifferences) {
  Rng rng(3);
  Mlp net({4, 7, 6, 2}, rng, 1.0, GetParam().skip, GetParam().act);
  for (Eigen::Index i = 0; i < net.params().size(); ++i) net.params()[i] += 0.1 * rng.normal();
  Eigen::MatrixXd X(4, 5), W(2, 5);
  for (Eigen::Index i = 0; i < X.size(); ++i) X.data()[i] = rng.normal();
  for (Eigen::Index i = 0; i < W.size(); ++i) W.data()[i] = rng.normal();
  auto loss = [&] { return (net.forward(X).array() * W.array()).sum(); };  // dL/dY = W
  Eigen::VectorXd g = Eigen::VectorXd::Zero(net.params().size());
  net.backward(X, W, g);
  const double h = 1e-6;
  double worst = 0;
  for (Eigen::Index i = 0; i < net.params().size(); ++i) {
    const double keep = net.params()[i];
    net.params()[i] = keep + h;
    const double lp = loss();
    net.params()[i] = keep - h;
    const double lm = loss();
    net.params()[i] = keep;
    const double fd = (lp - lm) / (2 * h);
    worst = std::max(worst, std::abs(fd - g[i]) / std::max(1.0, std::abs(fd)));
  }
  EXPECT_LT(worst, 1e-7);
}

TEST(Mlp, AdamFitsASmoothFunction) {
  Rng rng(5);
  Mlp net({1, 16, 1}, rng);
  Adam adam(net.params().size(), 1e-2);
  Eigen::MatrixXd X(1, 64), T(1, 64);
  for (int i = 0; i < 64; ++i) {
    X(0, i) = -1 + 2.0 * i / 63;
    T(0, i) = std::sin(2 * X(0, i));
  }
  double first = 0, last = 0;
  for (int it = 0; it < 2000; ++it) {
    const Eigen::MatrixXd E = net.forward(X) - T;
    const double l = E.squaredNorm() / 64;
    if (it == 0) first = l;
    last = l;
    Eigen::VectorXd g = Eigen::VectorXd::Zero(net.params().size());
    net.backward(X, 2 * E / 64, g);
    adam.step(net.params(), g);
  }
  EXPECT_LT(last, 1e-3 * first);
}

namespace {
struct Point {
  double c;
  Sym2 D;
  double gxx, gxy, gyx;
};
Harmonic4 eval(const NnClosure& nn, const Point& p) {
  Harmonic4 out;
  const ClosureInput in{&p.c, &p.D.xx, &p.D.xy, &p.D.yy, &p.gxx, &p.gxy, &p.gyx};
  nn.evaluate(in, 0, 1, &out);
  return out;
}
// Rotation by ψ: D → R D Rᵀ, G → R G Rᵀ.
Point rotate(const Point& p, double psi) {
  const double c = std::cos(psi), s = std::sin(psi);
  auto rot = [&](double a11, double a12, double a21, double a22, double* o) {
    // R A Rᵀ with R = [[c, −s], [s, c]]
    const double b11 = c * a11 - s * a21, b12 = c * a12 - s * a22;
    const double b21 = s * a11 + c * a21, b22 = s * a12 + c * a22;
    o[0] = b11 * c - b12 * s;
    o[1] = b11 * s + b12 * c;
    o[2] = b21 * c - b22 * s;
    o[3] = b21 * s + b22 * c;
  };
  double d[4], g[4];
  rot(p.D.xx, p.D.xy, p.D.xy, p.D.yy, d);
  rot(p.gxx, p.gxy, p.gyx, -p.gxx, g);
  return {p.c, {d[0], d[1], d[3]}, g[0], g[1], g[2]};
}
}  // namespace

TEST_P(MlpSkip, ForwardTangentsMatchFiniteDifferences) {
  Rng rng(4);
  Mlp net({3, 5, 4, 2}, rng, 1.0, GetParam().skip, GetParam().act);
  for (Eigen::Index i = 0; i < net.params().size(); ++i) net.params()[i] += 0.1 * rng.normal();
  Eigen::MatrixXd X(3, 4);
  for (Eigen::Index i = 0; i < X.size(); ++i) X.data()[i] = rng.normal();
  std::vector<Eigen::MatrixXd> dY;
  const Eigen::MatrixXd Y = net.forward_tangents(X, dY);
  EXPECT_LT((Y - net.forward(X)).cwiseAbs().maxCoeff(), 1e-15);
  const double h = 1e-6;
  for (int f = 0; f < 3; ++f) {
    Eigen::MatrixXd Xp = X, Xm = X;
    Xp.row(f).array() += h;
    Xm.row(f).array() -= h;
    const Eigen::MatrixXd fd = (net.forward(Xp) - net.forward(Xm)) / (2 * h);
    EXPECT_LT((fd - dY[std::size_t(f)]).cwiseAbs().maxCoeff(), 1e-8) << "input " << f;
  }
}

TEST(NnClosure, RotationEquivariantAndReflectionSymmetric) {
  for (auto [model, head] : {std::pair{ClosureModel::direct, ClosureHead::bounded},
                             {ClosureModel::residual, ClosureHead::bounded},
                             {ClosureModel::direct, ClosureHead::unbounded},
                             {ClosureModel::residual, ClosureHead::unbounded},
                             {ClosureModel::direct, ClosureHead::unbounded_relu}}) {
    Rng rng(9);
    NnClosure nn(model, ClosureInputs::mu1_EW, false, 8, 2, rng, head);
    for (Eigen::Index i = 0; i < nn.net().params().size(); ++i)
      nn.net().params()[i] = rng.normal();  // far from any fit on purpose
    const Point p{1.1, {0.7, 0.15, 0.4}, 0.3, -0.2, 0.5};
    const Harmonic4 h = eval(nn, p);
    EXPECT_GT(std::abs(h.s4), 1e-6);  // the odd part is exercised
    for (double psi : {0.3, 1.0, 2.5}) {
      const Harmonic4 hr = eval(nn, rotate(p, psi));
      // A fourth harmonic rotates by e^{4iψ}.
      const double c4 = h.c4 * std::cos(4 * psi) - h.s4 * std::sin(4 * psi);
      const double s4 = h.s4 * std::cos(4 * psi) + h.c4 * std::sin(4 * psi);
      EXPECT_NEAR(hr.c4, c4, 1e-12);
      EXPECT_NEAR(hr.s4, s4, 1e-12);
    }
    // Reflection y → −y: D12, G12, G21 change sign; (C4, S4) → (C4, −S4).
    const Point m{p.c, {p.D.xx, -p.D.xy, p.D.yy}, p.gxx, -p.gxy, -p.gyx};
    const Harmonic4 hm = eval(nn, m);
    EXPECT_NEAR(hm.c4, h.c4, 1e-12);
    EXPECT_NEAR(hm.s4, -h.s4, 1e-12);
  }
}

// The direct model has no Bingham inside: trained on samples of a made-up closure
// C̃4/c = 0.3 r² + 0.6 r⁴, S̃4/c = 0.5 r² ẽ12 (not Bingham, not the initial head), it learns it.
TEST(NnClosure, DirectModelLearnsAClosureThatIsNotBingham) {
  Rng rng(12);
  const Samples s = test::made_up_closure(rng, 1024);
  Rng init(1), shuffle(2);
  ThreadPool pool(1);
  NnClosure nn(ClosureModel::direct, ClosureInputs::mu1_EW, false, 16, 2, init);
  const auto curve =
      nn.train(s, {.epochs = 150, .batch = 64, .learning_rate = 3e-3}, shuffle, pool);
  const auto h = nn.evaluate(s);
  double num = 0, den = 0;
  for (std::size_t p = 0; p < s.size(); ++p) {
    num += std::pow(h[p].c4 - s.c4[p] / s.c[p], 2) + std::pow(h[p].s4 - s.s4[p] / s.c[p], 2);
    den += std::pow(s.c4[p] / s.c[p], 2) + std::pow(s.s4[p] / s.c[p], 2);
  }
  EXPECT_LT(curve.back(), 0.05 * curve.front());
  EXPECT_LT(std::sqrt(num / den), 0.03);
}
