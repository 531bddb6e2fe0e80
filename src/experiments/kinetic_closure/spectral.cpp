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
  std::lock_guard lock(planner_mutex());
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

void stokes(const SpectralGrid& g, double alpha, const cplx* dxx, const cplx* dxy, const cplx* dyy,
            VelocityHat& v) {
  const std::size_t nk = g.kept();
  for (auto* a : {&v.ux, &v.uy, &v.gxx, &v.gxy, &v.gyx}) a->assign(nk, cplx(0));
  const cplx I(0, 1);
  for (std::size_t q = 0; q < nk; ++q) {
    const double kx = g.kx(q), ky = g.ky(q), k2 = kx * kx + ky * ky;
    if (k2 == 0) continue;
    const cplx fx = alpha * I * (kx * dxx[q] + ky * dxy[q]);
    const cplx fy = alpha * I * (kx * dxy[q] + ky * dyy[q]);
    const cplx kf = (kx * fx + ky * fy) / k2;
    const cplx ux = (fx - kx * kf) / k2, uy = (fy - ky * kf) / k2;
    v.ux[q] = ux;
    v.uy[q] = uy;
    v.gxx[q] = I * kx * ux;
    v.gxy[q] = I * ky * ux;
    v.gyx[q] = I * kx * uy;
  }
}

}  // namespace mpisweep::kinetic
