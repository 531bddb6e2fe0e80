// Moment model (specs/kinetic_closure.md "Model"; equations in moment.hpp).
#include <algorithm>
#include <cmath>
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/kinetic_closure/moment.hpp>

namespace mpisweep::kinetic {

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
  for (int i = 0; i < 17; ++i) phys_.emplace_back(grid_.points());
  for (int i = 0; i < 8; ++i) in_.emplace_back(grid_.half());
  for (int i = 0; i < 9; ++i) out_.emplace_back(grid_.half());
  for (auto* f : {&d_, &d_old_, &n_, &n_old_})
    for (auto& v : *f) v.assign(grid_.kept(), cplx(0));
  c_.resize(grid_.points());
  h_.resize(grid_.points());
  col_max_.assign(grid_.columns(), 0.0);
  // The cost of a closure varies in space (Bingham: Newton and Bessel series length depend on
  // the local order), so each thread's contiguous block of items is mapped to rows spread over
  // the grid: item i → row row_order_[i], ordered by (row mod T, row / T) for T threads.
  const std::size_t T = std::size_t(pool_.size()), n = std::size_t(cfg.N);
  for (std::size_t r = 0; r < T; ++r)
    for (std::size_t ix = r; ix < n; ix += T) row_order_.push_back(ix);
}

void MomentSolver::set_state(const Fields& d) {
  d_ = d;
  for (auto* f : {&d_old_, &n_, &n_old_})
    for (auto& v : *f) v.assign(grid_.kept(), cplx(0));
  have_history_ = false;
  ready_ = false;
  col_max_fresh_ = false;
  t_ = 0;
}

void MomentSolver::set_state(const Fields& previous, const Fields& d) {
  set_state(d);
  d_old_ = previous;
  explicit_rhs(previous, n_old_);
  have_history_ = true;
}

// x-pass of the inverse transforms of D̂, û, Ĝ (Stokes per mode, spectral.hpp) in column iy.
void MomentSolver::column_in(const Fields& d, std::size_t iy, FftBuffer<cplx>& col) {
  const std::size_t n = std::size_t(grid_.n()), nh = n / 2 + 1;
  const auto& modes = grid_.column_modes(iy);
  std::vector<cplx> v(8 * modes.size(), cplx(0));  // v[8 m + f]: field f at the m-th mode
  for (std::size_t m = 0; m < modes.size(); ++m) {
    const std::size_t q = modes[m].first;
    for (std::size_t f = 0; f < 3; ++f) v[8 * m + f] = d[f][q];
    if (grid_.k2(q) != 0)
      stokes_mode(grid_.kx(q), grid_.ky(q), cfg_.alpha, d[0][q], d[1][q], d[2][q], &v[8 * m + 3]);
  }
  for (std::size_t f = 0; f < 8; ++f) {
    std::fill(col.data(), col.data() + n, cplx(0));
    for (std::size_t m = 0; m < modes.size(); ++m) col[std::size_t(modes[m].second)] = v[8 * m + f];
    grid_.column_backward(col.data());
    cplx* h = in_[f].data();
    for (std::size_t ix = 0; ix < n; ++ix) h[ix * nh + iy] = col[ix];
  }
}

// y-pass of the inverse transforms, the closure and the source at the N points of row ix, and
// the y-pass of the products' forward transforms.
void MomentSolver::row(std::size_t ix, FftBuffer<cplx>& half, FftBuffer<double>& line) {
  const std::size_t n = std::size_t(grid_.n()), nh = n / 2 + 1, p0 = ix * n, p1 = p0 + n;
  for (std::size_t f = 0; f < 8; ++f) {
    std::copy(in_[f].data() + ix * nh, in_[f].data() + (ix + 1) * nh, half.data());
    grid_.row_to_physical(half.data(), line.data());
    std::copy(line.data(), line.data() + n, phys_[f].data() + p0);
  }
  const double *dxx = phys_[0].data(), *dxy = phys_[1].data(), *dyy = phys_[2].data();
  const double *ux = phys_[3].data(), *uy = phys_[4].data();
  const double *gxx = phys_[5].data(), *gxy = phys_[6].data(), *gyx = phys_[7].data();
  for (std::size_t p = p0; p < p1; ++p) c_[p] = dxx[p] + dyy[p];
  const ClosureInput in{c_.data(), dxx, dxy, dyy, gxx, gxy, gyx};
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
  for (std::size_t f = 0; f < 9; ++f) {
    std::copy(phys_[8 + f].data() + p0, phys_[8 + f].data() + p1, line.data());
    grid_.row_to_half(line.data(), half.data());
    std::copy(half.data(), half.data() + grid_.columns(), out_[f].data() + ix * nh);
  }
}

