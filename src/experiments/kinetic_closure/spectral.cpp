// FFTW wrapper and Stokes solve (specs/kinetic_closure.md "Model").
#include <fftw3.h>

#include <cmath>
#include <cstring>
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/kinetic_closure/spectral.hpp>
#include <mutex>
#include <numbers>

namespace mpisweep::kinetic {

namespace {
std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

template <class T>
FftBuffer<T>::FftBuffer(std::size_t n)
    : p_(static_cast<T*>(fftw_malloc(sizeof(T) * (n == 0 ? 1 : n)))), n_(n) {
  if (!p_) throw error("kinetic_closure: out of memory for an FFT buffer");
  std::memset(static_cast<void*>(p_.get()), 0, sizeof(T) * (n == 0 ? 1 : n));
}
template <class T>
void FftBuffer<T>::Free::operator()(void* p) const {
  fftw_free(p);
}
template class FftBuffer<double>;
template class FftBuffer<cplx>;

SpectralGrid::SpectralGrid(int n, double length)
    : n_(n),
      length_(length),
      plan_real_(std::size_t(n) * n),
      plan_cplx_(std::size_t(n) * (n / 2 + 1)) {
  if (n < 1) throw internal_error("SpectralGrid: n < 1");
  const int nh = n / 2 + 1;
  const double k0 = 2 * std::numbers::pi / length;
  for (int ix = 0; ix < n; ++ix) {
    const int kxi = ix <= n / 2 ? ix : ix - n;
    for (int iy = 0; iy < nh; ++iy) {
      // 2/3 rule: a quadratic product of kept modes aliases only onto dropped ones.
      if (3 * std::abs(kxi) >= n && n > 1) continue;
      if (3 * iy >= n && n > 1) continue;
      kept_.push_back(std::size_t(ix) * nh + iy);
      kx_.push_back(k0 * kxi);
      ky_.push_back(k0 * iy);
    }
  }
  for (int iy = 0; iy < nh; ++iy)
    if (3 * iy < n || n == 1) columns_ = std::size_t(iy) + 1;
  column_modes_.resize(columns_);
  for (std::size_t q = 0; q < kept_.size(); ++q)
    column_modes_[kept_[q] % nh].emplace_back(q, int(kept_[q] / nh));
  std::lock_guard lock(planner_mutex());
  {
    FftBuffer<cplx> col(static_cast<std::size_t>(n)), half(static_cast<std::size_t>(nh));
    FftBuffer<double> row(static_cast<std::size_t>(n));
    auto* c = reinterpret_cast<fftw_complex*>(col.data());
    auto* h = reinterpret_cast<fftw_complex*>(half.data());
    plan_col_fwd_ = fftw_plan_dft_1d(n, c, c, FFTW_FORWARD, FFTW_ESTIMATE);
    plan_col_bwd_ = fftw_plan_dft_1d(n, c, c, FFTW_BACKWARD, FFTW_ESTIMATE);
    plan_row_r2c_ = fftw_plan_dft_r2c_1d(n, row.data(), h, FFTW_ESTIMATE);
    plan_row_c2r_ = fftw_plan_dft_c2r_1d(n, h, row.data(), FFTW_ESTIMATE);
  }
  if (!plan_col_fwd_ || !plan_col_bwd_ || !plan_row_r2c_ || !plan_row_c2r_)
    throw error("kinetic_closure: FFTW planning failed");
  plan_r2c_ = fftw_plan_dft_r2c_2d(
      n, n, plan_real_.data(), reinterpret_cast<fftw_complex*>(plan_cplx_.data()), FFTW_ESTIMATE);
  plan_c2r_ = fftw_plan_dft_c2r_2d(n, n, reinterpret_cast<fftw_complex*>(plan_cplx_.data()),
                                   plan_real_.data(), FFTW_ESTIMATE);
  if (!plan_r2c_ || !plan_c2r_) throw error("kinetic_closure: FFTW planning failed");
}

SpectralGrid::~SpectralGrid() {
  std::lock_guard lock(planner_mutex());
  if (plan_r2c_) fftw_destroy_plan(static_cast<fftw_plan>(plan_r2c_));
  if (plan_c2r_) fftw_destroy_plan(static_cast<fftw_plan>(plan_c2r_));
  for (void* p : {plan_col_fwd_, plan_col_bwd_, plan_row_r2c_, plan_row_c2r_})
    if (p) fftw_destroy_plan(static_cast<fftw_plan>(p));
}

int SpectralGrid::shell(std::size_t q) const {
  return int(std::lround(std::sqrt(k2(q)) * length_ / (2 * std::numbers::pi)));
}

void SpectralGrid::to_physical(const cplx* kept_coeffs, double* out,
                               FftBuffer<cplx>& scratch) const {
  cplx* s = scratch.data();
  std::fill(s, s + half(), cplx(0));
  for (std::size_t q = 0; q < kept_.size(); ++q) s[kept_[q]] = kept_coeffs[q];
  fftw_execute_dft_c2r(static_cast<fftw_plan>(plan_c2r_), reinterpret_cast<fftw_complex*>(s), out);
}

void SpectralGrid::to_spectral(const double* in, cplx* kept_out, FftBuffer<cplx>& scratch,
                               double scale) const {
  // fftw's r2c does not modify its input for out-of-place transforms.
  fftw_execute_dft_r2c(static_cast<fftw_plan>(plan_r2c_), const_cast<double*>(in),
                       reinterpret_cast<fftw_complex*>(scratch.data()));
  const double f = scale / double(points());
  for (std::size_t q = 0; q < kept_.size(); ++q) kept_out[q] = scratch[kept_[q]] * f;
}

void SpectralGrid::column_backward(cplx* col) const {
  auto* c = reinterpret_cast<fftw_complex*>(col);
  fftw_execute_dft(static_cast<fftw_plan>(plan_col_bwd_), c, c);
}

void SpectralGrid::column_forward(cplx* col) const {
  auto* c = reinterpret_cast<fftw_complex*>(col);
  fftw_execute_dft(static_cast<fftw_plan>(plan_col_fwd_), c, c);
}

void SpectralGrid::row_to_physical(cplx* row_half, double* out) const {
  fftw_execute_dft_c2r(static_cast<fftw_plan>(plan_row_c2r_),
                       reinterpret_cast<fftw_complex*>(row_half), out);
}

void SpectralGrid::row_to_half(const double* in, cplx* row_half) const {
  fftw_execute_dft_r2c(static_cast<fftw_plan>(plan_row_r2c_), const_cast<double*>(in),
                       reinterpret_cast<fftw_complex*>(row_half));
}

void stokes(const SpectralGrid& g, double alpha, const cplx* dxx, const cplx* dxy, const cplx* dyy,
            VelocityHat& v) {
  for (auto* a : {&v.ux, &v.uy, &v.gxx, &v.gxy, &v.gyx}) a->resize(g.kept());
  stokes(g, alpha, dxx, dxy, dyy, v, 0, g.kept());
}

void stokes(const SpectralGrid& g, double alpha, const cplx* dxx, const cplx* dxy, const cplx* dyy,
            VelocityHat& v, std::size_t q0, std::size_t q1) {
  for (std::size_t q = q0; q < q1; ++q) {
    cplx m[5] = {};
    if (g.k2(q) != 0) stokes_mode(g.kx(q), g.ky(q), alpha, dxx[q], dxy[q], dyy[q], m);
    v.ux[q] = m[0];
    v.uy[q] = m[1];
    v.gxx[q] = m[2];
    v.gxy[q] = m[3];
    v.gyx[q] = m[4];
  }
}

}  // namespace mpisweep::kinetic
