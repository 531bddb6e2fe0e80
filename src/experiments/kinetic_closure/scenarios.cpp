// Scenarios of kinetic_closure (specs/kinetic_closure.md "Scenarios", "Metrics and series").
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
using Clock = std::chrono::steady_clock;

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

// Relative Frobenius error of the five independent components of S with their multiplicities.
double sym4_norm2(const Sym4& s) {
  return s.xxxx * s.xxxx + 4 * s.xxxy * s.xxxy + 6 * s.xxyy * s.xxyy + 4 * s.xyyy * s.xyyy +
         s.yyyy * s.yyyy;
}
double sym2_norm2(const Sym2& s) { return s.xx * s.xx + 2 * s.xy * s.xy + s.yy * s.yy; }

}  // namespace

double cfl_number(const Params& p) {
  const double alpha = std::abs(p.get_real("alpha")), zeta = std::abs(p.get_real("zeta"));
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
  if (scenario == "active") {
    const double ts = p.get_real("t_spinup"), tf = p.get_real("t_final"),
                 se = p.get_real("snapshot_every");
    if (ts >= tf) throw param_error("t_spinup", "must be less than t_final");
    if (4 * se > tf - ts)
      throw param_error("snapshot_every",
                        "must leave at least 2 training and 2 validation snapshots in "
                        "[t_spinup, t_final]");
    if (se < p.get_real("dt")) throw param_error("snapshot_every", "must be at least dt");
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

// --- active -------------------------------------------------------------------------------------

namespace {

struct Window {  // time averages over the statistics window
  double order = 0, urms = 0;
  long count = 0;
  std::vector<double> spectrum;
  long spectra = 0;
  void add(double o, double u) {
    order += o;
    urms += u;
    ++count;
  }
  void add_spectrum(const std::vector<double>& s) {
    if (spectrum.empty()) spectrum.assign(s.size(), 0.0);
    for (std::size_t i = 0; i < s.size(); ++i) spectrum[i] += s[i];
    ++spectra;
  }
  void finish() {
    if (count) order /= double(count), urms /= double(count);
    for (auto& v : spectrum) v /= double(std::max(1L, spectra));
  }
};

// Relative L2 distance between log spectra over shells 1..n.
double spectrum_error(const std::vector<double>& model, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (std::size_t i = 1; i < ref.size() && i < model.size(); ++i) {
    const double a = std::log(std::max(model[i], 1e-300)), b = std::log(std::max(ref[i], 1e-300));
    num += (a - b) * (a - b);
    den += b * b;
  }
  return std::sqrt(num / den);
}

void add_snapshot(KineticSolver& s, Samples& out) {
  MomentFields m = s.moments();
  FlowFields f = s.flow();
  Samples snap{m.c, m.dxx, m.dxy, m.dyy, f.gxx, f.gxy, f.gyx, m.c4, m.s4};
  out.append(snap);
}

struct AprioriErrors {
  double se = 0, h4 = 0;  // relative L2 of S:E and of the fourth harmonic
};

AprioriErrors apriori(const Samples& v, const std::vector<Harmonic4>& h) {
  double se_num = 0, se_den = 0, h_num = 0, h_den = 0;
  for (std::size_t p = 0; p < v.size(); ++p) {
    const double c = v.c[p];
    const Sym2 D{v.dxx[p], v.dxy[p], v.dyy[p]};
    const Sym2 E{v.gxx[p], 0.5 * (v.gxy[p] + v.gyx[p]), -v.gxx[p]};
    const Sym4 St = fourth_moment(c, D, {v.c4[p], v.s4[p]});
    const Sym4 Sc = fourth_moment(c, D, {c * h[p].c4, c * h[p].s4});
    const Sym2 a = contract(St, E), b = contract(Sc, E);
    se_num += sym2_norm2({b.xx - a.xx, b.xy - a.xy, b.yy - a.yy});
    se_den += sym2_norm2(a);
    const double dc = c * h[p].c4 - v.c4[p], ds = c * h[p].s4 - v.s4[p];
    h_num += dc * dc + ds * ds;
    h_den += v.c4[p] * v.c4[p] + v.s4[p] * v.s4[p];
  }
  return {std::sqrt(se_num / se_den), std::sqrt(h_num / h_den)};
}

struct MomentRun {
  Window stats;
  std::vector<double> order_series;
  bool stable = true;
  double seconds = 0;
};

MomentRun run_moment_model(const Params& p, const Closure& closure, const MomentSolver::Fields& d0,
                           long steps, long snap_every, long stat_every, ThreadPool& pool,
                           const RunContext& ctx, double progress0, double progress_span) {
  const auto t0 = Clock::now();
  const MomentConfig cfg{.alpha = p.get_real("alpha"),
                         .zeta = p.get_real("zeta"),
                         .dT = p.get_real("dT"),
                         .dR = p.get_real("dR"),
                         .L = p.get_real("L"),
                         .N = int(p.get_int("N")),
                         .dt = p.get_real("dt")};
  MomentSolver m(cfg, closure, pool);
  m.set_state(d0);
  MomentRun out;
  std::vector<double> c, dxx, dxy, dyy;
  auto order_now = [&] {
    physical_moments(m.grid(), m.state(), c, dxx, dxy, dyy, &pool);
    return order_parameter(c, dxx, dxy, dyy);
  };
  out.order_series.push_back(order_now());
  for (long i = 1; i <= steps; ++i) {
    ctx.throw_if_cancelled();
    m.step();
    if (!m.finite()) {
      out.stable = false;
      break;
    }
    if (i % stat_every == 0)
      out.stats.add(order_now(), velocity_stats(m.grid(), cfg.alpha, m.state()).urms);
    if (i % snap_every == 0) {
      out.order_series.push_back(order_now());
      out.stats.add_spectrum(velocity_stats(m.grid(), cfg.alpha, m.state()).spectrum);
    }
    if (i % 50 == 0) ctx.progress(progress0 + progress_span * double(i) / double(steps));
  }
  out.stats.finish();
  out.seconds = seconds_since(t0);
  return out;
}

}  // namespace

Result run_active(const Params& p, const RunContext& ctx) {
  ThreadPool pool(ctx.threads);
  const KineticConfig cfg = kinetic_config(p);
  const double dt = cfg.dt;
  const long steps = steps_for(p.get_real("t_final"), dt);
  const long spinup = steps_for(p.get_real("t_spinup"), dt);
  const long mid = steps_for(0.5 * (p.get_real("t_spinup") + p.get_real("t_final")), dt);
  const long snap_every = std::max(1L, steps_for(p.get_real("snapshot_every"), dt));
  const long stat_every = std::max(1L, steps_for(0.1, dt));
  Result r;

  // 1. Kinetic run from the isotropic state plus a seeded perturbation on angular modes
  //    m = 2, 4 (the apolar harmonics 1–2) and wavenumbers |k_x|, |k_y| ≤ 4, rms ε relative.
  auto t0 = Clock::now();
  KineticSolver kin(cfg, pool);
  {
    Rng rng(ctx.seed, 1);
    struct Wave {
      int kx, ky, m;
      double a, b;
    };
    std::vector<Wave> waves;
    for (int m : {2, 4})
      for (int kx = -4; kx <= 4; ++kx)
        for (int ky = -4; ky <= 4; ++ky) {
          const double a = rng.normal(), b = rng.normal();
          waves.push_back({kx, ky, m, a, b});
        }
    const double k0 = 2 * pi / cfg.L;
    auto P = [&](double x, double y, double th) {
      double s = 0;
      for (const auto& w : waves) {
        const double ph = k0 * (w.kx * x + w.ky * y) + w.m * th;
        s += w.a * std::cos(ph) + w.b * std::sin(ph);
      }
      return s;
    };
    double ms = 0;  // ∫∫∫ P² = L² 2π Σ over distinct waves; sample numerically instead
    const int n = cfg.N, nt = cfg.Ntheta;
    for (int ix = 0; ix < n; ++ix)
      for (int iy = 0; iy < n; ++iy)
        for (int j = 0; j < nt; ++j) {
          const double v = P(ix * cfg.L / n, iy * cfg.L / n, 2 * pi * j / nt);
          ms += v * v;
        }
    const double scale = p.get_real("perturbation") / std::sqrt(ms / (double(n) * n * nt));
    kin.set_state(
        [&](double x, double y, double th) { return (1 + scale * P(x, y, th)) / (2 * pi); });
  }
  const double mass0 = kin.mass();
  Samples train_all, valid;
  Window kstats;
  std::vector<double> kin_order;
  MomentSolver::Fields d0;
  auto kin_order_now = [&] {
    const MomentFields m = kin.moments();
    return order_parameter(m.c, m.dxx, m.dxy, m.dyy);
  };
  auto kin_d = [&] {
    const auto mh = kin.moments_hat(kin.state());
    return MomentSolver::Fields{mh[1], mh[2], mh[3]};
  };
  kin_order.push_back(kin_order_now());
  for (long i = 1; i <= steps; ++i) {
    ctx.throw_if_cancelled();
    kin.step();
    if (i % 50 == 0) {
      if (!kin.finite())
        throw error("kinetic_closure: kinetic run blew up at t = " + std::to_string(kin.time()) +
                    "; reduce dt");
      ctx.progress(0.55 * double(i) / double(steps));
    }
    if (i == spinup) d0 = kin_d();
    if (i % snap_every == 0) kin_order.push_back(kin_order_now());
    if (i > spinup && i % stat_every == 0)
      kstats.add(kin_order_now(), velocity_stats(kin.grid(), cfg.alpha, kin_d()).urms);
    if (i > spinup && i % snap_every == 0) {
      add_snapshot(kin, i <= mid ? train_all : valid);
      kstats.add_spectrum(velocity_stats(kin.grid(), cfg.alpha, kin_d()).spectrum);
    }
  }
  if (!kin.finite()) throw error("kinetic_closure: kinetic run blew up; reduce dt");
  kstats.finish();
  r.metrics["seconds_kinetic"] = seconds_since(t0);
  r.metrics["mass_drift"] = std::abs(kin.mass() - mass0) / mass0;

  // 2. Training on a seeded subsample of the first half of the snapshots.
  t0 = Clock::now();
  Samples train;
  {
    Rng rng(ctx.seed, 2);
    const std::size_t n = train_all.size();
    const std::size_t want = std::min<std::size_t>(n, std::size_t(p.get_int("train_points")));
    std::vector<std::size_t> idx(n);
    for (std::size_t i = 0; i < n; ++i) idx[i] = i;
    for (std::size_t i = 0; i < want; ++i) std::swap(idx[i], idx[i + rng.below(n - i)]);
    auto pick = [&](const std::vector<double>& v, std::vector<double>& o) {
      o.resize(want);
      for (std::size_t i = 0; i < want; ++i) o[i] = v[idx[i]];
    };
    pick(train_all.c, train.c);
    pick(train_all.dxx, train.dxx);
    pick(train_all.dxy, train.dxy);
    pick(train_all.dyy, train.dyy);
    pick(train_all.gxx, train.gxx);
    pick(train_all.gxy, train.gxy);
    pick(train_all.gyx, train.gyx);
    pick(train_all.c4, train.c4);
    pick(train_all.s4, train.s4);
  }
  Rng init(ctx.seed, 3), shuffle(ctx.seed, 4);
  const ClosureInputs inputs =
      p.get_string("closure_inputs") == "mu1" ? ClosureInputs::mu1 : ClosureInputs::mu1_EW;
  NnClosure nn(inputs, int(p.get_int("hidden")), int(p.get_int("layers")), init);
  const std::vector<double> curve = nn.train(train,
                                             {.epochs = int(p.get_int("epochs")),
                                              .batch = int(p.get_int("batch")),
                                              .learning_rate = p.get_real("learning_rate")},
                                             shuffle, pool, [&] { ctx.throw_if_cancelled(); });
  r.metrics["seconds_training"] = seconds_since(t0);
  r.metrics["train_loss_final"] = curve.empty() ? std::nan("") : curve.back();
  r.metrics["training_samples"] = double(train.size());
  ctx.progress(0.65);

  // 3. A-priori errors on the validation snapshots.
  BinghamClosure bingham;
  {
    std::vector<Harmonic4> hb(valid.size());
    const ClosureInput in{valid.c.data(),   valid.dxx.data(), valid.dxy.data(), valid.dyy.data(),
                          valid.gxx.data(), valid.gxy.data(), valid.gyx.data()};
    bingham.evaluate(in, 0, valid.size(), hb.data());
    const AprioriErrors eb = apriori(valid, hb);
    const AprioriErrors en = apriori(valid, nn.evaluate(valid));
    r.metrics["apriori_error_bingham"] = eb.se;
    r.metrics["apriori_error_nn"] = en.se;
    r.metrics["apriori_error4_bingham"] = eb.h4;
    r.metrics["apriori_error4_nn"] = en.h4;
    r.metrics["validation_samples"] = double(valid.size());
  }

  // 4. A-posteriori: the moment model with each closure from the kinetic D at t_spinup.
  const long msteps = steps - spinup;
  const MomentRun mb =
      run_moment_model(p, bingham, d0, msteps, snap_every, stat_every, pool, ctx, 0.65, 0.15);
  const MomentRun mn =
      run_moment_model(p, nn, d0, msteps, snap_every, stat_every, pool, ctx, 0.8, 0.2);
  const double nan = std::nan("");
  r.metrics["order_kinetic"] = kstats.order;
  r.metrics["urms_kinetic"] = kstats.urms;
  r.metrics["order_bingham"] = mb.stable ? mb.stats.order : nan;
  r.metrics["urms_bingham"] = mb.stable ? mb.stats.urms : nan;
  r.metrics["order_nn"] = mn.stable ? mn.stats.order : nan;
  r.metrics["urms_nn"] = mn.stable ? mn.stats.urms : nan;
  r.metrics["spectrum_error_bingham"] =
      mb.stable ? spectrum_error(mb.stats.spectrum, kstats.spectrum) : nan;
  r.metrics["spectrum_error_nn"] =
      mn.stable ? spectrum_error(mn.stats.spectrum, kstats.spectrum) : nan;
  r.metrics["bingham_stable"] = mb.stable ? 1.0 : 0.0;
  r.metrics["nn_stable"] = mn.stable ? 1.0 : 0.0;
  r.metrics["seconds_bingham"] = mb.seconds;
  r.metrics["seconds_nn"] = mn.seconds;

  r.series["order_kinetic"] = kin_order;
  r.series["order_bingham"] = mb.order_series;
  r.series["order_nn"] = mn.order_series;
  r.series["spectrum_kinetic"] = kstats.spectrum;
  r.series["spectrum_bingham"] = mb.stats.spectrum;
  r.series["spectrum_nn"] = mn.stats.spectrum;
  r.series["train_loss"] = curve;
  ctx.progress(1.0);
  return r;
}

}  // namespace mpisweep::kinetic
