// Moment model (specs/kinetic_closure.md "Model"; equations in moment.hpp).
#include <algorithm>
#include <cmath>
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/kinetic_closure/moment.hpp>

namespace mpisweep::kinetic {

namespace {
constexpr std::size_t point_chunk = 64;  // closure chunks: independent of the thread count
}

void BinghamClosure::evaluate(const ClosureInput& in, std::size_t begin, std::size_t end,
                              Harmonic4* out) const {
  for (std::size_t p = begin; p < end; ++p)
    out[p] = bingham_harmonic(in.c[p], {in.dxx[p], in.dxy[p], in.dyy[p]});
}

Sym2 moment_source(double c, const Sym2& D, double gxx, double gxy, double gyx, const Sym4& S,
                   double zeta, double dR) {
  const double gyy = -gxx;
  // G·D
  const double gd_xx = gxx * D.xx + gxy * D.xy, gd_xy = gxx * D.xy + gxy * D.yy;
  const double gd_yx = gyx * D.xx + gyy * D.xy, gd_yy = gyx * D.xy + gyy * D.yy;
  // D·D
  const double dd_xx = D.xx * D.xx + D.xy * D.xy, dd_xy = D.xy * (D.xx + D.yy),
               dd_yy = D.xy * D.xy + D.yy * D.yy;
  const Sym2 A{.xx = gxx + 2 * zeta * D.xx,
               .xy = 0.5 * (gxy + gyx) + 2 * zeta * D.xy,
               .yy = gyy + 2 * zeta * D.yy};  // E + 2ζD
  const Sym2 SA = contract(S, A);
  return {.xx = 2 * gd_xx + 4 * zeta * dd_xx - 2 * SA.xx - 4 * dR * (D.xx - c / 2),
          .xy = gd_xy + gd_yx + 4 * zeta * dd_xy - 2 * SA.xy - 4 * dR * D.xy,
          .yy = 2 * gd_yy + 4 * zeta * dd_yy - 2 * SA.yy - 4 * dR * (D.yy - c / 2)};
}

MomentSolver::MomentSolver(const MomentConfig& cfg, const Closure& closure, ThreadPool& pool)
    : cfg_(cfg), closure_(closure), pool_(pool), grid_(cfg.N, cfg.L) {
  for (int i = 0; i < 17; ++i) {
    phys_.emplace_back(grid_.points());
    scratch_.emplace_back(grid_.half());
  }
  for (auto* f : {&d_, &d_old_, &n_, &n_old_})
    for (auto& v : *f) v.assign(grid_.kept(), cplx(0));
  c_.resize(grid_.points());
  h_.resize(grid_.points());
}

void MomentSolver::set_state(const Fields& d) {
  d_ = d;
  for (auto* f : {&d_old_, &n_, &n_old_})
    for (auto& v : *f) v.assign(grid_.kept(), cplx(0));
  have_history_ = false;
  t_ = 0;
}

void MomentSolver::set_state(const Fields& previous, const Fields& d) {
  set_state(d);
  d_old_ = previous;
  explicit_rhs(previous, n_old_);
  have_history_ = true;
}

void MomentSolver::explicit_rhs(const Fields& d, Fields& out) {
  const std::size_t nk = grid_.kept(), np = grid_.points();
  VelocityHat v;
  stokes(grid_, cfg_.alpha, d[0].data(), d[1].data(), d[2].data(), v);
  const std::array<const cplx*, 8> src = {d[0].data(), d[1].data(),  d[2].data(),  v.ux.data(),
                                          v.uy.data(), v.gxx.data(), v.gxy.data(), v.gyx.data()};
  pool_.parallel_for(8, [&](std::size_t b, std::size_t e) {
    for (std::size_t f = b; f < e; ++f) grid_.to_physical(src[f], phys_[f].data(), scratch_[f]);
  });
  const double *dxx = phys_[0].data(), *dxy = phys_[1].data(), *dyy = phys_[2].data();
  const double *ux = phys_[3].data(), *uy = phys_[4].data();
  const double *gxx = phys_[5].data(), *gxy = phys_[6].data(), *gyx = phys_[7].data();
  for (std::size_t p = 0; p < np; ++p) c_[p] = dxx[p] + dyy[p];
  const ClosureInput in{c_.data(), dxx, dxy, dyy, gxx, gxy, gyx};
  const std::size_t chunks = (np + point_chunk - 1) / point_chunk;
  // The cost of a closure varies in space (Bingham: Newton and Bessel series length depend on
  // the local order), so each thread's contiguous block of items is mapped to chunks spread
  // over the grid: item i → chunk order[i], ordered by (chunk mod T, chunk / T) for T threads.
  // Every chunk is computed the same way whoever computes it.
  const std::size_t T = std::size_t(pool_.size());
  std::vector<std::size_t> order;
  order.reserve(chunks);
  for (std::size_t r = 0; r < T; ++r)
    for (std::size_t ch = r; ch < chunks; ch += T) order.push_back(ch);
  pool_.parallel_for(chunks, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      const std::size_t ch = order[i];
      const std::size_t p0 = ch * point_chunk, p1 = std::min(np, p0 + point_chunk);
      closure_.evaluate(in, p0, p1, h_.data());
      for (std::size_t p = p0; p < p1; ++p) {
        const double c = c_[p];
        const Sym2 D{dxx[p], dxy[p], dyy[p]};
        const Sym4 S = fourth_moment(c, D, {c * h_[p].c4, c * h_[p].s4});
        const Sym2 R = moment_source(c, D, gxx[p], gxy[p], gyx[p], S, cfg_.zeta, cfg_.dR);
        phys_[8][p] = R.xx;
        phys_[9][p] = R.xy;
        phys_[10][p] = R.yy;
        phys_[11][p] = ux[p] * D.xx;
        phys_[12][p] = uy[p] * D.xx;
        phys_[13][p] = ux[p] * D.xy;
        phys_[14][p] = uy[p] * D.xy;
        phys_[15][p] = ux[p] * D.yy;
        phys_[16][p] = uy[p] * D.yy;
      }
    }
  });
  std::array<std::vector<cplx>, 9> hat;
  for (auto& h : hat) h.resize(nk);
  pool_.parallel_for(9, [&](std::size_t b, std::size_t e) {
    for (std::size_t f = b; f < e; ++f)
      grid_.to_spectral(phys_[8 + f].data(), hat[f].data(), scratch_[8 + f]);
  });
  for (int a = 0; a < 3; ++a) {
    out[a].resize(nk);
    const auto &fx = hat[3 + 2 * a], &fy = hat[4 + 2 * a];
    for (std::size_t q = 0; q < nk; ++q) {
      const cplx div = grid_.kx(q) * fx[q] + grid_.ky(q) * fy[q];  // ∇·(uD) = i div
      out[a][q] = hat[a][q] + cplx(div.imag(), -div.real());
    }
  }
}

