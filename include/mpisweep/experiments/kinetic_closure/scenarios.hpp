#pragma once
// The three scenarios of the `kinetic_closure` experiment (specs/kinetic_closure.md
// "Scenarios"), as functions of resolved parameters. The registered experiment
// (register.cpp) declares the schema and dispatches here.
#include <chrono>
#include <mpisweep/experiments/experiment.hpp>
#include <mpisweep/experiments/kinetic_closure/kinetic.hpp>

namespace mpisweep::kinetic {

Result run_homogeneous(const Params& p, const RunContext& ctx);
Result run_linear(const Params& p, const RunContext& ctx);
Result run_active(const Params& p, const RunContext& ctx);
// One task: kinetic runs over a grid of (α, ζ), one network with (α, ζ) among its inputs
// trained on pooled data, grown by the worst-predicted grid points round by round (active.cpp).
Result run_active_learning(const Params& p, const RunContext& ctx);

// RMS over shells n = 1..⌊N/3⌋ of log(E_model(n)/E_ref(n)) (shell 0 is empty).
double spectrum_error(const std::vector<double>& model, const std::vector<double>& ref);

// Drift of a closed model's order parameter S(t) away from the kinetic run's, both sampled at
// the same equally spaced times of the a-posteriori window (the shorter length counts), with
// e_j = S_model,j − S_kin,j:
//   drift      = (ê(end) − ê(start)) / ⟨S_kin⟩, ê the least-squares line through e_j: how much
//                the deviation grows over the run, signed (0 for a constant bias; a model with
//                the kinetic statistics only shows the chaotic noise of a fitted slope);
//   late_error = |⟨S_model⟩ − ⟨S_kin⟩| / ⟨S_kin⟩ over the second half of the window.
// NaN for fewer than 4 samples.
struct Drift {
  double drift = 0, late_error = 0;
};
Drift order_drift(const std::vector<double>& model, const std::vector<double>& kinetic);

// Shared by the scenario files.
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0);
KineticConfig kinetic_config(const Params& p);
long steps_for(double t, double dt);

// Cross-parameter checks: odd Ntheta, even N, time windows, the CFL estimate
//   dt (U/Δx + Γ/Δθ) ≤ 0.5,  U = |α| c L/(4π) (Stokes velocity of a saturated lowest mode),
//   Γ = |α| c/2 + 2|ζ| c + rate (rotation rate).
void check_params(const Params& p);
double cfl_number(const Params& p);

}  // namespace mpisweep::kinetic
