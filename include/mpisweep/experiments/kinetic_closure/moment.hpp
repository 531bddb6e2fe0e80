#pragma once
// The moment (reduced) model with a pluggable closure (specs/kinetic_closure.md "Model"):
//   ∂_t D + ∇·(uD) − d_T ΔD = G·D + D·Gᵀ + 4ζ D·D − 2 S:(E + 2ζD) − 4 d_R (D − c I/2),
// c = tr D (its equation ∂_t c + u·∇c = d_T Δc is the trace of the above for any closure that
// obeys S_ijkk = D_ij), u from the same Stokes problem as the kinetic model. Same grid,
// dealiasing and SBDF2 as the kinetic solver, with d_T Δ implicit.
#include <array>
#include <limits>
#include <mpisweep/core/parallel.hpp>
#include <mpisweep/experiments/kinetic_closure/closure.hpp>
#include <mpisweep/experiments/kinetic_closure/spectral.hpp>
#include <vector>

namespace mpisweep::kinetic {

// Point-wise inputs of a closure (physical fields; G_yy = −G_xx).
struct ClosureInput {
  const double *c, *dxx, *dxy, *dyy, *gxx, *gxy, *gyx;
};

class Closure {
 public:
  virtual ~Closure() = default;
  // Normalised fourth harmonic (C4, S4)/c at points [begin, end). Called concurrently on
  // disjoint ranges; deterministic per point whatever the range.
  virtual void evaluate(const ClosureInput& in, std::size_t begin, std::size_t end,
                        Harmonic4* out) const = 0;
};

class BinghamClosure final : public Closure {
 public:
  void evaluate(const ClosureInput& in, std::size_t begin, std::size_t end,
                Harmonic4* out) const override;
};

// Returns given normalised harmonics (the true S of a kinetic state, for tests).
class FixedClosure final : public Closure {
 public:
  explicit FixedClosure(std::vector<Harmonic4> h) : h_(std::move(h)) {}
  void evaluate(const ClosureInput&, std::size_t begin, std::size_t end,
                Harmonic4* out) const override {
    for (std::size_t p = begin; p < end; ++p) out[p] = h_[p];
  }

 private:
  std::vector<Harmonic4> h_;
};

struct MomentConfig {
  double alpha = -2, zeta = 0, dT = 0.05, dR = 0.05, L = 10;
  int N = 32;
  double dt = 0.02;
};

// The right-hand side R(D, G, S) of the moment equation at one point (no transport terms).
Sym2 moment_source(double c, const Sym2& D, double gxx, double gxy, double gyx, const Sym4& S,
                   double zeta, double dR);

// A step is two parallel regions (the 2D transforms split into their 1D passes, spectral.hpp):
//   per kept k_y column: the x-pass of the 9 products' forward transforms, the divergence, the
//     SBDF2 update of that column's modes, Stokes per mode, and the x-pass of the 8 inverse
//     transforms of the new D̂, û, Ĝ (everything in a column needs only that column's modes);
//   per x row: the y-pass of the 8 inverse transforms, the closure and the point-wise source
//     at the row's N points, and the y-pass of the 9 products' forward transforms.
// Every column and row is computed by the same operations whatever the thread count.
class MomentSolver {
 public:
  using Fields = std::array<std::vector<cplx>, 3>;  // D̂11, D̂12, D̂22 on the kept modes

  MomentSolver(const MomentConfig& cfg, const Closure& closure, ThreadPool& pool);
  void set_state(const Fields& d);  // resets time and SBDF2 history
  // Starts with SBDF2 history: the previous state one step earlier (its explicit part is
  // evaluated with the closure), so a kinetic trajectory is continued with the same scheme.
  void set_state(const Fields& previous, const Fields& d);
  void step();
  double time() const { return t_; }
  const Fields& state() const { return d_; }
  const SpectralGrid& grid() const { return grid_; }
  const MomentConfig& config() const { return cfg_; }

  // Explicit part −∇·(uD) + R(D, G, S(D)) (d_T Δ excluded), on the kept modes (3 regions).
  void explicit_rhs(const Fields& d, Fields& out);
  bool finite() const;
  // max |D̂| over the kept modes; NaN when any coefficient is not finite.
  double max_abs() const;

 private:
  void column_in(const Fields& d, std::size_t iy, FftBuffer<cplx>& col);
  void row(std::size_t ix, FftBuffer<cplx>& half, FftBuffer<double>& line);
  void column_out(std::size_t iy, FftBuffer<cplx>& col, Fields& out);
  double column_max_abs(std::size_t iy) const;  // max_abs over the column's modes
  // One parallel region each: every kept k_y column's x-pass of `d`; every x row's y-passes.
  void columns_in(const Fields& d);
  void rows();

  MomentConfig cfg_;
  const Closure& closure_;
  ThreadPool& pool_;
  SpectralGrid grid_;
  double t_ = 0;
  bool have_history_ = false;
  bool ready_ = false;  // in_ holds the x-pass of the current state's inverse transforms
  Fields d_, d_old_, n_, n_old_;
  std::vector<FftBuffer<double>> phys_;  // dxx dxy dyy ux uy gxx gxy gyx, then 9 products
  std::vector<FftBuffer<cplx>> in_;      // half-complex arrays of the 8 inverse transforms
  std::vector<FftBuffer<cplx>> out_;     // half-complex arrays of the 9 forward transforms
  std::vector<std::size_t> row_order_;   // rows spread over the threads (closure cost varies)
  std::vector<double> c_;
  std::vector<Harmonic4> h_;
  std::vector<double> col_max_;  // per k_y column, taken by step() (max_abs)
  bool col_max_fresh_ = false;
};

// Diagnostics shared by both models.
// Space mean of μ1 − μ2 of Q = D/c.
double order_parameter(const std::vector<double>& c, const std::vector<double>& dxx,
                       const std::vector<double>& dxy, const std::vector<double>& dyy);
// Blow-up of a closed-model run, fed once per step. The run has blown up at the first step
// where (a) a coefficient of D̂ is not finite or |D̂| > 1e6 (c = 1: a physical |D̂| is at most
// about 1), or (b) the space mean of the order parameter μ1 − μ2 exceeds 1, which needs D/c
// with a negative eigenvalue somewhere (an unphysical D; checked only on the steps where the
// order is computed, NaN otherwise). `time` is that step's time; after it, nothing changes.
class BlowupDetector {
 public:
  static constexpr double max_coefficient = 1e6;
  bool observe(double t, double max_abs_d, double order);  // true once blown up
  bool blown_up() const { return blown_up_; }
  double time() const { return time_; }  // NaN while not blown up

 private:
  bool blown_up_ = false;
  double time_ = std::numeric_limits<double>::quiet_NaN();
};

// D̂ on the kept modes → physical c, D (N² each).
void physical_moments(const SpectralGrid& g, const MomentSolver::Fields& d, std::vector<double>& c,
                      std::vector<double>& dxx, std::vector<double>& dxy, std::vector<double>& dyy,
                      ThreadPool* pool = nullptr);
// √⟨|u|²⟩ (Parseval) and the shell spectrum E(n) = Σ_{|k|L/2π ≈ n} |û|², n = 0..⌊N/3⌋.
struct VelocityStats {
  double urms = 0;
  std::vector<double> spectrum;
};
VelocityStats velocity_stats(const SpectralGrid& g, double alpha, const MomentSolver::Fields& d);

}  // namespace mpisweep::kinetic
