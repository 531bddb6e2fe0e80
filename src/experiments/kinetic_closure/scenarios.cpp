// Scenarios of kinetic_closure (specs/kinetic_closure.md "Scenarios", "Metrics and series").
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/kinetic_closure/kinetic.hpp>
#include <mpisweep/experiments/kinetic_closure/mlp.hpp>
#include <mpisweep/experiments/kinetic_closure/moment.hpp>
#include <mpisweep/experiments/kinetic_closure/scenarios.hpp>
#include <numbers>

namespace mpisweep::kinetic {

namespace {
constexpr double pi = std::numbers::pi;
}  // namespace

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

KineticConfig kinetic_config(const Params& p) {
  return {.alpha = p.get_real("alpha"),
          .zeta = p.get_real("zeta"),
          .dT = p.get_real("dT"),
          .dR = p.get_real("dR"),
          .L = p.get_real("L"),
          .N = int(p.get_int("N")),
          .Ntheta = int(p.get_int("Ntheta")),
          .dt = p.get_real("dt")};
}

long steps_for(double t, double dt) { return std::lround(t / dt); }

// RMS over shells n = 1..⌊N/3⌋ of log(E_model(n)/E_ref(n)): scale-free (a common factor on
// both spectra cancels) and 0 only for equal spectra; 0.1 ≈ a typical shell off by 10 %.
double spectrum_error(const std::vector<double>& model, const std::vector<double>& ref) {
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t i = 1; i < ref.size() && i < model.size(); ++i, ++n) {
    const double l = std::log(std::max(model[i], 1e-300) / std::max(ref[i], 1e-300));
    sum += l * l;
  }
  return n ? std::sqrt(sum / double(n)) : std::nan("");
}

Drift order_drift(const std::vector<double>& model, const std::vector<double>& kinetic) {
  const std::size_t n = std::min(model.size(), kinetic.size());
  if (n < 4) return {std::nan(""), std::nan("")};
  // Least-squares slope of e_j against j (j̄ = (n − 1)/2), times the span n − 1.
  double kin_mean = 0, e_mean = 0;
  for (std::size_t j = 0; j < n; ++j) kin_mean += kinetic[j], e_mean += model[j] - kinetic[j];
  kin_mean /= double(n);
  e_mean /= double(n);
  const double jbar = 0.5 * double(n - 1);
  double sxy = 0, sxx = 0;
  for (std::size_t j = 0; j < n; ++j) {
    const double x = double(j) - jbar;
    sxy += x * (model[j] - kinetic[j] - e_mean);
    sxx += x * x;
  }
  double late_model = 0, late_kin = 0;
  for (std::size_t j = n / 2; j < n; ++j) late_model += model[j], late_kin += kinetic[j];
  return {sxy / sxx * double(n - 1) / kin_mean, std::abs(late_model - late_kin) / late_kin};
}

namespace {
// Relative Frobenius error of the five independent components of S with their multiplicities.
double sym4_norm2(const Sym4& s) {
  return s.xxxx * s.xxxx + 4 * s.xxxy * s.xxxy + 6 * s.xxyy * s.xxyy + 4 * s.xyyy * s.xyyy +
         s.yyyy * s.yyyy;
}
}  // namespace

double cfl_number(const Params& p) {
  const bool grid = p.get_string("scenario") == "active_learning";  // its own (α, ζ) grid
  double alpha =
      grid ? std::max(std::abs(p.get_real("al_alpha_min")), std::abs(p.get_real("al_alpha_max")))
           : std::abs(p.get_real("alpha"));
  double zeta = grid ? p.get_real("al_zeta_max") : std::abs(p.get_real("zeta"));
  if (p.get_string("scenario") == "active" && p.get_real("ood_alpha") != 0) {
    alpha = std::max(alpha, std::abs(p.get_real("ood_alpha")));  // the out-of-distribution runs
    zeta = std::max(zeta, p.get_real("ood_zeta"));
  }
  const double L = p.get_real("L"), dt = p.get_real("dt");
  const double dtheta = 2 * pi / double(p.get_int("Ntheta"));
  const bool spatial = p.get_string("scenario") != "homogeneous";
  const double U = spatial ? alpha * L / (4 * pi) : 0.0;
  const double dx = L / double(p.get_int("N"));
  const double Gamma =
      (spatial ? alpha / 2 : 0.0) + 2 * zeta + (spatial ? 0.0 : p.get_real("rate"));
  return dt * (U / dx + Gamma / dtheta);
}

