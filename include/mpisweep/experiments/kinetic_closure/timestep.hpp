#pragma once
// Training through the solver: the paper's time-stepping constraint (Maddu, Weady, Shelley 2024,
// "training with time-stepping constraints" through a differentiable pseudo-spectral solver).
// A window is k + 2 consecutive kinetic states D̂^{−1}, D̂^0, ..., D̂^k, one solver step apart.
// The moment model with the learned closure continues D̂^0 with SBDF2 (history D̂^{−1}) for k
// steps, and the loss is the error of the predicted trajectory relative to its change:
//   L = Σ_{j=1..k} ‖D̂^j − D̂^j_kin‖² / Σ_{j=1..k} ‖D̂^j_kin − D̂^0_kin‖²,
// ‖·‖² the Frobenius norm (D12 twice) summed over space (Parseval). With the true S the
// moment model reproduces the kinetic moments exactly, so L measures the closure alone, and
// through k steps it sees how closure errors grow under the dynamics, not just pointwise.
//
// The gradient dL/dθ is exact, by the discrete adjoint of the solver (reverse mode by hand):
//   D^j = (4D^{j−1} − D^{j−2} + 2Δt(2N^{j−1} − N^{j−2}))/(3 − 2Δt L),
// backwards in j: b = λ_j/(3 − 2Δt L), λ_{j−1} += 4b, λ_{j−2} −= b, g_{j−1} += 4Δt b,
// g_{j−2} −= 2Δt b; once g_m is complete, λ_m += (∂N/∂D)ᵀ g_m and dL/dθ += (∂N/∂θ)ᵀ g_m.
// (∂N/∂D)ᵀ uses the transposes of the transforms under Σ_x and Σ_q w_q Re(ā b): to_spectralᵀ
// = to_physical/N², to_physicalᵀ = N² to_spectral; Stokes and i k per mode by conjugation; the
// point-wise source and closure by forward-mode duals (dual.hpp), the network by backprop.
#include <mpisweep/experiments/kinetic_closure/mlp.hpp>
#include <mpisweep/experiments/kinetic_closure/moment.hpp>

namespace mpisweep::kinetic {

using Window = std::vector<MomentSolver::Fields>;  // D̂^{−1}, D̂^0, ..., D̂^k

// L of one window, computed with the real MomentSolver.
double timestep_loss(const MomentConfig& cfg, const NnClosure& nn, const Window& w);
// L and dL/dθ (added to grad), on `pool` (serial when null); the same for any pool size.
double timestep_gradient(const MomentConfig& cfg, const NnClosure& nn, const Window& w,
                         Eigen::VectorXd& grad, ThreadPool* pool = nullptr);

struct TimestepTrainConfig {
  int epochs = 10;
  int batch = 8;  // windows per Adam step
  double learning_rate = 5e-4;
};
// Adam on the mean window loss; windows of a batch run in parallel (one per thread, each a
// serial solver) and their gradients are reduced in window order: bit-identical for any thread
// count. Returns the mean loss of each epoch.
std::vector<double> train_timestep(NnClosure& nn, const MomentConfig& cfg,
                                   const std::vector<Window>& windows,
                                   const TimestepTrainConfig& tc, Rng& rng, ThreadPool& pool,
                                   const std::function<void()>& poll = {});

}  // namespace mpisweep::kinetic
