#pragma once
// The 2D kinetic solver (specs/kinetic_closure.md "Model"): Doi–Saintillan–Shelley with steric
// alignment, Fourier pseudo-spectral in x (2/3 dealiasing), Fourier in θ ∈ [0, 2π) on an odd
// number of points, SBDF2 with both diffusions implicit:
//   ∂_t Ψ = −∇·(uΨ) − ∂_θ(θ̇_a Ψ) + d_T ΔΨ + d_R ∂²_θ Ψ,   θ̇_a = p⊥·(G + 2ζD)·p,
//   (3Ψ^{n+1} − 4Ψ^n + Ψ^{n−1})/(2Δt) = 2N^n − N^{n−1} + LΨ^{n+1},  L = −d_T|k|² − d_R m²
// (first step: backward/forward Euler). The state is a_m(k): θ-mode m ∈ [−M, M] (row m + M,
// M = (Ntheta − 1)/2) of the kept x-modes k; Ψ(x, θ) = Σ a_m(k) e^{i(k·x + mθ)}.
// Moments: c = 2π a_0, D11 = π a_0 + π/2 (a_2 + a_−2), D22 = π a_0 − π/2 (a_2 + a_−2),
// D12 = iπ/2 (a_2 − a_−2), C4 = π (a_4 + a_−4), S4 = iπ (a_4 − a_−4).
//
// Parallelism: three parallel regions per step on the caller's ThreadPool (θ points and fields;
// (θ point, flux) pairs; fixed-width chunks of x-modes); every output element is computed by
// the same operations whatever the thread count, so results are bit-identical across thread
// counts.
#include <Eigen/Dense>
#include <array>
#include <functional>
#include <mpisweep/core/parallel.hpp>
#include <mpisweep/experiments/kinetic_closure/closure.hpp>
#include <mpisweep/experiments/kinetic_closure/spectral.hpp>

namespace mpisweep::kinetic {

using CMatrix = Eigen::Matrix<cplx, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct KineticConfig {
  double alpha = -2, zeta = 0, dT = 0.05, dR = 0.05, L = 10;
  int N = 32, Ntheta = 17;
  double dt = 0.02;
  // Imposed uniform velocity gradient G0 (xx, xy, yx, yy) added to G in θ̇ only: for the
  // space-independent (N = 1) `homogeneous` scenario, where advection by G0·x does nothing.
  std::array<double, 4> background_gradient{0, 0, 0, 0};
  // Apolar model: Ψ(θ + π) = Ψ(θ), so only even θ-modes are physical. With an odd Ntheta the
  // θ-aliasing of the quadratic terms (θ̇ has modes ±2, so products of even modes reach
  // ±(M + 2) and fold onto odd modes) lands only on odd modes; zeroing them after every step
  // (and in set_state) is then an exact θ-dealiasing.
  bool apolar = true;
};

// Physical fields on the N×N grid (x-major), each of N² values.
struct MomentFields {
  std::vector<double> c, dxx, dxy, dyy, c4, s4;
};
struct FlowFields {
  std::vector<double> ux, uy, gxx, gxy, gyx;  // gyy = −gxx
};

class KineticSolver {
 public:
  KineticSolver(const KineticConfig& cfg, ThreadPool& pool);

  // Ψ(x, y, θ) sampled on the grid and projected on the kept modes; resets the time and the
  // SBDF2 history. psi is called from the pool's threads (one θ row each): it must be pure.
  void set_state(const std::function<double(double x, double y, double theta)>& psi);
  void step();
  double time() const { return t_; }
  const KineticConfig& config() const { return cfg_; }
  const SpectralGrid& grid() const { return grid_; }
  int modes() const { return M_; }

  const CMatrix& state() const { return a_; }
  // Explicit part N(a) = −∇·(uΨ) − ∂_θ(θ̇_a Ψ), in the layout of the state. Thread-safe with
  // respect to nothing: uses the solver's scratch.
  void explicit_rhs(const CMatrix& a, CMatrix& out);
  // L(m, k) = −d_T |k|² − d_R m².
  double linear(int m, std::size_t q) const;

  // Spectral moments on the kept modes (0: c, 1: D11, 2: D12, 3: D22, 4: C4, 5: S4).
  std::array<std::vector<cplx>, 6> moments_hat(const CMatrix& a) const;
  // The same of the current state, kept up to date by step() (computed per mode in its last
  // region, so no serial pass between steps).
  const std::array<std::vector<cplx>, 6>& moments_hat_now() const { return mh_; }
  MomentFields moments();
  FlowFields flow();
  double mass() const;      // ∫∫∫Ψ dθ dx = L² · 2π Re a_0(0)
  double max_divergence();  // max |∇·u| on the grid
  bool finite() const;

 private:
  void theta_transform(const Eigen::MatrixXcd& F, const CMatrix& in, CMatrix& out);
  void project_apolar();
  void rhs_transforms(const CMatrix& a);
  void finish_rhs(CMatrix& out, Eigen::Index k0, Eigen::Index k1);
  void add_rotation(CMatrix& out, Eigen::Index k0, Eigen::Index k1) const;
  // mh_ and vel_ of a_ on the kept modes [q0, q1) (per mode: no other mode is read).
  void update_moments(std::size_t q0, std::size_t q1);

  KineticConfig cfg_;
  ThreadPool& pool_;
  SpectralGrid grid_;
  int M_;
  double t_ = 0;
  bool have_history_ = false;
  CMatrix a_, a_old_, n_, n_old_;
  std::array<std::vector<cplx>, 6> mh_;  // moments_hat(a_)
  VelocityHat vel_;                      // Stokes velocity and gradient of mh_
  Eigen::MatrixXcd fwd_, inv_;           // θ DFT matrices (m × j and j × m)
  std::vector<double> cos_, sin_;        // at θ_j
  // scratch
  CMatrix b_, flux_, rot_, rotm_, fxh_, fyh_;
  std::vector<FftBuffer<cplx>> scratch_;       // per θ point
  std::vector<FftBuffer<double>> psi_;         // per θ point
  std::vector<FftBuffer<double>> prod_;        // per (θ point, flux)
  std::vector<FftBuffer<cplx>> prod_scratch_;  // per (θ point, flux)
  std::vector<FftBuffer<double>> fields_;      // ux, uy, gxx, gxy, gyx, dxx, dxy, dyy
  std::vector<FftBuffer<cplx>> field_scratch_;
};

}  // namespace mpisweep::kinetic
