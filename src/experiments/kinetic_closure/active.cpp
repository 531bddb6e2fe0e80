// The `active` and `active_learning` scenarios of kinetic_closure (specs/kinetic_closure.md
// "Scenarios", "Metrics and series"; issue 14).
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/kinetic_closure/coverage.hpp>
#include <mpisweep/experiments/kinetic_closure/kinetic.hpp>
#include <mpisweep/experiments/kinetic_closure/mlp.hpp>
#include <mpisweep/experiments/kinetic_closure/moment.hpp>
#include <mpisweep/experiments/kinetic_closure/scenarios.hpp>
#include <mpisweep/experiments/kinetic_closure/timestep.hpp>
#include <numbers>

namespace mpisweep::kinetic {

namespace {

constexpr double pi = std::numbers::pi;
const double nan = std::nan("");

struct Stats {  // time averages over the statistics window
  double order = 0, urms = 0;
  long count = 0;
  std::vector<double> spectrum;
  long spectra = 0;
  std::vector<double> trace;  // the order parameter at every statistics sample (drift)
  void add(double o, double u) {
    trace.push_back(o);
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

double sym2_norm2(const Sym2& s) { return s.xx * s.xx + 2 * s.xy * s.xy + s.yy * s.yy; }

void add_snapshot(KineticSolver& s, Samples& out) {
  MomentFields m = s.moments();
  FlowFields f = s.flow();
  const std::size_t n = m.c.size();
  Samples snap{m.c,
               m.dxx,
               m.dxy,
               m.dyy,
               f.gxx,
               f.gxy,
               f.gyx,
               m.c4,
               m.s4,
               std::vector<double>(n, s.config().alpha),
               std::vector<double>(n, s.config().zeta)};
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

AprioriErrors apriori_bingham(const Samples& v) {
  std::vector<Harmonic4> hb(v.size());
  const ClosureInput in{v.c.data(),   v.dxx.data(), v.dxy.data(), v.dyy.data(),
                        v.gxx.data(), v.gxy.data(), v.gyx.data()};
  BinghamClosure().evaluate(in, 0, v.size(), hb.data());
  return apriori(v, hb);
}

MomentConfig moment_config(const KineticConfig& k) {
  return {.alpha = k.alpha, .zeta = k.zeta, .dT = k.dT, .dR = k.dR, .L = k.L, .N = k.N, .dt = k.dt};
}

// Where time-stepping windows start in a kinetic run: every `every` steps in (t_spinup, mid]
// whose k steps end by mid (the training half). `windows` keeps the windows, `starts` the
// kinetic states at their starts as a-priori samples (the same states, for the control that
// gives a priori what the windows give through the solver).
struct WindowPlan {
  int k = 4;
  long every = 1;
  bool windows = false, starts = false;
};

// The kinetic run of one (α, ζ): snapshots (first half of the window trains, second half
// validates), time-stepping windows (WindowPlan), statistics.
struct KineticData {
  Samples train, valid, starts;
  std::vector<Window> windows;
  Stats stats;
  std::vector<double> order_series;
  MomentSolver::Fields d0;
  double mass_drift = 0;
};

KineticData run_kinetic(const Params& p, const KineticConfig& cfg, std::uint64_t seed,
                        const WindowPlan& wp, ThreadPool& pool, const RunContext& ctx,
                        double progress0, double progress_span) {
  const int ts_steps = wp.windows ? wp.k : 0;
  const double dt = cfg.dt;
  const long steps = steps_for(p.get_real("t_final"), dt);
  const long spinup = steps_for(p.get_real("t_spinup"), dt);
  const long mid = steps_for(0.5 * (p.get_real("t_spinup") + p.get_real("t_final")), dt);
  const long snap_every = std::max(1L, steps_for(p.get_real("snapshot_every"), dt));
  const long stat_every = std::max(1L, steps_for(0.1, dt));
  KineticSolver kin(cfg, pool);
  {
    // Isotropic state plus a seeded perturbation on the apolar angular modes m = 2, 4 and
    // wavenumbers |k_x|, |k_y| ≤ 4, rms `perturbation` relative.
    Rng rng(seed, 1);
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
    // Its mean square: the squares in parallel (per x row), summed in the serial order.
    const int n = cfg.N, nt = cfg.Ntheta;
    std::vector<double> sq(std::size_t(n) * std::size_t(n) * std::size_t(nt));
    pool.parallel_for(std::size_t(n), [&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) {
        const int ix = int(i);
        for (int iy = 0; iy < n; ++iy)
          for (int j = 0; j < nt; ++j) {
            const double v = P(ix * cfg.L / n, iy * cfg.L / n, 2 * pi * j / nt);
            sq[(i * std::size_t(n) + std::size_t(iy)) * std::size_t(nt) + std::size_t(j)] = v * v;
          }
      }
    });
    double ms = 0;
    for (const double v : sq) ms += v;
    const double scale = p.get_real("perturbation") / std::sqrt(ms / (double(n) * n * nt));
    kin.set_state(
        [&](double x, double y, double th) { return (1 + scale * P(x, y, th)) / (2 * pi); });
  }
  KineticData out;
  const double mass0 = kin.mass();
  auto kin_order_now = [&] {
    const MomentFields m = kin.moments();
    return order_parameter(m.c, m.dxx, m.dxy, m.dyy);
  };
  auto kin_d = [&] {
    const auto& mh = kin.moments_hat_now();
    return MomentSolver::Fields{mh[1], mh[2], mh[3]};
  };
  out.order_series.push_back(kin_order_now());
  MomentSolver::Fields prev = kin_d();
  std::vector<Window> open;  // windows still collecting states
  for (long i = 1; i <= steps; ++i) {
    ctx.throw_if_cancelled();
    kin.step();
    if (i % 50 == 0) {
      if (!kin.finite())
        throw error("kinetic_closure: kinetic run blew up at t = " + std::to_string(kin.time()) +
                    " (alpha " + std::to_string(cfg.alpha) + "); reduce dt");
      if (progress_span > 0) ctx.progress(progress0 + progress_span * double(i) / double(steps));
    }
    const bool need_d = ts_steps > 0 || i == spinup || (i > spinup && i % stat_every == 0);
    MomentSolver::Fields d;
    if (need_d) d = kin_d();
    if (i == spinup) out.d0 = d;
    if (i % snap_every == 0) out.order_series.push_back(kin_order_now());
    if (i > spinup && i % stat_every == 0)
      out.stats.add(kin_order_now(), velocity_stats(kin.grid(), cfg.alpha, d).urms);
    const bool start = i > spinup && i <= mid && i % wp.every == 0 && i + wp.k <= mid;
    if (start && wp.starts) add_snapshot(kin, out.starts);
    if (ts_steps > 0) {
      for (auto& w : open) w.push_back(d);
      for (auto it = open.begin(); it != open.end();)
        if (int(it->size()) == ts_steps + 2) {
          out.windows.push_back(std::move(*it));
          it = open.erase(it);
        } else {
          ++it;
        }
      if (start) open.push_back({prev, d});
      prev = std::move(d);
    }
    if (i > spinup && i % snap_every == 0) {
      add_snapshot(kin, i <= mid ? out.train : out.valid);
      out.stats.add_spectrum(velocity_stats(kin.grid(), cfg.alpha, kin_d()).spectrum);
    }
  }
  if (!kin.finite()) throw error("kinetic_closure: kinetic run blew up; reduce dt");
  out.stats.finish();
  out.mass_drift = std::abs(kin.mass() - mass0) / mass0;
  return out;
}

// A seeded subsample of n points (all when n ≥ size).
Samples subsample(const Samples& s, std::size_t want, Rng& rng) {
  const std::size_t n = s.size();
  want = std::min(want, n);
  std::vector<std::size_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = i;
  for (std::size_t i = 0; i < want; ++i) std::swap(idx[i], idx[i + rng.below(n - i)]);
  idx.resize(want);
  return s.pick(idx);
}

struct MomentRun {
  Stats stats;
  std::vector<double> order_series;
  bool stable = true;
  double t_blowup = nan;  // time after t_spinup at which the run left the physical range
  double outside = nan, excursion = nan;  // training-range coverage (coverage.hpp), if monitored
  double seconds = 0;
};

// Blow-up as defined by BlowupDetector (moment.hpp). `monitor`, when given, is `closure` itself,
// monitored: the closure evaluations of the steps that start at t_spinup + 0.1 j (j = 0, 1, ...,
// as many states as the drift samples, coverage.hpp) count towards its coverage.
MomentRun run_moment_model(const Params& p, const MomentConfig& cfg, const Closure& closure,
                           const MomentSolver::Fields& d0, ThreadPool& pool, const RunContext& ctx,
                           double progress0, double progress_span,
                           InputMonitor* monitor = nullptr) {
  const auto t0 = Clock::now();
  const long steps =
      steps_for(p.get_real("t_final"), cfg.dt) - steps_for(p.get_real("t_spinup"), cfg.dt);
  const long snap_every = std::max(1L, steps_for(p.get_real("snapshot_every"), cfg.dt));
  const long stat_every = std::max(1L, steps_for(0.1, cfg.dt));
  MomentSolver m(cfg, closure, pool);
  m.set_state(d0);
  MomentRun out;
  BlowupDetector blowup;
  std::vector<double> c, dxx, dxy, dyy;
  auto order_now = [&] {
    physical_moments(m.grid(), m.state(), c, dxx, dxy, dyy, &pool);
    return order_parameter(c, dxx, dxy, dyy);
  };
  out.order_series.push_back(order_now());
  for (long i = 1; i <= steps; ++i) {
    ctx.throw_if_cancelled();
    if (monitor) monitor->arm((i - 1) % stat_every == 0);  // step i evaluates the state at i − 1
    m.step();
    if (monitor && monitor->armed()) monitor->collect();
    const bool check = i % stat_every == 0 || i % snap_every == 0;
    const double max_abs = m.max_abs();
    const bool finite = max_abs <= BlowupDetector::max_coefficient;
    const double order = check && finite ? order_now() : nan;
    if (blowup.observe(m.time(), max_abs, order)) {
      out.stable = false;
      out.t_blowup = blowup.time();
      break;
    }
    if (i % stat_every == 0)
      out.stats.add(order, velocity_stats(m.grid(), cfg.alpha, m.state()).urms);
    if (i % snap_every == 0) {
      out.order_series.push_back(order);
      out.stats.add_spectrum(velocity_stats(m.grid(), cfg.alpha, m.state()).spectrum);
    }
    if (i % 50 == 0 && progress_span > 0)
      ctx.progress(progress0 + progress_span * double(i) / double(steps));
  }
  out.stats.finish();
  if (monitor) {
    out.outside = monitor->coverage().outside_fraction();
    out.excursion = monitor->coverage().worst_excursion();
  }
  out.seconds = seconds_since(t0);
  return out;
}

ClosureModel closure_model(const Params& p) {
  return p.get_string("closure_model") == "residual" ? ClosureModel::residual
                                                     : ClosureModel::direct;
}
ClosureHead closure_head(const Params& p) {
  const std::string h = p.get_string("closure_head");
  return h == "unbounded"        ? ClosureHead::unbounded
         : h == "unbounded_relu" ? ClosureHead::unbounded_relu
                                 : ClosureHead::bounded;
}
ClosureInputs closure_inputs(const Params& p) {
  return p.get_string("closure_inputs") == "mu1" ? ClosureInputs::mu1 : ClosureInputs::mu1_EW;
}
NnClosure::TrainConfig train_config(const Params& p) {
  return {.epochs = int(p.get_int("epochs")),
          .batch = int(p.get_int("batch")),
          .learning_rate = p.get_real("learning_rate")};
}

}  // namespace

Result run_active(const Params& p, const RunContext& ctx) {
  ThreadPool pool(ctx.threads);
  const KineticConfig cfg = kinetic_config(p);
  const int ts_steps = p.get_int("ts_epochs") > 0 ? int(p.get_int("ts_steps")) : 0;
  // ood_in_training: what of the out-of-distribution point's kinetic run the training sees:
  // its time-stepping windows (in place of the training point's), the same windows' start
  // states as a-priori samples (added to the training point's snapshots), both, or nothing.
  const double ood_alpha = p.get_real("ood_alpha");
  const std::string ood_in = p.get_string("ood_in_training");
  const bool ood_ts = ood_in == "timestep" || ood_in == "both";
  const bool ood_ap = ood_in == "apriori" || ood_in == "both";
  const double window_every = p.get_real("ts_window_every");
  const WindowPlan plan{
      .k = int(p.get_int("ts_steps")),
      .every = std::max(
          1L, steps_for(window_every > 0 ? window_every : p.get_real("snapshot_every"), cfg.dt))};
  Result r;

  // 1. Kinetic runs: the training point, and the out-of-distribution point if asked for.
  auto t0 = Clock::now();
  const KineticData kd =
      run_kinetic(p, cfg, ctx.seed, {plan.k, plan.every, ts_steps > 0 && !ood_ts}, pool, ctx, 0.0,
                  ood_alpha != 0 ? 0.4 : 0.5);
  KineticConfig ood = cfg;
  ood.alpha = ood_alpha;
  ood.zeta = p.get_real("ood_zeta");
  const KineticData ko =
      ood_alpha != 0
          ? run_kinetic(p, ood, ctx.seed, {plan.k, plan.every, ts_steps > 0 && ood_ts, ood_ap},
                        pool, ctx, 0.4, 0.1)
          : KineticData{};
  r.metrics["seconds_kinetic"] = seconds_since(t0);
  r.metrics["mass_drift"] = kd.mass_drift;

  // 2. A-priori training on a seeded subsample of the training snapshots (and, with
  //    ood_in_training apriori or both, the ood window starts); the same network with no
  //    epochs (its fitted head alone) is the baseline that shows what training earned.
  t0 = Clock::now();
  Rng pick_rng(ctx.seed, 2);
  Samples pooled = kd.train;
  if (ood_ap) pooled.append(ko.starts);
  const Samples train = subsample(pooled, std::size_t(p.get_int("train_points")), pick_rng);
  Rng init(ctx.seed, 3), shuffle(ctx.seed, 4);
  NnClosure nn(closure_model(p), closure_inputs(p), false, int(p.get_int("hidden")),
               int(p.get_int("layers")), init, closure_head(p));
  NnClosure nn0 = nn;
  nn0.train(train, {.epochs = 0}, shuffle, pool);
  const std::vector<double> curve =
      nn.train(train, train_config(p), shuffle, pool, [&] { ctx.throw_if_cancelled(); });
  r.metrics["seconds_training"] = seconds_since(t0);
  r.metrics["train_loss_final"] = curve.empty() ? nan : curve.back();
  r.metrics["training_samples"] = double(train.size());
  ctx.progress(0.55);

  // 3. Time-stepping training: the a-priori network refined through k solver steps.
  t0 = Clock::now();
  NnClosure nn_ts = nn;
  std::vector<double> ts_curve;
  const std::vector<Window>& windows = ood_ts ? ko.windows : kd.windows;
  if (ts_steps > 0) {
    Rng ts_rng(ctx.seed, 5);
    ts_curve = train_timestep(nn_ts, moment_config(ood_ts ? ood : cfg), windows,
                              {.epochs = int(p.get_int("ts_epochs")),
                               .batch = int(p.get_int("ts_batch")),
                               .learning_rate = p.get_real("ts_learning_rate")},
                              ts_rng, pool, [&] { ctx.throw_if_cancelled(); });
  }
  r.metrics["seconds_ts_training"] = seconds_since(t0);
  r.metrics["ts_windows"] = double(windows.size());
  r.metrics["ts_loss_first"] = ts_curve.empty() ? nan : ts_curve.front();
  r.metrics["ts_loss_final"] = ts_curve.empty() ? nan : ts_curve.back();
  ctx.progress(0.65);

  // 4. A-priori errors on the validation snapshots.
  const AprioriErrors eb = apriori_bingham(kd.valid);
  const AprioriErrors e0 = apriori(kd.valid, nn0.evaluate(kd.valid));
  const AprioriErrors ea = apriori(kd.valid, nn.evaluate(kd.valid));
  const AprioriErrors en = apriori(kd.valid, nn_ts.evaluate(kd.valid));
  r.metrics["apriori_error_bingham"] = eb.se;
  r.metrics["apriori_error4_bingham"] = eb.h4;
  r.metrics["apriori_error_nn_untrained"] = e0.se;
  r.metrics["apriori_error4_nn_untrained"] = e0.h4;
  r.metrics["apriori_error_nn_apriori_only"] = ea.se;
  r.metrics["apriori_error_nn"] = en.se;
  r.metrics["apriori_error4_nn"] = en.h4;
  r.metrics["validation_samples"] = double(kd.valid.size());

  // 5. A-posteriori from the kinetic D at t_spinup: Bingham, the final network, and (with
  //    time-stepping training) the a-priori-only network. The runs are independent: with at
  //    least one thread per run they run at once, each on its own share of the threads (one
  //    parallel region for the whole phase instead of three per time step of each run, and
  //    FFT-sized items only 8 or 9 to a region); results do not depend on how they run.
  //    Both networks take the same inputs (they depend on closure_inputs only), so one training
  //    range serves both; the kinetic validation snapshots are the reference (coverage.hpp).
  const InputRange range = InputRange::of(nn.inputs(train));
  const std::size_t R = ts_steps > 0 ? 3 : 2, T = std::size_t(pool.size());
  const BinghamClosure bingham;
  // Bingham, the final and the a-priori-only network (monitored) closed at `mc` from `d0`.
  auto close_all = [&](const MomentConfig& mc, const MomentSolver::Fields& d0, double progress0,
                       double span) {
    const std::size_t points = std::size_t(mc.N) * std::size_t(mc.N);
    InputMonitor mon_ts(nn_ts, range, points), mon_ap(nn, range, points);
    const std::array<const Closure*, 3> closed = {&bingham, &mon_ts, &mon_ap};
    const std::array<InputMonitor*, 3> monitors = {nullptr, &mon_ts, &mon_ap};
    std::array<MomentRun, 3> runs;
    if (T >= R) {
      // A Bingham step costs ~3.5 network steps (closure 722 against 125 ns a point, 17 FFTs of
      // ~30 µs each at N 64; docs/performance.md), so each network run gets ⌊T/(R + 2)⌋
      // threads (at least 1) and Bingham's run the rest.
      const std::size_t share = std::max<std::size_t>(1, T / (R + 2));
      pool.parallel_for(R, [&](std::size_t b, std::size_t e) {
        for (std::size_t g = b; g < e; ++g) {
          ThreadPool own(int(g == 0 ? T - (R - 1) * share : share));
          runs[g] = run_moment_model(p, mc, *closed[g], d0, own, ctx, 0, 0, monitors[g]);
        }
      });
    } else {
      for (std::size_t g = 0; g < R; ++g)
        runs[g] = run_moment_model(p, mc, *closed[g], d0, pool, ctx,
                                   progress0 + span * double(g) / double(R), span / double(R),
                                   monitors[g]);
    }
    if (R == 2) runs[2] = runs[1];
    return runs;
  };
  // Metrics of those runs against the kinetic run `k`, names prefixed by `pre`.
  auto put = [&](const std::string& pre, const KineticData& k,
                 const std::array<MomentRun, 3>& runs) {
    InputCoverage kin_cov;
    kin_cov.add(range, nn.inputs(k.valid));
    r.metrics[pre + "kinetic_outside_training"] = kin_cov.outside_fraction();
    r.metrics[pre + "kinetic_training_excursion"] = kin_cov.worst_excursion();
    r.metrics[pre + "order_kinetic"] = k.stats.order;
    r.metrics[pre + "urms_kinetic"] = k.stats.urms;
    for (std::size_t g = 0; g < 3; ++g) {
      const MomentRun& m = runs[g];
      const std::string n = pre + std::array{"bingham", "nn", "nn_apriori_only"}[g];
      const std::string n0 = std::array{"bingham", "nn", "nn_apriori_only"}[g];
      r.metrics[pre + "order_" + n0] = m.stable ? m.stats.order : nan;
      r.metrics[pre + "urms_" + n0] = m.stable ? m.stats.urms : nan;
      r.metrics[pre + "spectrum_error_" + n0] =
          m.stable ? spectrum_error(m.stats.spectrum, k.stats.spectrum) : nan;
      r.metrics[n + "_stable"] = m.stable ? 1.0 : 0.0;
      r.metrics[pre + "t_blowup_" + n0] = m.t_blowup;
      const Drift dr = m.stable ? order_drift(m.stats.trace, k.stats.trace) : Drift{nan, nan};
      r.metrics[pre + "drift_" + n0] = dr.drift;
      r.metrics[pre + "late_error_" + n0] = dr.late_error;
      r.metrics[pre + "seconds_" + n0] = m.seconds;
      if (g > 0) {
        r.metrics[n + "_outside_training"] = m.outside;
        r.metrics[n + "_training_excursion"] = m.excursion;
      }
    }
  };
  const double span = ood_alpha != 0 ? 0.15 : 0.35;
  const auto runs = close_all(moment_config(cfg), kd.d0, 0.65, span);
  put("", kd, runs);
  const MomentRun &mb = runs[0], &mn = runs[1], &ma = runs[2];
  // 6. Out of distribution: the same networks (and training range) closed at (ood_alpha,
  //    ood_zeta), from and against a kinetic run there (same seed, same window).
  if (ood_alpha != 0) put("ood_", ko, close_all(moment_config(ood), ko.d0, 0.85, 0.15));
  r.series["order_kinetic"] = kd.order_series;
  r.series["order_bingham"] = mb.order_series;
  r.series["order_nn"] = mn.order_series;
  r.series["order_nn_apriori_only"] = ma.order_series;
  r.series["spectrum_kinetic"] = kd.stats.spectrum;
  r.series["spectrum_bingham"] = mb.stats.spectrum;
  r.series["spectrum_nn"] = mn.stats.spectrum;
  r.series["train_loss"] = curve;
  r.series["ts_loss"] = ts_curve;
  ctx.progress(1.0);
  return r;
}

Result run_active_learning(const Params& p, const RunContext& ctx) {
  ThreadPool pool(ctx.threads);
  // Validation grid: al_grid × al_grid points over [alpha_min, alpha_max] × [0, zeta_max].
  const int G = 3;
  const double a0 = p.get_real("al_alpha_min"), a1 = p.get_real("al_alpha_max");
  const double zmax = p.get_real("al_zeta_max");
  std::vector<std::pair<double, double>> grid;
  for (int i = 0; i < G; ++i)
    for (int j = 0; j < G; ++j) grid.emplace_back(a0 + (a1 - a0) * i / (G - 1), zmax * j / (G - 1));
  // Kinetic runs at every grid point, in parallel over the points (whole runs: the largest
  // parallel regions there are), each seeded by its grid index. With more threads than points,
  // point g gets ⌊T/9⌋ threads plus one of the T mod 9 spare, for its own kinetic solver; results
  // do not depend on any of it.
  auto t0 = Clock::now();
  std::vector<KineticData> data(grid.size());
  const std::size_t T = std::size_t(pool.size()), R = grid.size();
  pool.parallel_for(R, [&](std::size_t b, std::size_t e) {
    for (std::size_t g = b; g < e; ++g) {
      ThreadPool own(T > R ? int(T / R + (g < T % R ? 1 : 0)) : 1);
      KineticConfig cfg = kinetic_config(p);
      cfg.alpha = grid[g].first;
      cfg.zeta = grid[g].second;
      data[g] = run_kinetic(p, cfg, ctx.seed * 1000003ULL + g, WindowPlan{}, own, ctx, 0, 0);
    }
  });
  Result r;
  r.metrics["seconds_kinetic"] = seconds_since(t0);
  ctx.progress(0.6);
  t0 = Clock::now();
  // Start from the two extreme points (weakest and strongest activity, no alignment).
  std::vector<bool> in_pool(grid.size(), false);
  in_pool[0] = in_pool[std::size_t(G - 1) * G] = true;
  const int rounds = int(p.get_int("rounds")), add = int(p.get_int("al_add"));
  std::vector<double> err_max, err_mean, err_bingham_mean, field;
  double bingham_mean = 0;
  std::vector<double> eb(grid.size());
  for (std::size_t g = 0; g < grid.size(); ++g)
    bingham_mean += eb[g] = apriori_bingham(data[g].valid).se;
  bingham_mean /= double(grid.size());
  const std::size_t per_point = std::size_t(p.get_int("train_points"));
  for (int round = 0; round < rounds; ++round) {
    Samples pooled;
    for (std::size_t g = 0; g < grid.size(); ++g)
      if (in_pool[g]) {
        Rng rng(ctx.seed, 100 + g);
        pooled.append(subsample(data[g].train, per_point, rng));
      }
    Rng init(ctx.seed, 3), shuffle(ctx.seed, 4 + std::uint64_t(round));
    NnClosure nn(closure_model(p), closure_inputs(p), true, int(p.get_int("hidden")),
                 int(p.get_int("layers")), init, closure_head(p));
    nn.train(pooled, train_config(p), shuffle, pool, [&] { ctx.throw_if_cancelled(); });
    std::vector<double> err(grid.size());
    pool.parallel_for(grid.size(), [&](std::size_t b, std::size_t e) {
      for (std::size_t g = b; g < e; ++g)
        err[g] = apriori(data[g].valid, nn.evaluate(data[g].valid)).se;
    });
    double mx = 0, mean = 0;
    for (double v : err) mx = std::max(mx, v), mean += v;
    err_max.push_back(mx);
    err_mean.push_back(mean / double(grid.size()));
    if (round + 1 == rounds) field = err;
    // Add the worst-predicted points not yet in the pool (ties: lower index first).
    for (int k = 0; k < add && round + 1 < rounds; ++k) {
      std::size_t worst = grid.size();
      for (std::size_t g = 0; g < grid.size(); ++g)
        if (!in_pool[g] && (worst == grid.size() || err[g] > err[worst])) worst = g;
      if (worst < grid.size()) in_pool[worst] = true;
    }
    ctx.progress(0.6 + 0.4 * double(round + 1) / double(rounds));
  }
  r.metrics["seconds_training"] = seconds_since(t0);
  r.metrics["al_error_max_first"] = err_max.front();
  r.metrics["al_error_max_final"] = err_max.back();
  r.metrics["al_error_mean_final"] = err_mean.back();
  r.metrics["al_error_bingham_mean"] = bingham_mean;
  r.metrics["al_points_used"] = double(std::count(in_pool.begin(), in_pool.end(), true));
  r.series["al_error_max"] = err_max;
  r.series["al_error_mean"] = err_mean;
  r.series["al_error_grid"] = field;
  r.series["al_error_grid_bingham"] = eb;
  ctx.progress(1.0);
  return r;
}

}  // namespace mpisweep::kinetic
