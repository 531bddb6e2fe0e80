#pragma once
// The three scenarios of the `kinetic_closure` experiment (specs/kinetic_closure.md
// "Scenarios"), as functions of resolved parameters. The registered experiment
// (register.cpp) declares the schema and dispatches here.
#include <mpisweep/experiments/experiment.hpp>

namespace mpisweep::kinetic {

Result run_homogeneous(const Params& p, const RunContext& ctx);
Result run_linear(const Params& p, const RunContext& ctx);
Result run_active(const Params& p, const RunContext& ctx);

// Cross-parameter checks: odd Ntheta, even N, time windows, the CFL estimate
//   dt (U/Δx + Γ/Δθ) ≤ 0.5,  U = |α| c L/(4π) (Stokes velocity of a saturated lowest mode),
//   Γ = |α| c/2 + 2|ζ| c + rate (rotation rate).
void check_params(const Params& p);
double cfl_number(const Params& p);

}  // namespace mpisweep::kinetic