void MomentSolver::step() {
  explicit_rhs(d_, n_);
  const double dt = cfg_.dt;
  for (int a = 0; a < 3; ++a) {
    for (std::size_t q = 0; q < grid_.kept(); ++q) {
      const double lin = -cfg_.dT * grid_.k2(q);
      cplx next;
      if (!have_history_)
        next = (d_[a][q] + dt * n_[a][q]) / (1 - dt * lin);
      else
        next = (4.0 * d_[a][q] - d_old_[a][q] + 2 * dt * (2.0 * n_[a][q] - n_old_[a][q])) /
               (3 - 2 * dt * lin);
      d_old_[a][q] = d_[a][q];
      d_[a][q] = next;
    }
  }
  std::swap(n_, n_old_);
  have_history_ = true;
  t_ += dt;
}

bool MomentSolver::finite() const {
  const double m = max_abs();
  return m == m && m <= BlowupDetector::max_coefficient;
}

double MomentSolver::max_abs() const {
  double mx = 0;
  for (const auto& f : d_)
    for (const auto& z : f) {
      if (!std::isfinite(z.real()) || !std::isfinite(z.imag())) return std::nan("");
      mx = std::max(mx, std::abs(z));
    }
  return mx;
}

bool BlowupDetector::observe(double t, double max_abs_d, double order) {
  if (blown_up_) return true;
  // NaN max_abs_d fails the comparison and counts; a NaN order means "not computed this step".
  if (!(max_abs_d <= max_coefficient) || order > 1) {
    blown_up_ = true;
    time_ = t;
  }
  return blown_up_;
}

double order_parameter(const std::vector<double>& c, const std::vector<double>& dxx,
                       const std::vector<double>& dxy, const std::vector<double>& dyy) {
  double sum = 0;
  for (std::size_t p = 0; p < c.size(); ++p) sum += std::hypot(dxx[p] - dyy[p], 2 * dxy[p]) / c[p];
  return sum / double(c.size());
}

void physical_moments(const SpectralGrid& g, const MomentSolver::Fields& d, std::vector<double>& c,
                      std::vector<double>& dxx, std::vector<double>& dxy, std::vector<double>& dyy,
                      ThreadPool* pool) {
  std::array<std::vector<double>*, 3> dst = {&dxx, &dxy, &dyy};
  auto body = [&](std::size_t b, std::size_t e) {
    FftBuffer<double> buf(g.points());
    auto scratch = g.make_scratch();
    for (std::size_t a = b; a < e; ++a) {
      g.to_physical(d[a].data(), buf.data(), scratch);
      dst[a]->assign(buf.data(), buf.data() + g.points());
    }
  };
  if (pool)
    pool->parallel_for(3, body);
  else
    body(0, 3);
  c.resize(g.points());
  for (std::size_t p = 0; p < c.size(); ++p) c[p] = dxx[p] + dyy[p];
}

VelocityStats velocity_stats(const SpectralGrid& g, double alpha, const MomentSolver::Fields& d) {
  VelocityHat v;
  stokes(g, alpha, d[0].data(), d[1].data(), d[2].data(), v);
  VelocityStats s;
  const int shells = g.n() / 3;
  s.spectrum.assign(std::size_t(shells) + 1, 0.0);
  double ms = 0;
  for (std::size_t q = 0; q < g.kept(); ++q) {
    const double e = g.weight(q) * (std::norm(v.ux[q]) + std::norm(v.uy[q]));
    ms += e;
    const int n = g.shell(q);
    if (n <= shells) s.spectrum[std::size_t(n)] += e;
  }
  s.urms = std::sqrt(ms);
  return s;
}

}  // namespace mpisweep::kinetic