// x-pass of the products' forward transforms in column iy (1/N² included), then the explicit
// part −∇·(uD) + R at the column's modes.
void MomentSolver::column_out(std::size_t iy, FftBuffer<cplx>& col, Fields& out) {
  const std::size_t n = std::size_t(grid_.n()), nh = n / 2 + 1;
  const double scale = 1.0 / double(grid_.points());
  const auto& modes = grid_.column_modes(iy);
  const std::size_t nm = modes.size();
  std::vector<cplx> hat(9 * nm);  // hat[f nm + m]: product f at the column's m-th mode
  for (std::size_t f = 0; f < 9; ++f) {
    const cplx* h = out_[f].data();
    for (std::size_t ix = 0; ix < n; ++ix) col[ix] = h[ix * nh + iy];
    grid_.column_forward(col.data());
    for (std::size_t m = 0; m < nm; ++m)
      hat[f * nm + m] = col[std::size_t(modes[m].second)] * scale;
  }
  for (std::size_t m = 0; m < nm; ++m) {
    const std::size_t q = modes[m].first;
    for (std::size_t a = 0; a < 3; ++a) {
      const cplx fx = hat[(3 + 2 * a) * nm + m], fy = hat[(4 + 2 * a) * nm + m];
      const cplx div = grid_.kx(q) * fx + grid_.ky(q) * fy;  // ∇·(uD) = i div
      out[a][q] = hat[a * nm + m] + cplx(div.imag(), -div.real());
    }
  }
}

void MomentSolver::columns_in(const Fields& d) {
  const std::size_t n = std::size_t(grid_.n());
  pool_.parallel_for(grid_.columns(), [&](std::size_t b, std::size_t e) {
    FftBuffer<cplx> col(n);
    for (std::size_t iy = b; iy < e; ++iy) column_in(d, iy, col);
  });
}

void MomentSolver::rows() {
  const std::size_t n = std::size_t(grid_.n());
  pool_.parallel_for(n, [&](std::size_t b, std::size_t e) {
    FftBuffer<cplx> half(n / 2 + 1);
    FftBuffer<double> line(n);
    for (std::size_t i = b; i < e; ++i) row(row_order_[i], half, line);
  });
}

void MomentSolver::explicit_rhs(const Fields& d, Fields& out) {
  const std::size_t cols = grid_.columns(), n = std::size_t(grid_.n());
  for (auto& o : out) o.resize(grid_.kept());
  columns_in(d);
  rows();
  pool_.parallel_for(cols, [&](std::size_t b, std::size_t e) {
    FftBuffer<cplx> col(n);
    for (std::size_t iy = b; iy < e; ++iy) column_out(iy, col, out);
  });
  ready_ = false;  // in_ now holds d's transforms, not necessarily the state's
}

void MomentSolver::step() {
  const std::size_t cols = grid_.columns(), n = std::size_t(grid_.n());
  if (!ready_) columns_in(d_);
  rows();
  // SBDF2 (first step: backward Euler on d_T Δ), per mode, then the next step's x-pass.
  const double dt = cfg_.dt;
  pool_.parallel_for(cols, [&](std::size_t b, std::size_t e) {
    FftBuffer<cplx> col(n);
    for (std::size_t iy = b; iy < e; ++iy) {
      column_out(iy, col, n_);
      for (const auto& [q, ix] : grid_.column_modes(iy)) {
        const double lin = -cfg_.dT * grid_.k2(q);
        for (int a = 0; a < 3; ++a) {
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
      col_max_[iy] = column_max_abs(iy);
      column_in(d_, iy, col);
    }
  });
  std::swap(n_, n_old_);
  have_history_ = true;
  ready_ = true;
  col_max_fresh_ = true;
  t_ += dt;
}

double MomentSolver::column_max_abs(std::size_t iy) const {
  double mx = 0;
  for (const auto& [q, ix] : grid_.column_modes(iy))
    for (const auto& f : d_) {
      if (!std::isfinite(f[q].real()) || !std::isfinite(f[q].imag())) return std::nan("");
      mx = std::max(mx, std::abs(f[q]));
    }
  return mx;
}

bool MomentSolver::finite() const {
  const double m = max_abs();
  return m == m && m <= BlowupDetector::max_coefficient;
}

double MomentSolver::max_abs() const {
  double mx = 0;
  for (std::size_t iy = 0; iy < grid_.columns(); ++iy) {
    // step() took each column's maximum in its column region; after set_state, take it here.
    const double m = col_max_fresh_ ? col_max_[iy] : column_max_abs(iy);
    if (m != m) return m;
    mx = std::max(mx, m);
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
