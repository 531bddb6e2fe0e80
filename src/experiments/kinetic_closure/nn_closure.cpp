// The learned closure (specs/kinetic_closure.md "Closures"; equations in mlp.hpp): direct or
// residual, its training on kinetic samples, and its linearisation for the time-stepping loss.
#include <cmath>
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/kinetic_closure/dual.hpp>
#include <mpisweep/experiments/kinetic_closure/mlp.hpp>
#include <numeric>

namespace mpisweep::kinetic {

namespace {
constexpr std::size_t sample_chunk = 64;  // fixed work unit: results independent of threads

// Bingham's C̃4/c = I2(κ)/I0(κ) at κ = κ(r), and its derivative in r:
// dB/dr = (dR2/dκ)/(dr1/dκ), r1' = 1 − r1/κ − r1², R2 = 1 − 2 r1/κ so dR2/dκ = −2(r1'/κ − r1/κ²);
// B ≈ r²/2 for small r.
double bingham_b(double r) { return bessel_ratios(bingham_kappa(r)).r2; }
template <int N>
Dual<N> bingham_b(const Dual<N>& r) {
  const double k = bingham_kappa(r.v);
  const BesselRatios b = bessel_ratios(k);
  if (k < 1e-4) return chain(r, b.r2, r.v);
  const double r1p = 1 - b.r1_over_kappa - b.r1 * b.r1;
  const double dR2 = -2 * (r1p / k - b.r1 / (k * k));
  return chain(r, b.r2, dR2 / r1p);
}
}  // namespace

void Samples::append(const Samples& o) {
  for (auto [a, b] : {std::pair{&c, &o.c},
                      {&dxx, &o.dxx},
                      {&dxy, &o.dxy},
                      {&dyy, &o.dyy},
                      {&gxx, &o.gxx},
                      {&gxy, &o.gxy},
                      {&gyx, &o.gyx},
                      {&c4, &o.c4},
                      {&s4, &o.s4},
                      {&alpha, &o.alpha},
                      {&zeta, &o.zeta}})
    a->insert(a->end(), b->begin(), b->end());
}

Samples Samples::pick(const std::vector<std::size_t>& idx) const {
  Samples o;
  auto take = [&](const std::vector<double>& v, std::vector<double>& out) {
    out.resize(idx.size());
    for (std::size_t i = 0; i < idx.size(); ++i) out[i] = v[idx[i]];
  };
  take(c, o.c), take(dxx, o.dxx), take(dxy, o.dxy), take(dyy, o.dyy), take(gxx, o.gxx);
  take(gxy, o.gxy), take(gyx, o.gyx), take(c4, o.c4), take(s4, o.s4), take(alpha, o.alpha);
  take(zeta, o.zeta);
  return o;
}

template <class T>
struct NnClosure::Point {
  T r, r2, cos2, sin2, e12, w;
  std::array<T, 7> x;  // raw features
};

int NnClosure::features() const {
  return (inputs_ == ClosureInputs::mu1 ? 1 : 5) + (param_inputs_ ? 2 : 0);
}

NnClosure::NnClosure(ClosureModel model, ClosureInputs inputs, bool parameter_inputs, int hidden,
                     int layers, Rng& rng, ClosureHead head)
    : model_(model),
      head_(head),
      inputs_(inputs),
      param_inputs_(parameter_inputs),
      net_(
          [&] {
            std::vector<int> s{(inputs == ClosureInputs::mu1 ? 1 : 5) + (parameter_inputs ? 2 : 0)};
            for (int l = 0; l < layers; ++l) s.push_back(hidden);
            s.push_back(inputs == ClosureInputs::mu1 ? 1 : 3);
            return s;
          }(),
          rng, 0.1, head != ClosureHead::bounded,
          head == ClosureHead::unbounded_relu ? Activation::relu : Activation::softsign) {
  in_mean_.setZero(features());
  in_scale_.setOnes(features());
}

template <class T>
NnClosure::Point<T> NnClosure::point(const T& c, const T& dxx, const T& dxy, const T& dyy,
                                     const T& gxx, const T& gxy, const T& gyx, double alpha,
                                     double zeta) const {
  // Q11 − Q22 = r cos 2φ, 2 Q12 = r sin 2φ (closure.hpp eigenframe).
  Point<T> p;
  const T a = (dxx - dyy) / c, b = 2.0 * dxy / c;
  p.r2 = a * a + b * b;
  using std::sqrt;
  p.r = sqrt(p.r2);
  if (value(p.r) > 0) {
    p.cos2 = a / p.r;
    p.sin2 = b / p.r;
  } else {
    p.cos2 = 1.0;
    p.sin2 = 0.0;
  }
  int k = 0;
  p.x[k++] = 0.5 * (1.0 + p.r);  // μ1
  if (inputs_ == ClosureInputs::mu1_EW) {
    // (ẽ11 − ẽ22)/2 + i ẽ12 = e^{−2iφ} ((E11 − E22)/2 + i E12), E traceless.
    const T e = gxx, e12 = 0.5 * (gxy + gyx);
    const T e11t = p.cos2 * e + p.sin2 * e12;
    p.e12 = p.cos2 * e12 - p.sin2 * e;
    p.w = gyx - gxy;  // ω = ∂_x u_y − ∂_y u_x
    p.x[k++] = e11t;
    p.x[k++] = p.e12 * p.e12;
    p.x[k++] = p.w * p.w;
    p.x[k++] = p.e12 * p.w;
  } else {
    p.e12 = 0.0;
    p.w = 0.0;
  }
  if (param_inputs_) {
    p.x[k++] = alpha;
    p.x[k++] = zeta;
  }
  return p;
}

template <class T>
void NnClosure::head(const Point<T>& p, const T* y, T& c4, T& s4) const {
  // C̃4 = B(r) + m (b0 + σ0 y0), S̃4 = m (σ1 ẽ12 y1 + σ2 ω y2), then × e^{4iφ}; m = r²
  // (bounded head) or 1 (unbounded).
  const T m = head_ == ClosureHead::bounded ? p.r2 : T(1.0);
  T ec4 = m * (b0_ + sigma_[0] * y[0]);
  if (model_ == ClosureModel::residual) ec4 = ec4 + bingham_b(p.r);
  T es4 = 0.0;
  if (outputs() == 3) es4 = m * (sigma_[1] * p.e12 * y[1] + sigma_[2] * p.w * y[2]);
  const T cos4 = p.cos2 * p.cos2 - p.sin2 * p.sin2, sin4 = 2.0 * p.sin2 * p.cos2;
  c4 = ec4 * cos4 - es4 * sin4;
  s4 = es4 * cos4 + ec4 * sin4;
}

Eigen::MatrixXd NnClosure::standardise(Eigen::MatrixXd raw) const {
  raw.colwise() -= in_mean_;
  return in_scale_.cwiseInverse().asDiagonal() * raw;
}

void NnClosure::evaluate(const ClosureInput& in, std::size_t begin, std::size_t end,
                         Harmonic4* out) const {
  const Eigen::Index n = Eigen::Index(end - begin), F = features();
  if (n <= 0) return;
  Eigen::MatrixXd raw(F, n);
  std::vector<Point<double>> pts(static_cast<std::size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i) {
    const std::size_t p = begin + std::size_t(i);
    pts[std::size_t(i)] = point(in.c[p], in.dxx[p], in.dxy[p], in.dyy[p], in.gxx[p], in.gxy[p],
                                in.gyx[p], alpha_, zeta_);
    for (Eigen::Index k = 0; k < F; ++k) raw(k, i) = pts[std::size_t(i)].x[std::size_t(k)];
  }
  const Eigen::MatrixXd y = net_.forward(standardise(std::move(raw)));
  for (Eigen::Index i = 0; i < n; ++i) {
    Harmonic4& h = out[begin + std::size_t(i)];
    head(pts[std::size_t(i)], y.col(i).data(), h.c4, h.s4);
  }
}

std::vector<Harmonic4> NnClosure::evaluate(const Samples& s) const {
  std::vector<Harmonic4> out(s.size());
  const Eigen::Index F = features();
  for (std::size_t p0 = 0; p0 < s.size(); p0 += sample_chunk) {
    const std::size_t p1 = std::min(s.size(), p0 + sample_chunk);
    Eigen::MatrixXd raw(F, Eigen::Index(p1 - p0));
    std::vector<Point<double>> pts;
    for (std::size_t p = p0; p < p1; ++p) {
      pts.push_back(point(s.c[p], s.dxx[p], s.dxy[p], s.dyy[p], s.gxx[p], s.gxy[p], s.gyx[p],
                          s.alpha.empty() ? alpha_ : s.alpha[p],
                          s.zeta.empty() ? zeta_ : s.zeta[p]));
      for (Eigen::Index k = 0; k < F; ++k) raw(k, Eigen::Index(p - p0)) = pts.back().x[k];
    }
    const Eigen::MatrixXd y = net_.forward(standardise(std::move(raw)));
    for (std::size_t p = p0; p < p1; ++p)
      head(pts[p - p0], y.col(Eigen::Index(p - p0)).data(), out[p].c4, out[p].s4);
  }
  return out;
}

Eigen::MatrixXd NnClosure::inputs(const ClosureInput& in, std::size_t begin,
                                  std::size_t end) const {
  Eigen::MatrixXd x(features(), Eigen::Index(end - begin));
  for (std::size_t p = begin; p < end; ++p) {
    const auto q = point(in.c[p], in.dxx[p], in.dxy[p], in.dyy[p], in.gxx[p], in.gxy[p], in.gyx[p],
                         alpha_, zeta_);
    for (Eigen::Index k = 0; k < x.rows(); ++k) x(k, Eigen::Index(p - begin)) = q.x[k];
  }
  return x;
}

Eigen::MatrixXd NnClosure::inputs(const Samples& s) const {
  Eigen::MatrixXd x(features(), Eigen::Index(s.size()));
  for (std::size_t p = 0; p < s.size(); ++p) {
    const auto q = point(s.c[p], s.dxx[p], s.dxy[p], s.dyy[p], s.gxx[p], s.gxy[p], s.gyx[p],
                         s.alpha.empty() ? alpha_ : s.alpha[p], s.zeta.empty() ? zeta_ : s.zeta[p]);
    for (Eigen::Index k = 0; k < x.rows(); ++k) x(k, Eigen::Index(p)) = q.x[k];
  }
  return x;
}

NnClosure::Linearisation NnClosure::linearise(const ClosureInput& in, std::size_t n) const {
  using D6 = Dual<6>;
  const Eigen::Index F = features(), O = outputs();
  Linearisation lin;
  lin.h.resize(n);
  lin.dz.resize(n);
  lin.dy.resize(n);
  std::vector<Point<D6>> pts(n);
  Eigen::MatrixXd raw(F, Eigen::Index(n));
  for (std::size_t p = 0; p < n; ++p) {
    const D6 dxx = D6::seed(in.dxx[p], 0), dxy = D6::seed(in.dxy[p], 1),
             dyy = D6::seed(in.dyy[p], 2);
    pts[p] = point<D6>(dxx + dyy, dxx, dxy, dyy, D6::seed(in.gxx[p], 3), D6::seed(in.gxy[p], 4),
                       D6::seed(in.gyx[p], 5), alpha_, zeta_);
    for (Eigen::Index k = 0; k < F; ++k) raw(k, Eigen::Index(p)) = pts[p].x[k].v;
  }
  lin.X = standardise(std::move(raw));
  std::vector<Eigen::MatrixXd> tang;
  const Eigen::MatrixXd y = net_.forward_tangents(lin.X, tang);
  for (std::size_t p = 0; p < n; ++p) {
    const Eigen::Index i = Eigen::Index(p);
    // y_o as duals in z: dy_o/dz = Σ_f (∂y_o/∂x̂_f) (dx_f/dz)/scale_f.
    std::array<D6, 3> yd;
    for (Eigen::Index o = 0; o < O; ++o) {
      yd[o] = D6(y(o, i));
      for (Eigen::Index f = 0; f < F; ++f) {
        const double g = tang[std::size_t(f)](o, i) / in_scale_[f];
        for (int j = 0; j < 6; ++j) yd[o].d[j] += g * pts[p].x[f].d[j];
      }
    }
    D6 c4, s4;
    head(pts[p], yd.data(), c4, s4);
    lin.h[p] = {c4.v, s4.v};
    for (int j = 0; j < 6; ++j) lin.dz[p][j] = c4.d[j], lin.dz[p][6 + j] = s4.d[j];
    // h is affine in y: its y-derivatives from unit steps (exact up to rounding).
    Point<double> pd;
    pd.r = pts[p].r.v, pd.r2 = pts[p].r2.v, pd.cos2 = pts[p].cos2.v, pd.sin2 = pts[p].sin2.v;
    pd.e12 = pts[p].e12.v, pd.w = pts[p].w.v;
    double y0[3] = {0, 0, 0}, b4, bs;
    head(pd, y0, b4, bs);
    for (Eigen::Index o = 0; o < O; ++o) {
      double yo[3] = {0, 0, 0}, h4, hs;
      yo[o] = 1;
      head(pd, yo, h4, hs);
      lin.dy[p][o] = h4 - b4;
      lin.dy[p][3 + o] = hs - bs;
    }
  }
  return lin;
}

std::vector<double> NnClosure::train(const Samples& data, const TrainConfig& cfg, Rng& rng,
                                     ThreadPool& pool, const std::function<void()>& poll) {
  const Eigen::Index n = Eigen::Index(data.size()), F = features(), O = outputs();
  if (n == 0) throw error("kinetic_closure: no training samples");
  Eigen::MatrixXd raw(F, n), target(2, n);
  std::vector<Point<double>> pts(static_cast<std::size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i) {
    const std::size_t p = std::size_t(i);
    pts[p] = point(data.c[p], data.dxx[p], data.dxy[p], data.dyy[p], data.gxx[p], data.gxy[p],
                   data.gyx[p], data.alpha.empty() ? alpha_ : data.alpha[p],
                   data.zeta.empty() ? zeta_ : data.zeta[p]);
    for (Eigen::Index k = 0; k < F; ++k) raw(k, i) = pts[p].x[k];
    Frame f;
    f.r = pts[p].r, f.cos2 = pts[p].cos2, f.sin2 = pts[p].sin2;
    const Harmonic4 eig =
        unrotate_harmonic(f, {.c4 = data.c4[p] / data.c[p], .s4 = data.s4[p] / data.c[p]});
    target(0, i) = eig.c4 - (model_ == ClosureModel::residual ? bingham_b(pts[p].r) : 0.0);
    target(1, i) = eig.s4;
  }
  // Standardisation; the odd-squared and odd-product features keep their natural zero.
  for (Eigen::Index k = 0; k < F; ++k) {
    const double mean = raw.row(k).mean();
    const double var = (raw.row(k).array() - mean).square().mean();
    in_mean_[k] = mean;
    in_scale_[k] = var > 1e-30 ? std::sqrt(var) : 1.0;
  }
  // Head, with m = r² (bounded) or 1 (unbounded) per point: b0 = Σ m t0 / Σ m² (least-squares
  // constant), σ0 the rms of what is left per m, σ1, σ2 = rms(t1)/rms(m ẽ12), rms(t1)/rms(m ω).
  const bool bounded = head_ == ClosureHead::bounded;
  std::vector<double> mult(static_cast<std::size_t>(n));
  for (std::size_t p = 0; p < mult.size(); ++p) mult[p] = bounded ? pts[p].r2 : 1.0;
  double s_r4 = 0, s_rt = 0, s_t1 = 0, s_e = 0, s_w = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto& q = pts[std::size_t(i)];
    const double m = mult[std::size_t(i)];
    s_r4 += m * m;
    s_rt += m * target(0, i);
    s_t1 += target(1, i) * target(1, i);
    s_e += m * m * q.e12 * q.e12;
    s_w += m * m * q.w * q.w;
  }
  b0_ = s_r4 > 0 ? s_rt / s_r4 : 0.0;
  double s_res = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double d = target(0, i) - mult[std::size_t(i)] * b0_;
    s_res += d * d;
  }
  sigma_[0] = s_r4 > 0 && s_res > 0 ? std::sqrt(s_res / s_r4) : 1.0;
  sigma_[1] = s_e > 0 && s_t1 > 0 ? std::sqrt(s_t1 / s_e) : 1.0;
  sigma_[2] = s_w > 0 && s_t1 > 0 ? std::sqrt(s_t1 / s_w) : 1.0;
  // The loss is on the harmonic scaled by its rms, L = Σ_p Σ_j ((ĥ_j − t_j)/τ_j)² / nb.
  const double tau0 = std::max(1e-12, std::sqrt(target.row(0).squaredNorm() / double(n)));
  const double tau1 = std::max(1e-12, std::sqrt(s_t1 / double(n)));
  const Eigen::MatrixXd X = standardise(raw);

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
          Eigen::MatrixXd Xc(F, w);
          for (Eigen::Index i = 0; i < w; ++i) Xc.col(i) = X.col(order[std::size_t(s0 + i)]);
          const Eigen::MatrixXd Y = net_.forward(Xc);
          Eigen::MatrixXd dY = Eigen::MatrixXd::Zero(O, w);
          double loss = 0;
          for (Eigen::Index i = 0; i < w; ++i) {
            const Eigen::Index idx = order[std::size_t(s0 + i)];
            const auto& q = pts[std::size_t(idx)];
            const double m = mult[std::size_t(idx)];
            // Eigenframe prediction (before rotation), affine in y.
            const double p0 = m * (b0_ + sigma_[0] * Y(0, i));
            const double e0 = (p0 - target(0, idx)) / tau0;
            loss += e0 * e0;
            dY(0, i) = 2 * e0 / tau0 * m * sigma_[0] / double(nb);
            if (O == 3) {
              const double p1 = m * (sigma_[1] * q.e12 * Y(1, i) + sigma_[2] * q.w * Y(2, i));
              const double e1 = (p1 - target(1, idx)) / tau1;
              loss += e1 * e1;
              dY(1, i) = 2 * e1 / tau1 * m * sigma_[1] * q.e12 / double(nb);
              dY(2, i) = 2 * e1 / tau1 * m * sigma_[2] * q.w / double(nb);
            }
          }
          grads[ch].setZero(net_.params().size());
          net_.backward(Xc, dY, grads[ch]);
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
