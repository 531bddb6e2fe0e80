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
      {.name = "scenario",
       .type = ParamType::choice,
       .default_value = std::string("active"),
       .help = "homogeneous: imposed flow, steady state; linear: growth rate of the lowest mode; "
               "active: kinetic run, training, a-priori and a-posteriori comparison; "
               "active_learning: one network over a 3x3 (alpha, zeta) grid, grown round by round",
       .choices = {"homogeneous", "linear", "active", "active_learning"}},
      {.name = "alpha",
       .type = R,
       .default_value = -2.0,
       .help = "active stress strength (< 0 pushers, unstable; > 0 pullers)",
       .min = -20.0,
       .max = 20.0},
      {.name = "zeta",
       .type = R,
       .default_value = 0.0,
       .help = "steric alignment strength",
       .min = 0.0,
       .max = 10.0},
      {.name = "dT",
       .type = R,
       .default_value = 0.05,
       .help = "translational diffusivity",
       .min = 0.0,
       .max = 10.0,
       .min_open = true},
      {.name = "dR",
       .type = R,
       .default_value = 0.05,
       .help = "rotational diffusivity",
       .min = 0.0,
       .max = 10.0,
       .min_open = true},
      {.name = "L",
       .type = R,
       .default_value = 10.0,
       .help = "side of the periodic box",
       .min = 0.0,
       .max = 1000.0,
       .min_open = true},
      {.name = "N",
       .type = I,
       .default_value = std::int64_t{32},
       .help = "grid points per side (even; 2/3 dealiasing)",
       .min = 8.0,
       .max = 512.0},
      {.name = "Ntheta",
       .type = I,
       .default_value = std::int64_t{17},
       .help = "points in θ ∈ [0, 2π) (odd)",
       .min = 9.0,
       .max = 257.0},
      {.name = "dt",
       .type = R,
       .default_value = 0.02,
       .help = "SBDF2 time step (checked against a CFL estimate)",
       .min = 0.0,
       .max = 10.0,
       .min_open = true},
      {.name = "t_spinup",
       .type = R,
       .default_value = 100.0,
       .help = "active: start of snapshots and of the moment-model runs",
       .min = 0.0},
      {.name = "t_final",
       .type = R,
       .default_value = 200.0,
       .help = "active: end time; homogeneous: longest time to reach the steady state",
       .min = 0.0,
       .min_open = true},
      {.name = "t_linear",
       .type = R,
       .default_value = 10.0,
       .help = "linear: run length; the rate is fitted on [t_linear/5, t_linear]",
       .min = 0.0,
       .min_open = true},
      {.name = "perturbation",
       .type = R,
       .default_value = 1e-2,
       .help = "active: relative rms of the seeded initial perturbation (angular harmonics "
               "2θ, 4θ; |k| <= 4 per axis)",
       .min = 0.0,
       .max = 0.5,
       .min_open = true},
      {.name = "linear_amplitude",
       .type = R,
       .default_value = 1e-6,
       .help = "linear: relative amplitude of the lowest-mode perturbation (small keeps the "
               "run linear)",
       .min = 0.0,
       .max = 0.1,
       .min_open = true},
      {.name = "snapshot_every",
       .type = R,
       .default_value = 1.0,
       .help = "active: time between snapshots (first half of [t_spinup, t_final] trains, "
               "second half validates) and between series points",
       .min = 0.0,
       .min_open = true},
      {.name = "hidden",
       .type = I,
       .default_value = std::int64_t{16},
       .help = "network: width of the hidden layers (16: as accurate as 32 here, half the cost)",
       .min = 1.0,
       .max = 1024.0},
      {.name = "layers",
       .type = I,
       .default_value = std::int64_t{2},
       .help = "network: number of hidden softsign layers",
       .min = 1.0,
       .max = 8.0},
      {.name = "epochs",
       .type = I,
       .default_value = std::int64_t{60},
       .help = "network: training epochs (Adam)",
       .min = 0.0,
       .max = 100000.0},
      {.name = "batch",
       .type = I,
       .default_value = std::int64_t{256},
       .help = "network: minibatch size",
       .min = 1.0,
       .max = 1e6},
      {.name = "learning_rate",
       .type = R,
       .default_value = 2e-3,
       .help = "network: Adam step size",
       .min = 0.0,
       .max = 1.0,
       .min_open = true},
      {.name = "train_points",
       .type = I,
       .default_value = std::int64_t{8192},
       .help = "network: training points drawn (seeded) from the training snapshots",
       .min = 1.0,
       .max = 1e8},
      {.name = "closure_model",
       .type = ParamType::choice,
       .default_value = std::string("direct"),
       .help = "network closure: direct (invariants to the eigenframe closure, no kappa solve) or "
               "residual (Bingham plus a learned correction)",
       .choices = {"direct", "residual"}},
      {.name = "closure_head",
       .type = ParamType::choice,
       .default_value = std::string("bounded"),
       .help = "network closure output: bounded (r^2 times a fitted map of bounded units; "
               "vanishes at isotropy), unbounded (no r^2 factor, linear skip from the "
               "invariants: a plain MLP head, to test stability by training) or unbounded_relu "
               "(the same on ReLU hidden units)",
       .choices = {"bounded", "unbounded", "unbounded_relu"}},
      {.name = "ts_steps",
       .type = I,
       .default_value = std::int64_t{4},
       .help = "time-stepping training: solver steps k per window (loss through k steps)",
       .min = 1.0,
       .max = 100.0},
      {.name = "ts_epochs",
       .type = I,
       .default_value = std::int64_t{3},
       .help = "time-stepping training epochs after the a-priori training (0: a priori only)",
       .min = 0.0,
       .max = 10000.0},
      {.name = "ts_batch",
       .type = I,
       .default_value = std::int64_t{8},
       .help = "time-stepping training: windows per Adam step",
       .min = 1.0,
       .max = 10000.0},
      {.name = "ts_learning_rate",
       .type = R,
       .default_value = 5e-4,
       .help = "time-stepping training: Adam step size",
       .min = 0.0,
       .max = 1.0,
       .min_open = true},
      {.name = "rounds",
       .type = I,
       .default_value = std::int64_t{3},
       .help = "active_learning: rounds of train, evaluate over the grid, add the worst points",
       .min = 1.0,
       .max = 9.0},
      {.name = "al_add",
       .type = I,
       .default_value = std::int64_t{2},
       .help = "active_learning: grid points added per round",
       .min = 1.0,
       .max = 9.0},
      {.name = "al_alpha_min",
       .type = R,
       .default_value = -2.5,
       .help = "active_learning: most active alpha of the 3x3 grid",
       .min = -20.0,
       .max = 20.0},
      {.name = "al_alpha_max",
       .type = R,
       .default_value = -1.5,
       .help = "active_learning: least active alpha of the grid",
       .min = -20.0,
       .max = 20.0},
      {.name = "al_zeta_max",
       .type = R,
       .default_value = 0.2,
       .help = "active_learning: largest zeta of the grid (zeta in {0, max/2, max})",
       .min = 0.0,
       .max = 10.0},
      {.name = "ood_alpha",
       .type = R,
       .default_value = 0.0,
       .help = "active: if not 0, the networks trained at (alpha, zeta) are also closed at "
               "(ood_alpha, ood_zeta), from and against a kinetic run there (ood_* metrics)",
       .min = -20.0,
       .max = 20.0},
      {.name = "ood_zeta",
       .type = R,
       .default_value = 0.0,
       .help = "active: zeta of the out-of-distribution closed runs (with ood_alpha)",
       .min = 0.0,
       .max = 10.0},
      {.name = "ood_in_training",
       .type = ParamType::choice,
       .default_value = std::string("none"),
       .help = "active, with ood_alpha: what the training sees of the kinetic run at "
               "(ood_alpha, ood_zeta): none, timestep (its time-stepping windows, in place of "
               "the training point's), apriori (the states at those windows' starts, added to "
               "the a-priori data: the control) or both",
       .choices = {"none", "timestep", "apriori", "both"}},
      {.name = "ts_window_every",
       .type = R,
       .default_value = 0.0,
       .help = "time-stepping training: time between window starts in the training half "
               "(0: at the training snapshots, every snapshot_every)",
       .min = 0.0,
       .max = 1e6},
      {.name = "closure_inputs",
       .type = ParamType::choice,
       .default_value = std::string("mu1_EW"),
       .help = "network inputs: mu1 (largest eigenvalue of Q) or mu1_EW (plus the eigenframe "
               "strain rate and the vorticity)",
       .choices = {"mu1", "mu1_EW"}},
      {.name = "flow",
       .type = ParamType::choice,
       .default_value = std::string("extension"),
       .help = "homogeneous: imposed flow, extension u = (Ex, -Ey) or shear u = (γ̇ y, 0)",
       .choices = {"extension", "shear"}},
      {.name = "rate",
       .type = R,
       .default_value = 0.1,
       .help = "homogeneous: strain rate E or shear rate γ̇",
       .min = 0.0,
       .max = 100.0},
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
      {.name = "growth_rate",
       .help = "linear: measured rate of the shear-coupled m=2 mode",
       .unit = "1/time"},
      {.name = "growth_rate_theory",
       .help = "linear: c(ζ − α/4) − 4 d_R − d_T k²",
       .unit = "1/time"},
      {.name = "growth_rate_aligned",
       .help = "linear: measured rate of the other m=2 mode",
       .unit = "1/time"},
      {.name = "growth_rate_aligned_theory",
       .help = "linear: cζ − 4 d_R − d_T k²",
       .unit = "1/time"},
      {.name = "max_divergence", .help = "linear: max |∇·u| at the end"},
      {.name = "mass_drift", .help = "linear, active: |∫Ψ(t_end) − ∫Ψ(0)| / ∫Ψ(0)"},
      // active
      {.name = "apriori_error_bingham",
       .help = "active: relative L2 error of S:E, Bingham, validation snapshots"},
      {.name = "apriori_error_nn",
       .help = "active: relative L2 error of S:E, final network, validation snapshots"},
      {.name = "apriori_error_nn_untrained",
       .help = "active: same, network with 0 epochs (its fitted output head alone)"},
      {.name = "apriori_error_nn_apriori_only",
       .help = "active: same, network before time-stepping training"},
      {.name = "apriori_error4_bingham",
       .help = "active: relative L2 error of the 4th angular harmonic, Bingham"},
      {.name = "apriori_error4_nn",
       .help = "active: relative L2 error of the 4th angular harmonic, final network"},
      {.name = "apriori_error4_nn_untrained", .help = "active: same, network with 0 epochs"},
      {.name = "order_kinetic",
       .help = "active: time mean over (t_spinup, t_final] of the space "
               "mean of μ1 − μ2, kinetic run"},
      {.name = "urms_kinetic", .help = "active: time mean of the rms velocity, kinetic run"},
  };
  const std::size_t closed_begin = e.metrics.size();  // metrics of the closed runs, for ood_
  for (const auto& [m, what] : {std::pair{"bingham", "Bingham"},
                                {"nn", "the final network"},
                                {"nn_apriori_only", "the network trained a priori only"}}) {
    const std::string n(m), w(what);
    e.metrics.push_back(
        {.name = "order_" + n, .help = "active: mean order, moment model with " + w});
    e.metrics.push_back(
        {.name = "urms_" + n, .help = "active: mean u_rms, moment model with " + w});
    e.metrics.push_back(
        {.name = "spectrum_error_" + n,
         .help = "active: RMS over shells of log(E/E_kinetic), velocity spectrum, " + w});
    e.metrics.push_back({.name = n + "_stable",
                         .help = "active: 1 if the moment model with " + w +
                                 " reached t_final without blowing up"});
    e.metrics.push_back({.name = "t_blowup_" + n,
                         .help = "active: time after t_spinup at which the moment model with " + w +
                                 " blew up (NaN: it did not)"});
    e.metrics.push_back(
        {.name = "drift_" + n,
         .help = "active: growth over (t_spinup, t_final] of the moment model's order-parameter "
                 "deviation from the kinetic run (least-squares line), relative to the kinetic "
                 "mean, " +
                 w + " (NaN if it blew up)"});
    e.metrics.push_back(
        {.name = "late_error_" + n,
         .help = "active: |mean order − kinetic mean| / kinetic mean over the second half of "
                 "(t_spinup, t_final], " +
                 w + " (NaN if it blew up)"});
    e.metrics.push_back({.name = "seconds_" + n,
                         .help = "active: wall time of the moment run with " + w,
                         .unit = "s",
                         .timing = true});
  }
  // Training-range coverage (coverage.hpp): deterministic, a function of the run only.
  for (const auto& [m, what] : {std::pair{"nn", "the final network's"},
                                {"nn_apriori_only", "the a-priori-only network's"}}) {
    const std::string n(m), w(what);
    e.metrics.push_back(
        {.name = n + "_outside_training",
         .help = "active: fraction of " + w +
                 " closure evaluations in its closed run (all grid points, every 0.1 time "
                 "units) with a network input outside the training data's [min, max] of it"});
    e.metrics.push_back(
        {.name = n + "_training_excursion",
         .help = "active: largest distance outside the training range over those evaluations, "
                 "in units of the input's training width (max over inputs; 0: all inside), " +
                 w + " closed run"});
  }
  e.metrics.push_back({.name = "kinetic_outside_training",
                       .help = "active: the same fraction for the kinetic validation snapshots "
                               "(the states the true dynamics visits after training)"});
  e.metrics.push_back({.name = "kinetic_training_excursion",
                       .help = "active: the same largest excursion, kinetic validation snapshots"});
  // Out of distribution (ood_alpha != 0): the same metrics, the networks closed at
  // (ood_alpha, ood_zeta) from and against a kinetic run there.
  std::vector<MetricSpec> ood(e.metrics.begin() + std::ptrdiff_t(closed_begin), e.metrics.end());
  for (const auto& m : e.metrics)
    if (m.name == "order_kinetic" || m.name == "urms_kinetic") ood.push_back(m);
  for (MetricSpec m : ood) {
    m.name = "ood_" + m.name;
    m.help = "active, ood_alpha != 0, closed and kinetic runs at (ood_alpha, ood_zeta): " +
             m.help.substr(m.help.find(':') + 2);
    e.metrics.push_back(m);
  }
  for (MetricSpec m : std::vector<MetricSpec>{
           {.name = "train_loss_final", .help = "active: mean scaled training loss, last epoch"},
           {.name = "ts_loss_first",
           .help = "active: mean time-stepping loss, first epoch (error of k solver steps "
                   "relative to the kinetic change)"},
           {.name = "ts_loss_final", .help = "active: mean time-stepping loss, last epoch"},
           {.name = "ts_windows", .help = "active: time-stepping windows (k + 2 states each)"},
           {.name = "training_samples", .help = "active: points used for training"},
           {.name = "validation_samples", .help = "active: points in the validation snapshots"},
           {.name = "al_error_max_first",
           .help = "active_learning: worst S:E a-priori error over the grid, round 1"},
           {.name = "al_error_max_final",
           .help = "active_learning: worst S:E a-priori error over the grid, last round"},
           {.name = "al_error_mean_final",
           .help = "active_learning: mean S:E a-priori error over the grid, last round"},
           {.name = "al_error_bingham_mean",
           .help = "active_learning: mean S:E a-priori error of Bingham over the grid"},
           {.name = "al_points_used",
           .help = "active_learning: grid points whose data trained the last network"},
           {.name = "seconds_kinetic",
           .help = "active, active_learning: wall time of the kinetic run(s)",
           .unit = "s",
           .timing = true},
           {.name = "seconds_training",
           .help = "active, active_learning: wall time of the a-priori training",
           .unit = "s",
           .timing = true},
           {.name = "seconds_ts_training",
           .help = "active: wall time of the time-stepping training",
           .unit = "s",
           .timing = true},
       })
    e.metrics.push_back(m);
  e.series = {
      {.name = "order_kinetic",
       .help = "active: order parameter, kinetic run, from t = 0",
       .axis = "time/snapshot_every"},
      {.name = "order_nn_apriori_only",
       .help = "active: order parameter, moment model with the a-priori-only network",
       .axis = "(time - t_spinup)/snapshot_every"},
      {.name = "ts_loss",
       .help = "active: mean time-stepping loss over each epoch",
       .axis = "epoch",
       .x_start = 1},
      {.name = "al_error_max",
       .help = "active_learning: worst S:E a-priori error over the grid",
       .axis = "round",
       .x_start = 1},
      {.name = "al_error_mean",
       .help = "active_learning: mean S:E a-priori error over the grid",
       .axis = "round",
       .x_start = 1},
      {.name = "al_error_grid",
       .help = "active_learning: S:E a-priori error per grid point, last round",
       .shape = {3, 3},
       .axes = {"alpha index 0..2: al_alpha_min..al_alpha_max", "zeta index 0..2: 0..al_zeta_max"}},
      {.name = "al_error_grid_bingham",
       .help = "active_learning: S:E a-priori error of Bingham per grid point",
       .shape = {3, 3},
       .axes = {"alpha index 0..2: al_alpha_min..al_alpha_max", "zeta index 0..2: 0..al_zeta_max"}},
      {.name = "order_bingham",
       .help = "active: order parameter, Bingham moment model, from t_spinup",
       .axis = "(time - t_spinup)/snapshot_every"},
      {.name = "order_nn",
       .help = "active: order parameter, network moment model, from t_spinup",
       .axis = "(time - t_spinup)/snapshot_every"},
      {.name = "spectrum_kinetic",
       .help = "active: time-averaged shell velocity power spectrum, kinetic run",
       .axis = "|k| L / 2π"},
      {.name = "spectrum_bingham",
       .help = "active: same, Bingham moment model",
       .axis = "|k| L / 2π"},
      {.name = "spectrum_nn", .help = "active: same, network moment model", .axis = "|k| L / 2π"},
      {.name = "train_loss",
       .help = "active: mean scaled training loss over each epoch",
       .axis = "epoch",
       .x_start = 1},
  };
  e.plots = {
      {.title = "a-priori error of S:E, Bingham",
       .x = "alpha",
       .y = "apriori_error_bingham",
       .group_by = "zeta"},
      {.title = "a-priori error of S:E, network",
       .x = "alpha",
       .y = "apriori_error_nn",
       .group_by = "zeta"},
      {.title = "a-priori error of the 4th harmonic, network",
       .x = "alpha",
       .y = "apriori_error4_nn",
       .group_by = "zeta"},
      {.title = "order parameter, kinetic", .x = "alpha", .y = "order_kinetic", .group_by = "zeta"},
      {.title = "order parameter, network closure",
       .x = "alpha",
       .y = "order_nn",
       .group_by = "zeta"},
      {.title = "order parameter, Bingham closure",
       .x = "alpha",
       .y = "order_bingham",
       .group_by = "zeta"},
      {.title = "order parameter against time, kinetic",
       .group_by = "alpha",
       .series = "order_kinetic"},
      {.title = "order parameter against time, network closure",
       .group_by = "alpha",
       .series = "order_nn"},
      {.title = "velocity spectrum, kinetic",
       .group_by = "alpha",
       .series = "spectrum_kinetic",
       .logy = true},
      {.title = "training loss", .group_by = "alpha", .series = "train_loss", .logy = true},
      {.title = "active learning: worst a-priori error over the grid per round",
       .series = "al_error_max",
       .logy = true},
      {.title = "active learning: a-priori error over (alpha, zeta), last round",
       .series = "al_error_grid",
       .heatmap = true},
  };
  e.check = [](const Params& p) { check_params(p); };
  e.run = [](const Params& p, const RunContext& ctx) -> Result {
    check_params(p);
    const std::string& s = p.get_string("scenario");
    if (s == "homogeneous") return kinetic::run_homogeneous(p, ctx);
    if (s == "linear") return kinetic::run_linear(p, ctx);
    if (s == "active_learning") return kinetic::run_active_learning(p, ctx);
    return kinetic::run_active(p, ctx);
  };
  return e;
}

}  // namespace mpisweep
