// The `kinetic_closure` experiment (specs/kinetic_closure.md): schema, metrics, series, plots,
// and dispatch to the three scenarios in scenarios.cpp.
#include <mpisweep/experiments/kinetic_closure/scenarios.hpp>
#include <mpisweep/experiments/registry.hpp>

namespace mpisweep {

Experiment make_kinetic_closure_experiment() {
  using kinetic::check_params;
  Experiment e;
  e.name = "kinetic_closure";
  e.summary =
      "learned vs Bingham closures of a 2D active-suspension kinetic theory (Maddu, Weady, "
      "Shelley 2024)";
  const auto I = ParamType::integer;
  const auto R = ParamType::real;
  e.params = {
      {.name = "scenario", .type = ParamType::choice, .default_value = std::string("active"),
       .help = "homogeneous: imposed flow, steady state; linear: growth rate of the lowest mode; "
               "active: kinetic run, training, a-priori and a-posteriori comparison",
       .choices = {"homogeneous", "linear", "active"}},
      {.name = "alpha", .type = R, .default_value = -2.0,
       .help = "active stress strength (< 0 pushers, unstable; > 0 pullers)", .min = -20.0,
       .max = 20.0},
      {.name = "zeta", .type = R, .default_value = 0.0, .help = "steric alignment strength",
       .min = 0.0, .max = 10.0},
      {.name = "dT", .type = R, .default_value = 0.05, .help = "translational diffusivity",
       .min = 0.0, .max = 10.0, .min_open = true},
      {.name = "dR", .type = R, .default_value = 0.05, .help = "rotational diffusivity",
       .min = 0.0, .max = 10.0, .min_open = true},
      {.name = "L", .type = R, .default_value = 10.0, .help = "side of the periodic box",
       .min = 0.0, .max = 1000.0, .min_open = true},
      {.name = "N", .type = I, .default_value = std::int64_t{32},
       .help = "grid points per side (even; 2/3 dealiasing)", .min = 8.0, .max = 512.0},
      {.name = "Ntheta", .type = I, .default_value = std::int64_t{17},
       .help = "points in θ ∈ [0, 2π) (odd)", .min = 9.0, .max = 257.0},
      {.name = "dt", .type = R, .default_value = 0.02,
       .help = "SBDF2 time step (checked against a CFL estimate)", .min = 0.0, .max = 10.0,
       .min_open = true},
      {.name = "t_spinup", .type = R, .default_value = 100.0,
       .help = "active: start of snapshots and of the moment-model runs", .min = 0.0},
      {.name = "t_final", .type = R, .default_value = 200.0,
       .help = "active: end time; homogeneous: longest time to reach the steady state",
       .min = 0.0, .min_open = true},
      {.name = "t_linear", .type = R, .default_value = 10.0,
       .help = "linear: run length; the rate is fitted on [t_linear/5, t_linear]", .min = 0.0,
       .min_open = true},
      {.name = "perturbation", .type = R, .default_value = 1e-2,
       .help = "active: relative rms of the seeded initial perturbation (angular harmonics "
               "2θ, 4θ; |k| <= 4 per axis)",
       .min = 0.0, .max = 0.5, .min_open = true},
      {.name = "linear_amplitude", .type = R, .default_value = 1e-6,
       .help = "linear: relative amplitude of the lowest-mode perturbation (small keeps the "
               "run linear)",
       .min = 0.0, .max = 0.1, .min_open = true},
      {.name = "snapshot_every", .type = R, .default_value = 1.0,
       .help = "active: time between snapshots (first half of [t_spinup, t_final] trains, "
               "second half validates) and between series points",
       .min = 0.0, .min_open = true},
      {.name = "hidden", .type = I, .default_value = std::int64_t{32},
       .help = "network: width of the hidden layers", .min = 1.0, .max = 1024.0},
      {.name = "layers", .type = I, .default_value = std::int64_t{2},
       .help = "network: number of hidden tanh layers", .min = 1.0, .max = 8.0},
      {.name = "epochs", .type = I, .default_value = std::int64_t{60},
       .help = "network: training epochs (Adam)", .min = 0.0, .max = 100000.0},
      {.name = "batch", .type = I, .default_value = std::int64_t{256},
       .help = "network: minibatch size", .min = 1.0, .max = 1e6},
      {.name = "learning_rate", .type = R, .default_value = 2e-3,
       .help = "network: Adam step size", .min = 0.0, .max = 1.0, .min_open = true},
      {.name = "train_points", .type = I, .default_value = std::int64_t{8192},
       .help = "network: training points drawn (seeded) from the training snapshots",
       .min = 1.0, .max = 1e8},
      {.name = "closure_inputs", .type = ParamType::choice,
       .default_value = std::string("mu1_EW"),
       .help = "network inputs: mu1 (largest eigenvalue of Q) or mu1_EW (plus the eigenframe "
               "strain rate and the vorticity)",
       .choices = {"mu1", "mu1_EW"}},
      {.name = "flow", .type = ParamType::choice, .default_value = std::string("extension"),
       .help = "homogeneous: imposed flow, extension u = (Ex, -Ey) or shear u = (γ̇ y, 0)",
       .choices = {"extension", "shear"}},
      {.name = "rate", .type = R, .default_value = 0.1,
       .help = "homogeneous: strain rate E or shear rate γ̇", .min = 0.0, .max = 100.0},
  };
  e.metrics = {
      // homogeneous
      {.name = "D11", .help = "homogeneous: steady D11/c"},
      {.name = "D12", .help = "homogeneous: steady D12/c"},
      {.name = "S1111", .help = "homogeneous: steady S1111/c"},
      {.name = "S1112", .help = "homogeneous: steady S1112/c"},
      {.name = "kappa", .help = "homogeneous: Bingham κ of the steady D"},
      {.name = "kappa_theory",
       .help = "homogeneous extension: root of 2 d_R κ = E + ζ c I1(κ)/I0(κ)"},
      {.name = "bingham_error", .help = "homogeneous: relative error of Bingham's S"},
      {.name = "bingham_error4",
       .help = "homogeneous: relative error of Bingham's fourth angular harmonic"},
      {.name = "steady_residual", .help = "homogeneous: max |Δa|/dt at the last step"},
      {.name = "t_steady", .help = "homogeneous: time at which the run stopped"},
      // linear
      {.name = "growth_rate", .help = "linear: measured rate of the shear-coupled m=2 mode",
       .unit = "1/time"},
      {.name = "growth_rate_theory", .help = "linear: c(ζ − α/4) − 4 d_R − d_T k²",
       .unit = "1/time"},
      {.name = "growth_rate_aligned", .help = "linear: measured rate of the other m=2 mode",
       .unit = "1/time"},
      {.name = "growth_rate_aligned_theory", .help = "linear: cζ − 4 d_R − d_T k²",
       .unit = "1/time"},
      {.name = "max_divergence", .help = "linear: max |∇·u| at the end"},
      {.name = "mass_drift", .help = "linear, active: |∫Ψ(t_end) − ∫Ψ(0)| / ∫Ψ(0)"},
      // active
      {.name = "apriori_error_bingham",
       .help = "active: relative L2 error of S:E, Bingham, validation snapshots"},
      {.name = "apriori_error_nn",
       .help = "active: relative L2 error of S:E, network, validation snapshots"},
      {.name = "apriori_error4_bingham",
       .help = "active: relative L2 error of the 4th angular harmonic, Bingham"},
      {.name = "apriori_error4_nn",
       .help = "active: relative L2 error of the 4th angular harmonic, network"},
      {.name = "order_kinetic", .help = "active: time mean over (t_spinup, t_final] of the space "
                                        "mean of μ1 − μ2, kinetic run"},
      {.name = "order_bingham", .help = "active: same, moment model with Bingham"},
      {.name = "order_nn", .help = "active: same, moment model with the network"},
      {.name = "urms_kinetic", .help = "active: time mean of the rms velocity, kinetic run"},
      {.name = "urms_bingham", .help = "active: same, moment model with Bingham"},
      {.name = "urms_nn", .help = "active: same, moment model with the network"},
      {.name = "spectrum_error_bingham",
       .help = "active: relative L2 distance of log velocity spectra, Bingham vs kinetic"},
      {.name = "spectrum_error_nn",
       .help = "active: relative L2 distance of log velocity spectra, network vs kinetic"},
      {.name = "bingham_stable", .help = "active: 1 if the Bingham moment model reached t_final"},
      {.name = "nn_stable", .help = "active: 1 if the network moment model reached t_final"},
      {.name = "train_loss_final", .help = "active: mean scaled training loss, last epoch"},
      {.name = "training_samples", .help = "active: points used for training"},
      {.name = "validation_samples", .help = "active: points in the validation snapshots"},
      {.name = "seconds_kinetic", .help = "active: wall time of the kinetic run", .unit = "s"},
      {.name = "seconds_training", .help = "active: wall time of training", .unit = "s"},
      {.name = "seconds_bingham", .help = "active: wall time of the Bingham moment run",
       .unit = "s"},
      {.name = "seconds_nn", .help = "active: wall time of the network moment run", .unit = "s"},
  };
  e.series = {
      {.name = "order_kinetic", .help = "active: order parameter, kinetic run, from t = 0",
       .axis = "time/snapshot_every"},
      {.name = "order_bingham",
       .help = "active: order parameter, Bingham moment model, from t_spinup",
       .axis = "(time - t_spinup)/snapshot_every"},
      {.name = "order_nn", .help = "active: order parameter, network moment model, from t_spinup",
       .axis = "(time - t_spinup)/snapshot_every"},
      {.name = "spectrum_kinetic",
       .help = "active: time-averaged shell velocity power spectrum, kinetic run",
       .axis = "|k| L / 2π"},
      {.name = "spectrum_bingham", .help = "active: same, Bingham moment model",
       .axis = "|k| L / 2π"},
      {.name = "spectrum_nn", .help = "active: same, network moment model", .axis = "|k| L / 2π"},
      {.name = "train_loss", .help = "active: mean scaled training loss", .axis = "epoch"},
  };
  e.plots = {
      {.title = "a-priori error of S:E, Bingham", .x = "alpha", .y = "apriori_error_bingham",
       .group_by = "zeta"},
      {.title = "a-priori error of S:E, network", .x = "alpha", .y = "apriori_error_nn",
       .group_by = "zeta"},
      {.title = "a-priori error of the 4th harmonic, network", .x = "alpha",
       .y = "apriori_error4_nn", .group_by = "zeta"},
      {.title = "order parameter, kinetic", .x = "alpha", .y = "order_kinetic",
       .group_by = "zeta"},
      {.title = "order parameter, network closure", .x = "alpha", .y = "order_nn",
       .group_by = "zeta"},
      {.title = "order parameter, Bingham closure", .x = "alpha", .y = "order_bingham",
       .group_by = "zeta"},
      {.title = "order parameter against time, kinetic", .group_by = "alpha",
       .series = "order_kinetic"},
      {.title = "order parameter against time, network closure", .group_by = "alpha",
       .series = "order_nn"},
      {.title = "velocity spectrum, kinetic", .group_by = "alpha", .series = "spectrum_kinetic",
       .logy = true},
      {.title = "training loss", .group_by = "alpha", .series = "train_loss", .logy = true},
  };
  e.check = [](const Params& p) { check_params(p); };
  e.run = [](const Params& p, const RunContext& ctx) -> Result {
    check_params(p);
    const std::string& s = p.get_string("scenario");
    if (s == "homogeneous") return kinetic::run_homogeneous(p, ctx);
    if (s == "linear") return kinetic::run_linear(p, ctx);
    return kinetic::run_active(p, ctx);
  };
  return e;
}

}  // namespace mpisweep