void check_params(const Params& p) {
  if (p.get_int("Ntheta") % 2 == 0)
    throw param_error("Ntheta",
                      "must be odd (an even count puts the Nyquist θ-mode in the null "
                      "space of the derivative and steady states come out wrong)");
  const std::string scenario = p.get_string("scenario");
  if (scenario != "homogeneous" && p.get_int("N") % 2 != 0) throw param_error("N", "must be even");
  if (scenario == "active_learning" && p.get_real("al_alpha_min") > p.get_real("al_alpha_max"))
    throw param_error("al_alpha_min", "must not exceed al_alpha_max");
  if (scenario == "active" || scenario == "active_learning") {
    const double ts = p.get_real("t_spinup"), tf = p.get_real("t_final"),
                 se = p.get_real("snapshot_every");
    if (ts >= tf) throw param_error("t_spinup", "must be less than t_final");
    if (4 * se > tf - ts)
      throw param_error("snapshot_every",
                        "must leave at least 2 training and 2 validation snapshots in "
                        "[t_spinup, t_final]");
    if (se < p.get_real("dt")) throw param_error("snapshot_every", "must be at least dt");
    const double we = p.get_real("ts_window_every");
    if (we != 0 && we < p.get_real("dt"))
      throw param_error("ts_window_every", "must be 0 (at the snapshots) or at least dt");
  }
  if (const std::string o = p.get_string("ood_in_training"); o != "none") {
    if (scenario != "active" || p.get_real("ood_alpha") == 0)
      throw param_error("ood_in_training",
                        "needs scenario active and ood_alpha (the point whose kinetic run it "
                        "adds to the training)");
    if ((o == "timestep" || o == "both") && p.get_int("ts_epochs") == 0)
      throw param_error("ood_in_training", o + " needs ts_epochs > 0");
  }
  const double cfl = cfl_number(p);
  if (cfl > 0.5)
    throw param_error(
        "dt", "CFL estimate dt (U/dx + rotation rate/dθ) = " + std::to_string(cfl) +
                  " exceeds 0.5; use dt <= " + std::to_string(0.5 * p.get_real("dt") / cfl));
}

// --- homogeneous ------------------------------------------------------------------------------

Result run_homogeneous(const Params& p, const RunContext& ctx) {
  ThreadPool pool(ctx.threads);
  KineticConfig cfg = kinetic_config(p);
  cfg.N = 1;  // space-independent
  cfg.L = 1;
  const double rate = p.get_real("rate");
  const bool shear = p.get_string("flow") == "shear";
  // extension u = (E x, −E y); shear u = (γ̇ y, 0) so G12 = γ̇.
  cfg.background_gradient =
      shear ? std::array<double, 4>{0, rate, 0, 0} : std::array<double, 4>{rate, 0, 0, -rate};
  KineticSolver s(cfg, pool);
  s.set_state([](double, double, double) { return 1 / (2 * pi); });
  const long steps = steps_for(p.get_real("t_final"), cfg.dt);
  CMatrix prev = s.state();
  double change = std::numeric_limits<double>::infinity();
  for (long i = 0; i < steps; ++i) {
    ctx.throw_if_cancelled();
    s.step();
    change = (s.state() - prev).cwiseAbs().maxCoeff() / cfg.dt;
    prev = s.state();
    if (i % 100 == 0) ctx.progress(double(i) / double(steps));
    if (change < 1e-13) break;
  }
  if (!s.finite()) throw error("kinetic_closure: homogeneous run blew up; reduce dt");
  const MomentFields m = s.moments();
  const double c = m.c[0];
  const Sym2 D{m.dxx[0], m.dxy[0], m.dyy[0]};
  const Sym4 S = fourth_moment(c, D, {m.c4[0], m.s4[0]});
  const Sym4 B = bingham_closure(c, D);
  const Sym4 diff{B.xxxx - S.xxxx, B.xxxy - S.xxxy, B.xxyy - S.xxyy, B.xyyy - S.xyyy,
                  B.yyyy - S.yyyy};
  const Harmonic4 ht = harmonic_of(S), hb = harmonic_of(B);
  Result r;
  r.metrics["D11"] = D.xx / c;
  r.metrics["D12"] = D.xy / c;
  r.metrics["S1111"] = S.xxxx / c;
  r.metrics["S1112"] = S.xxxy / c;
  r.metrics["kappa"] = bingham_kappa(eigenframe(c, D).r);
  r.metrics["bingham_error"] = std::sqrt(sym4_norm2(diff) / sym4_norm2(S));
  r.metrics["bingham_error4"] =
      std::hypot(hb.c4 - ht.c4, hb.s4 - ht.s4) / std::max(1e-300, std::hypot(ht.c4, ht.s4));
  r.metrics["steady_residual"] = change;
  r.metrics["t_steady"] = s.time();
  if (!shear) {
    // 2 d_R κ = E + ζ c I1(κ)/I0(κ): bisection on the increasing f(κ) = 2 d_R κ − E − ζ c r(κ).
    const double dR = cfg.dR, zeta = cfg.zeta;
    auto f = [&](double k) { return 2 * dR * k - rate - zeta * c * bessel_ratios(k).r1; };
    double lo = 0, hi = (rate + std::abs(zeta) * c) / (2 * dR) + 1;
    for (int it = 0; it < 200; ++it) {
      const double mid = 0.5 * (lo + hi);
      (f(mid) > 0 ? hi : lo) = mid;
    }
    r.metrics["kappa_theory"] = 0.5 * (lo + hi);
  }
  ctx.progress(1.0);
  return r;
}

