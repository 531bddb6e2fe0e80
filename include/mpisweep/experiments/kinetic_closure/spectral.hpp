#pragma once
// Fourier pseudo-spectral grid on the periodic box [0, L)² (specs/kinetic_closure.md "Model"):
// FFTW real transforms of N×N fields, the 2/3-dealiased set of kept modes, and the Stokes
// solve. Fields in Fourier space are stored only on the kept modes (|k_x|, |k_y| < N/3 in grid
// units, half plane k_y ≥ 0), as Fourier coefficients f̂ (f(x) = Σ f̂ e^{ik·x}).
//
// Thread safety: plans are created under a process-wide mutex (the FFTW planner is not
// thread-safe) with FFTW_ESTIMATE, so plans and results are deterministic; transforms use the
// new-array execute functions on buffers from `FftBuffer`, so any number of threads may
// transform concurrently with one grid.
#include <complex>
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace mpisweep::kinetic {

using cplx = std::complex<double>;

// Aligned FFTW buffer (fftw_malloc), move-only.
template <class T>
class FftBuffer {
 public:
  FftBuffer() = default;
  explicit FftBuffer(std::size_t n);
  T* data() { return p_.get(); }
  const T* data() const { return p_.get(); }
  T& operator[](std::size_t i) { return p_.get()[i]; }
  const T& operator[](std::size_t i) const { return p_.get()[i]; }
  std::size_t size() const { return n_; }

 private:
  struct Free {
    void operator()(void* p) const;
  };
  std::unique_ptr<T, Free> p_;
  std::size_t n_ = 0;
};
extern template class FftBuffer<double>;
extern template class FftBuffer<cplx>;

class SpectralGrid {
 public:
  SpectralGrid(int n, double length);
  ~SpectralGrid();
  SpectralGrid(const SpectralGrid&) = delete;
  SpectralGrid& operator=(const SpectralGrid&) = delete;

  int n() const { return n_; }
  double length() const { return length_; }
  std::size_t points() const { return std::size_t(n_) * n_; }          // physical grid, x-major
  std::size_t half() const { return std::size_t(n_) * (n_ / 2 + 1); }  // FFTW complex size
  std::size_t kept() const { return kept_.size(); }
  double kx(std::size_t q) const { return kx_[q]; }
  double ky(std::size_t q) const { return ky_[q]; }
  double k2(std::size_t q) const { return kx_[q] * kx_[q] + ky_[q] * ky_[q]; }
  // Integer shell |k| L/2π rounded, for radial spectra.
  int shell(std::size_t q) const;
  // 1 for modes whose conjugate is not stored (k_y > 0) counted twice in Parseval sums.
  double weight(std::size_t q) const { return ky_[q] > 0 ? 2.0 : 1.0; }

  // Scratch for one transform: an N×(N/2+1) complex array (c2r destroys its input).
  FftBuffer<cplx> make_scratch() const { return FftBuffer<cplx>(half()); }

  // f(x) = Σ_kept f̂ e^{ik·x}. `scratch` from make_scratch(). Thread-safe.
  void to_physical(const cplx* kept_coeffs, double* out, FftBuffer<cplx>& scratch) const;
  // f̂ on the kept modes, times `scale` (the 1/N² normalisation is included). Thread-safe.
  void to_spectral(const double* in, cplx* kept_out, FftBuffer<cplx>& scratch,
                   double scale = 1.0) const;

  // The same 2D transforms split into their 1D passes, so a solver can run them per column of
  // kept k_y (pass 1) and per row of x (pass 2) inside larger parallel loops; same formulas,
  // other roundoff than the 2D plans. On the FFTW half-complex array H (N × (N/2+1), x-major):
  //   to_physical:  H[ix, iy] = Σ_kx f̂(kx, ky) e^{i kx x}   (column_backward, per kept iy)
  //                 f(x, y)  = c2r_y H[ix, ·]                 (row_to_physical, per ix)
  //   to_spectral:  H[ix, ·] = r2c_y f(x, ·)                  (row_to_half, per ix)
  //                 f̂        = Σ_x H[·, iy] e^{−i kx x} / N²   (column_forward, per kept iy)
  // Only the kept columns iy < columns() are ever nonzero; the other entries of H stay 0.
  // Buffers must come from FftBuffer (aligned); `col` has N entries, `row_half` N/2 + 1.
  std::size_t columns() const { return columns_; }
  // Kept modes of column iy: kept index q and its x index ix, in increasing ix.
  const std::vector<std::pair<std::size_t, int>>& column_modes(std::size_t iy) const {
    return column_modes_[iy];
  }
  void column_backward(cplx* col) const;                    // in place, unnormalised
  void column_forward(cplx* col) const;                     // in place, unnormalised
  void row_to_physical(cplx* row_half, double* out) const;  // destroys row_half
  void row_to_half(const double* in, cplx* row_half) const;

 private:
  std::size_t columns_ = 0;
  std::vector<std::vector<std::pair<std::size_t, int>>> column_modes_;
  void* plan_col_fwd_ = nullptr;
  void* plan_col_bwd_ = nullptr;
  void* plan_row_r2c_ = nullptr;
  void* plan_row_c2r_ = nullptr;
  int n_;
  double length_;
  std::vector<std::size_t> kept_;  // index into the FFTW half-complex array
  std::vector<double> kx_, ky_;
  void* plan_r2c_ = nullptr;
  void* plan_c2r_ = nullptr;
  FftBuffer<double> plan_real_;
  FftBuffer<cplx> plan_cplx_;
};

// Stokes with active stress (spec "Model"): −Δu + ∇q = α ∇·D, ∇·u = 0, mean u = 0. In Fourier
// space f̂_i = α i k_j D̂_ij, û = (I − kk/|k|²) f̂ / |k|², Ĝ_ij = i k_j û_i (G_ij = ∂u_i/∂x_j).
// All arrays hold grid.kept() coefficients; G22 = −G11.
struct VelocityHat {
  std::vector<cplx> ux, uy, gxx, gxy, gyx;
};
// The same at one mode (k ≠ 0): out = (û_x, û_y, Ĝ_xx, Ĝ_xy, Ĝ_yx).
inline void stokes_mode(double kx, double ky, double alpha, cplx dxx, cplx dxy, cplx dyy,
                        cplx* out) {
  const double k2 = kx * kx + ky * ky;
  const cplx I(0, 1);
  const cplx fx = alpha * I * (kx * dxx + ky * dxy);
  const cplx fy = alpha * I * (kx * dxy + ky * dyy);
  const cplx kf = (kx * fx + ky * fy) / k2;
  const cplx ux = (fx - kx * kf) / k2, uy = (fy - ky * kf) / k2;
  out[0] = ux;
  out[1] = uy;
  out[2] = I * kx * ux;
  out[3] = I * ky * ux;
  out[4] = I * kx * uy;
}
void stokes(const SpectralGrid& grid, double alpha, const cplx* dxx, const cplx* dxy,
            const cplx* dyy, VelocityHat& out);
// The same on the kept modes [q0, q1) only, into `out` already sized (0 at k = 0).
void stokes(const SpectralGrid& grid, double alpha, const cplx* dxx, const cplx* dxy,
            const cplx* dyy, VelocityHat& out, std::size_t q0, std::size_t q1);

}  // namespace mpisweep::kinetic
