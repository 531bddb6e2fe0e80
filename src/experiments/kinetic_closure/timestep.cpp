// Time-stepping loss through the moment-model solver and its discrete adjoint (equations in
// timestep.hpp).
#include <cmath>
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/kinetic_closure/dual.hpp>
#include <mpisweep/experiments/kinetic_closure/timestep.hpp>
#include <numeric>

namespace mpisweep::kinetic {

namespace {

using Fields = MomentSolver::Fields;
constexpr double field_weight[3] = {1, 2, 1};  // Frobenius: D12 counts twice

double distance2(const SpectralGrid& g, const Fields& a, const Fields& b) {
  double s = 0;
  for (int f = 0; f < 3; ++f)
    for (std::size_t q = 0; q < g.kept(); ++q)
      s += field_weight[f] * g.weight(q) * std::norm(a[f][q] - b[f][q]);
  return s;
}

// The point-wise moment source R(z, h) of moment.cpp (fourth_moment, then moment_source), z =
// (D11, D12, D22, G11, G12, G21), h = (C4, S4)/c, written once more for dual numbers.
template <class T>
void source(const T* z, const T& h4, const T& s4, double zeta, double dR, T* R) {
  const T c = z[0] + z[2], c2 = z[0] - z[2], s2 = 2.0 * z[1];
  const T Sxxxx = (3.0 * c + 4.0 * c2 + c * h4) / 8.0, Sxxxy = (2.0 * s2 + c * s4) / 8.0;
  const T Sxxyy = (c - c * h4) / 8.0, Sxyyy = (2.0 * s2 - c * s4) / 8.0;
  const T Syyyy = (3.0 * c - 4.0 * c2 + c * h4) / 8.0;
  const T &dxx = z[0], &dxy = z[1], &dyy = z[2], &gxx = z[3], &gxy = z[4], &gyx = z[5];
  const T gyy = -gxx;
  const T gd_xx = gxx * dxx + gxy * dxy, gd_xy = gxx * dxy + gxy * dyy;
  const T gd_yx = gyx * dxx + gyy * dxy, gd_yy = gyx * dxy + gyy * dyy;
  const T dd_xx = dxx * dxx + dxy * dxy, dd_xy = dxy * (dxx + dyy), dd_yy = dxy * dxy + dyy * dyy;
  const T Axx = gxx + 2.0 * zeta * dxx, Axy = 0.5 * (gxy + gyx) + 2.0 * zeta * dxy,
          Ayy = gyy + 2.0 * zeta * dyy;
  const T SAxx = Sxxxx * Axx + 2.0 * Sxxxy * Axy + Sxxyy * Ayy;
  const T SAxy = Sxxxy * Axx + 2.0 * Sxxyy * Axy + Sxyyy * Ayy;
  const T SAyy = Sxxyy * Axx + 2.0 * Sxyyy * Axy + Syyyy * Ayy;
  R[0] = 2.0 * gd_xx + 4.0 * zeta * dd_xx - 2.0 * SAxx - 4.0 * dR * (dxx - c / 2.0);
  R[1] = gd_xy + gd_yx + 4.0 * zeta * dd_xy - 2.0 * SAxy - 4.0 * dR * dxy;
  R[2] = 2.0 * gd_yy + 4.0 * zeta * dd_yy - 2.0 * SAyy - 4.0 * dR * (dyy - c / 2.0);
}

// (∂N/∂D)ᵀ g added to lam, (∂N/∂θ)ᵀ g added to grad, at the state d.
// Parallel over whole transforms and over fixed point chunks, each output written by one
// iteration: the result does not depend on the pool's size.
void explicit_rhs_vjp(const MomentConfig& cfg, const SpectralGrid& g, const NnClosure& nn,
                      const Fields& d, const Fields& gin, Fields* lam, Eigen::VectorXd& grad,
                      ThreadPool& pool) {
  const std::size_t np = g.points(), nk = g.kept();
  const double n2 = double(np);
  const cplx I(0, 1);
  std::vector<FftBuffer<cplx>> scratch;
  for (int f = 0; f < 9; ++f) scratch.push_back(g.make_scratch());
  VelocityHat v;
  stokes(g, cfg.alpha, d[0].data(), d[1].data(), d[2].data(), v);
  std::array<std::vector<double>, 8> phys;  // dxx dxy dyy ux uy gxx gxy gyx
  const std::array<const cplx*, 8> src = {d[0].data(), d[1].data(),  d[2].data(),  v.ux.data(),
                                          v.uy.data(), v.gxx.data(), v.gxy.data(), v.gyx.data()};
  for (auto& f : phys) f.resize(np);
  pool.parallel_for(8, [&](std::size_t b, std::size_t e) {
    for (std::size_t f = b; f < e; ++f) g.to_physical(src[f], phys[f].data(), scratch[f]);
  });
  std::vector<double> c(np);
  for (std::size_t p = 0; p < np; ++p) c[p] = phys[0][p] + phys[2][p];
  const ClosureInput in{c.data(),       phys[0].data(), phys[1].data(), phys[2].data(),
                        phys[5].data(), phys[6].data(), phys[7].data()};
  const NnClosure::Linearisation lin = nn.linearise(in, np);
  // λ_R = to_spectralᵀ g = to_physical(g)/N²; λ_F(a, dim) for −i k_dim F̂: to_physical(i k g)/N².
  std::array<std::vector<double>, 3> lr;
  std::array<std::array<std::vector<double>, 2>, 3> lf;
  pool.parallel_for(9, [&](std::size_t b, std::size_t e) {  // field a, then dim = −1, 0, 1
    std::vector<cplx> tmp(nk);
    for (std::size_t i = b; i < e; ++i) {
      const std::size_t a = i / 3;
      const int dim = int(i % 3) - 1;
      std::vector<double>& out = dim < 0 ? lr[a] : lf[a][std::size_t(dim)];
      out.resize(np);
      if (dim < 0) {
        g.to_physical(gin[a].data(), out.data(), scratch[i]);
        continue;
      }
      for (std::size_t q = 0; q < nk; ++q) tmp[q] = I * (dim == 0 ? g.kx(q) : g.ky(q)) * gin[a][q];
      g.to_physical(tmp.data(), out.data(), scratch[i]);
    }
  });
  const int O = nn.outputs();
  Eigen::MatrixXd dY(O, Eigen::Index(np));
  std::array<std::vector<double>, 8> lz;  // adjoints of dxx dxy dyy ux uy gxx gxy gyx
  for (auto& v8 : lz) v8.assign(np, 0.0);
  using D8 = Dual<8>;
  const std::size_t chunks = (np + 63) / 64;
  pool.parallel_for(chunks, [&](std::size_t cb, std::size_t ce) {
    for (std::size_t p = cb * 64; p < std::min(np, ce * 64); ++p) {
      D8 z[6];
      const int zf[6] = {0, 1, 2, 5, 6, 7};
      for (int j = 0; j < 6; ++j) z[j] = D8::seed(phys[zf[j]][p], j);
      D8 R[3];
      source(z, D8::seed(lin.h[p].c4, 6), D8::seed(lin.h[p].s4, 7), cfg.zeta, cfg.dR, R);
      double l[3];
      for (int a = 0; a < 3; ++a) l[a] = lr[a][p] / n2;
      double lh[2] = {0, 0}, lzp[6] = {0, 0, 0, 0, 0, 0};
      for (int a = 0; a < 3; ++a) {
        for (int j = 0; j < 6; ++j) lzp[j] += l[a] * R[a].d[j];
        lh[0] += l[a] * R[a].d[6];
        lh[1] += l[a] * R[a].d[7];
      }
      for (int j = 0; j < 6; ++j) lzp[j] += lh[0] * lin.dz[p][j] + lh[1] * lin.dz[p][6 + j];
      for (int o = 0; o < O; ++o)
        dY(o, Eigen::Index(p)) = lh[0] * lin.dy[p][o] + lh[1] * lin.dy[p][3 + o];
      // Fluxes F(a, dim) = u_dim D_a.
      for (int a = 0; a < 3; ++a)
        for (int dim = 0; dim < 2; ++dim) {
          const double lfa = lf[a][dim][p] / n2;
          lzp[a] += lfa * phys[3 + dim][p];
          lz[3 + dim][p] += lfa * phys[a][p];
        }
      for (int j = 0; j < 6; ++j) lz[zf[j]][p] += lzp[j];
    }
  });
  nn.net().backward(lin.X, dY, grad);
  // Back to spectral: to_physicalᵀ = N² to_spectral, then Stokesᵀ per mode.
  std::array<std::vector<cplx>, 8> lh;
  for (auto& h : lh) h.resize(nk);
  pool.parallel_for(8, [&](std::size_t b, std::size_t e) {
    for (std::size_t f = b; f < e; ++f) g.to_spectral(lz[f].data(), lh[f].data(), scratch[f], n2);
  });
  for (std::size_t q = 0; q < nk; ++q) {
    for (int a = 0; a < 3; ++a) (*lam)[a][q] += lh[a][q];
    const double kx = g.kx(q), ky = g.ky(q), k2 = kx * kx + ky * ky;
    if (k2 == 0) continue;
    // Transposes of G = i k u, u = (I − kkᵀ/k²) f/k², f = α i (k·D).
    const cplx lux = lh[3][q] - I * kx * lh[5][q] - I * ky * lh[6][q];
    const cplx luy = lh[4][q] - I * kx * lh[7][q];
    const cplx kl = (kx * lux + ky * luy) / k2;
    const cplx lfx = (lux - kx * kl) / k2, lfy = (luy - ky * kl) / k2;
    const cplx ai = -cfg.alpha * I;
    (*lam)[0][q] += ai * kx * lfx;
    (*lam)[1][q] += ai * (ky * lfx + kx * lfy);
    (*lam)[2][q] += ai * ky * lfy;
  }
}

Fields zeros(std::size_t nk) {
  Fields f;
  for (auto& v : f) v.assign(nk, cplx(0));
  return f;
}

double run_window(const MomentConfig& cfg, const NnClosure& nn, const Window& w,
                  Eigen::VectorXd* grad, ThreadPool& pool) {
  if (w.size() < 3) throw internal_error("timestep window needs at least 3 states");
  const int k = int(w.size()) - 2;
  MomentSolver ms(cfg, nn, pool);
  const SpectralGrid& g = ms.grid();
  ms.set_state(w[0], w[1]);
  std::vector<Fields> traj;  // D^{−1} .. D^k at index m + 1
  traj.push_back(w[0]);
  traj.push_back(w[1]);
  double num = 0, den = 0;
  for (int j = 1; j <= k; ++j) {
    ms.step();
    traj.push_back(ms.state());
    num += distance2(g, traj.back(), w[std::size_t(j) + 1]);
    den += distance2(g, w[std::size_t(j) + 1], w[1]);
  }
  if (den <= 0) throw error("kinetic_closure: time-stepping window without change");
  const double loss = num / den;
  if (!grad || !std::isfinite(loss)) return loss;
  const std::size_t nk = g.kept();
  std::vector<Fields> lam(std::size_t(k) + 2, zeros(nk)), gn(std::size_t(k) + 1, zeros(nk));
  for (int j = 1; j <= k; ++j)
    for (int a = 0; a < 3; ++a)
      for (std::size_t q = 0; q < nk; ++q)
        lam[std::size_t(j) + 1][a][q] =
            2 * field_weight[a] * (traj[std::size_t(j) + 1][a][q] - w[std::size_t(j) + 1][a][q]) /
            den;
  const double dt = cfg.dt;
  for (int j = k; j >= 1; --j) {  // index m + 1 for state m
    const std::size_t J = std::size_t(j) + 1;
    for (int a = 0; a < 3; ++a)
      for (std::size_t q = 0; q < nk; ++q) {
        const cplx b = lam[J][a][q] / (3 + 2 * dt * cfg.dT * g.k2(q));
        lam[J - 1][a][q] += 4.0 * b;
        lam[J - 2][a][q] -= b;
        gn[J - 1][a][q] += 4 * dt * b;  // gn index m + 1 as well
        gn[J - 2][a][q] -= 2 * dt * b;
      }
    explicit_rhs_vjp(cfg, g, nn, traj[J - 1], gn[J - 1], &lam[J - 1], *grad, pool);
  }
  Fields discard = zeros(nk);
  explicit_rhs_vjp(cfg, g, nn, traj[0], gn[0], &discard, *grad, pool);  // N^{−1} depends on θ too
  return loss;
}

}  // namespace

double timestep_loss(const MomentConfig& cfg, const NnClosure& nn, const Window& w) {
  ThreadPool serial(1);
  return run_window(cfg, nn, w, nullptr, serial);
}

double timestep_gradient(const MomentConfig& cfg, const NnClosure& nn, const Window& w,
                         Eigen::VectorXd& grad, ThreadPool* pool) {
  ThreadPool serial(1);
  return run_window(cfg, nn, w, &grad, pool ? *pool : serial);
}

std::vector<double> train_timestep(NnClosure& nn, const MomentConfig& cfg,
                                   const std::vector<Window>& windows,
                                   const TimestepTrainConfig& tc, Rng& rng, ThreadPool& pool,
                                   const std::function<void()>& poll) {
  std::vector<double> curve;
  if (windows.empty() || tc.epochs <= 0) return curve;
  const Eigen::Index P = nn.net().params().size();
  Adam adam(P, tc.learning_rate);
  std::vector<std::size_t> order(windows.size());
  std::iota(order.begin(), order.end(), std::size_t(0));
  const std::size_t batch = std::size_t(std::max(1, tc.batch));
  for (int epoch = 0; epoch < tc.epochs; ++epoch) {
    for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
    double sum = 0;
    for (std::size_t b0 = 0; b0 < order.size(); b0 += batch) {
      if (poll) poll();
      const std::size_t nb = std::min(batch, order.size() - b0);
      std::vector<Eigen::VectorXd> grads(nb, Eigen::VectorXd::Zero(P));
      std::vector<double> losses(nb, 0.0);
      // One window per thread; with more threads than windows, window i's solver and adjoint
      // get ⌊T/nb⌋ threads plus one of the T mod nb spare (results do not depend on it).
      const std::size_t T = std::size_t(pool.size());
      pool.parallel_for(nb, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
          ThreadPool own(T > nb ? int(T / nb + (i < T % nb ? 1 : 0)) : 1);
          losses[i] = timestep_gradient(cfg, nn, windows[order[b0 + i]], grads[i], &own);
        }
      });
      Eigen::VectorXd gsum = Eigen::VectorXd::Zero(P);
      bool finite = true;
      for (std::size_t i = 0; i < nb; ++i) {  // window order
        finite = finite && std::isfinite(losses[i]) && grads[i].allFinite();
        gsum += grads[i];
        sum += losses[i];
      }
      // A window whose trajectory blew up gives no usable gradient: skip the step (counted in
      // the loss curve as non-finite).
      if (finite) adam.step(nn.net().params(), gsum / double(nb));
    }
    curve.push_back(sum / double(order.size()));
  }
  return curve;
}

}  // namespace mpisweep::kinetic