// --- linear -------------------------------------------------------------------------------------

Result run_linear(const Params& p, const RunContext& ctx) {
  ThreadPool pool(ctx.threads);
  const KineticConfig cfg = kinetic_config(p);
  KineticSolver s(cfg, pool);
  const double k = 2 * pi / cfg.L, eps = p.get_real("linear_amplitude");
  // Lowest wavenumber along x, both m = 2 modes: sin 2θ couples to shear (D12), cos 2θ does not.
  s.set_state([&](double x, double, double th) {
    return (1 + eps * std::cos(k * x) * (std::sin(2 * th) + std::cos(2 * th))) / (2 * pi);
  });
  std::size_t q0 = 0;
  for (std::size_t q = 0; q < s.grid().kept(); ++q)
    if (std::abs(s.grid().kx(q) - k) < 1e-12 * k && s.grid().ky(q) == 0) q0 = q;
  const double mass0 = s.mass();
  const double t_end = p.get_real("t_linear");
  const long steps = steps_for(t_end, cfg.dt), first = steps / 5;
  double a1 = 0, b1 = 0, t1 = 0;
  auto amplitudes = [&] {
    const auto mh = s.moments_hat(s.state());
    return std::pair{std::abs(mh[2][q0]), std::abs(mh[1][q0] - mh[3][q0])};
  };
  for (long i = 1; i <= steps; ++i) {
    ctx.throw_if_cancelled();
    s.step();
    if (i == first) {
      std::tie(a1, b1) = amplitudes();
      t1 = s.time();
    }
    if (i % 50 == 0) ctx.progress(double(i) / double(steps));
  }
  if (!s.finite()) throw error("kinetic_closure: linear run blew up; reduce dt");
  const auto [a2, b2] = amplitudes();
  const double c = 1, dT = cfg.dT, dR = cfg.dR;
  Result r;
  r.metrics["growth_rate"] = std::log(a2 / a1) / (s.time() - t1);
  r.metrics["growth_rate_theory"] = c * (cfg.zeta - cfg.alpha / 4) - 4 * dR - dT * k * k;
  r.metrics["growth_rate_aligned"] = std::log(b2 / b1) / (s.time() - t1);
  r.metrics["growth_rate_aligned_theory"] = c * cfg.zeta - 4 * dR - dT * k * k;
  r.metrics["mass_drift"] = std::abs(s.mass() - mass0) / mass0;
  r.metrics["max_divergence"] = s.max_divergence();
  ctx.progress(1.0);
  return r;
}

}  // namespace mpisweep::kinetic
