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

 private:
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
void stokes(const SpectralGrid& grid, double alpha, const cplx* dxx, const cplx* dxy,
            const cplx* dyy, VelocityHat& out);

}  // namespace mpisweep::kinetic
