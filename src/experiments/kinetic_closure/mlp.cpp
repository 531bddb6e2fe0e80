// MLP, Adam and the learned closure (specs/kinetic_closure.md "Closures"; equations in mlp.hpp).
#include <cmath>
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/kinetic_closure/mlp.hpp>
#include <numeric>

namespace mpisweep::kinetic {

namespace {
constexpr std::size_t sample_chunk = 64;  // fixed work unit: results independent of threads
}

Mlp::Mlp(std::vector<int> sizes, Rng& rng, double output_scale) : sizes_(std::move(sizes)) {
  if (sizes_.size() < 2) throw internal_error("Mlp: need at least input and output sizes");
  Eigen::Index n = 0;
  for (std::size_t l = 1; l < sizes_.size(); ++l) {
    w_off_.push_back(n);
    n += Eigen::Index(sizes_[l]) * sizes_[l - 1];
    b_off_.push_back(n);
    n += sizes_[l];
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
    if (l + 1 < sizes_.size()) z = z.array().tanh().matrix();
    a = std::move(z);
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
    act[l] = l < L ? Eigen::MatrixXd(z.array().tanh().matrix()) : z;
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
      delta = (back.array() * (1 - act[l - 1].array().square())).matrix();
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

void Samples::append(const Samples& o) {
  for (auto [a, b] : {std::pair{&c, &o.c},
                      {&dxx, &o.dxx},
                      {&dxy, &o.dxy},
                      {&dyy, &o.dyy},
                      {&gxx, &o.gxx},
                      {&gxy, &o.gxy},
                      {&gyx, &o.gyx},
                      {&c4, &o.c4},
                      {&s4, &o.s4}})
    a->insert(a->end(), b->begin(), b->end());
}

NnClosure::NnClosure(ClosureInputs inputs, int hidden, int layers, Rng& rng)
    : inputs_(inputs),
      net_(
          [&] {
            std::vector<int> s{inputs == ClosureInputs::mu1 ? 1 : 4};
            for (int l = 0; l < layers; ++l) s.push_back(hidden);
            s.push_back(2);
            return s;
          }(),
          rng, 0.1) {
  in_mean_.setZero(features());
  in_scale_.setOnes(features());
}

void NnClosure::features_of(double c, const Sym2& D, double gxx, double gxy, double gyx, double* x,
                            Frame& f) const {
  f = eigenframe(c, D);
  x[0] = f.mu1;
  if (inputs_ == ClosureInputs::mu1_EW) {
    // (ẽ11 − ẽ22)/2 + i ẽ12 = e^{−2iφ} ((E11 − E22)/2 + i E12), E traceless.
    const double e = gxx, e12 = 0.5 * (gxy + gyx);
    x[1] = f.cos2 * e + f.sin2 * e12;
    x[2] = f.cos2 * e12 - f.sin2 * e;
    x[3] = gyx - gxy;  // ω = ∂_x u_y − ∂_y u_x
  }
}

Eigen::MatrixXd NnClosure::scaled_inputs(const Eigen::MatrixXd& raw, bool reflect) const {
  Eigen::MatrixXd x = raw;
  if (reflect && features() == 4) x.bottomRows(2) *= -1;
  x.colwise() -= in_mean_;
  return in_scale_.cwiseInverse().asDiagonal() * x;
}

void NnClosure::evaluate(const ClosureInput& in, std::size_t begin, std::size_t end,
                         Harmonic4* out) const {
  const Eigen::Index n = Eigen::Index(end - begin);
  if (n <= 0) return;
  Eigen::MatrixXd raw(features(), n);
  std::vector<Frame> frames(static_cast<std::size_t>(n));
  double x[4];
  for (Eigen::Index i = 0; i < n; ++i) {
    const std::size_t p = begin + std::size_t(i);
    features_of(in.c[p], {in.dxx[p], in.dxy[p], in.dyy[p]}, in.gxx[p], in.gxy[p], in.gyx[p], x,
                frames[std::size_t(i)]);
    for (int k = 0; k < features(); ++k) raw(k, i) = x[k];
  }
  const Eigen::MatrixXd y = net_.forward(scaled_inputs(raw, false));
  // With μ1 alone the reflection acts trivially: net(Rx) = net(x).
  const Eigen::MatrixXd yr = features() == 4 ? net_.forward(scaled_inputs(raw, true)) : y;
  for (Eigen::Index i = 0; i < n; ++i) {
    const Frame& f = frames[std::size_t(i)];
    const double d1111 = out_scale_[0] * 0.5 * (y(0, i) + yr(0, i));
    const double d1112 = out_scale_[1] * 0.5 * (y(1, i) - yr(1, i));
    const double R2 = bessel_ratios(bingham_kappa(f.r)).r2;
    // S̃1111 = (3 + 4r + C̃4)/8, S̃1112 = S̃4/8 (closure.hpp identities).
    out[begin + std::size_t(i)] = rotate_harmonic(f, {.c4 = R2 + 8 * d1111, .s4 = 8 * d1112});
  }
}

std::vector<Harmonic4> NnClosure::evaluate(const Samples& s) const {
  std::vector<Harmonic4> out(s.size());
  const ClosureInput in{s.c.data(),   s.dxx.data(), s.dxy.data(), s.dyy.data(),
                        s.gxx.data(), s.gxy.data(), s.gyx.data()};
  for (std::size_t p0 = 0; p0 < s.size(); p0 += sample_chunk)
    evaluate(in, p0, std::min(s.size(), p0 + sample_chunk), out.data());
  return out;
}

std::vector<double> NnClosure::train(const Samples& data, const TrainConfig& cfg, Rng& rng,
                                     ThreadPool& pool, const std::function<void()>& poll) {
  const Eigen::Index n = Eigen::Index(data.size()), F = features();
  if (n == 0) throw error("kinetic_closure: no training samples");
  Eigen::MatrixXd raw(F, n), target(2, n);
  double x[4];
  for (Eigen::Index i = 0; i < n; ++i) {
    const std::size_t p = std::size_t(i);
    Frame f;
    features_of(data.c[p], {data.dxx[p], data.dxy[p], data.dyy[p]}, data.gxx[p], data.gxy[p],
                data.gyx[p], x, f);
    for (Eigen::Index k = 0; k < F; ++k) raw(k, i) = x[k];
    const Harmonic4 eig =
        unrotate_harmonic(f, {.c4 = data.c4[p] / data.c[p], .s4 = data.s4[p] / data.c[p]});
    const double R2 = bessel_ratios(bingham_kappa(f.r)).r2;
    target(0, i) = (eig.c4 - R2) / 8;  // ΔS̃1111
    target(1, i) = eig.s4 / 8;         // ΔS̃1112
  }
  // Scalings: odd features (ẽ12, ω) and the odd output S̃1112 keep mean zero.
  for (Eigen::Index k = 0; k < F; ++k) {
    const bool odd = k >= 2;
    const double mean = odd ? 0.0 : raw.row(k).mean();
    const double var = (raw.row(k).array() - mean).square().mean();
    in_mean_[k] = mean;
    in_scale_[k] = var > 1e-30 ? std::sqrt(var) : 1.0;
  }
  for (int o = 0; o < 2; ++o) {
    const double rms = std::sqrt(target.row(o).squaredNorm() / double(n));
    out_scale_[o] = rms > 1e-12 ? rms : 1.0;
  }
  const Eigen::MatrixXd X = scaled_inputs(raw, false), XR = scaled_inputs(raw, true);
  const Eigen::MatrixXd T = out_scale_.cwiseInverse().asDiagonal() * target;

  Adam adam(net_.params().size(), cfg.learning_rate);
  std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Eigen::Index(0));
  std::vector<double> curve;
  const Eigen::Index batch = std::max<Eigen::Index>(1, std::min<Eigen::Index>(cfg.batch, n));
  for (int epoch = 0; epoch < cfg.epochs; ++epoch) {
    for (std::size_t i = order.size() - 1; i > 0; --i)  // Fisher–Yates with our Rng
      std::swap(order[i], order[rng.below(i + 1)]);
    double loss_sum = 0;
    Eigen::Index seen = 0;
    for (Eigen::Index b0 = 0; b0 < n; b0 += batch) {
      if (poll) poll();
      const Eigen::Index nb = std::min(batch, n - b0);
      const std::size_t chunks = (std::size_t(nb) + sample_chunk - 1) / sample_chunk;
      std::vector<Eigen::VectorXd> grads(chunks);
      std::vector<double> losses(chunks, 0.0);
      pool.parallel_for(chunks, [&](std::size_t cb, std::size_t ce) {
        for (std::size_t ch = cb; ch < ce; ++ch) {
          const Eigen::Index s0 = b0 + Eigen::Index(ch * sample_chunk);
          const Eigen::Index w = std::min(Eigen::Index(sample_chunk), b0 + nb - s0);
          Eigen::MatrixXd X2(F, 2 * w);
          Eigen::MatrixXd T1(2, w);
          for (Eigen::Index i = 0; i < w; ++i) {
            const Eigen::Index idx = order[std::size_t(s0 + i)];
            X2.col(i) = X.col(idx);
            X2.col(w + i) = XR.col(idx);
            T1.col(i) = T.col(idx);
          }
          const Eigen::MatrixXd Y = net_.forward(X2);
          Eigen::MatrixXd dY(2, 2 * w);
          double loss = 0;
          for (Eigen::Index i = 0; i < w; ++i) {
            // ŷ0 = (y0(x) + y0(Rx))/2, ŷ1 = (y1(x) − y1(Rx))/2; L = Σ (ŷ − T)² / nb.
            const double e0 = 0.5 * (Y(0, i) + Y(0, w + i)) - T1(0, i);
            const double e1 = 0.5 * (Y(1, i) - Y(1, w + i)) - T1(1, i);
            loss += e0 * e0 + e1 * e1;
            const double g0 = 2 * e0 / double(nb), g1 = 2 * e1 / double(nb);
            dY(0, i) = 0.5 * g0;
            dY(0, w + i) = 0.5 * g0;
            dY(1, i) = 0.5 * g1;
            dY(1, w + i) = -0.5 * g1;
          }
          grads[ch].setZero(net_.params().size());
          net_.backward(X2, dY, grads[ch]);
          losses[ch] = loss;
        }
      });
      Eigen::VectorXd g = Eigen::VectorXd::Zero(net_.params().size());
      for (std::size_t ch = 0; ch < chunks; ++ch) {  // fixed order
        g += grads[ch];
        loss_sum += losses[ch];
      }
      seen += nb;
      adam.step(net_.params(), g);
    }
    curve.push_back(loss_sum / double(seen));
  }
  return curve;
}

}  // namespace mpisweep::kinetic
