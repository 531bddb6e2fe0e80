// The registered experiment: schema, parameter errors, the three scenarios end to end
// (specs/kinetic_closure.md "Scenarios", "What a faithful implementation reproduces").
#include <gtest/gtest.h>

#include <map>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mpisweep/experiments/kinetic_closure/scenarios.hpp>
#include <mpisweep/experiments/registry.hpp>
#include <numbers>
#include <set>
#include <thread>

using namespace mpisweep;

namespace {

const Experiment& kc() { return find_experiment("kinetic_closure"); }

Params params(std::initializer_list<std::pair<std::string, Value>> given) {
  Params g;
  for (const auto& [k, v] : given) g.set(k, v);
  return resolve_params(kc().params, g);
}

Result run(const Params& p, int threads = 1, const std::atomic<bool>* cancel = nullptr) {
  kc().check(p);
  RunContext ctx;
  ctx.seed = 42;
  ctx.threads = threads;
  ctx.cancel_flag = cancel;
  return kc().run(p, ctx);
}

// A short active run: small grid, spin-up to saturation, a few snapshots.
Params small_active() {
  return params({{"N", std::int64_t{16}},
                 {"Ntheta", std::int64_t{13}},
                 {"dt", 0.05},
                 {"perturbation", 0.05},
                 {"t_spinup", 24.0},
                 {"t_final", 40.0},
                 {"snapshot_every", 1.0},
                 {"epochs", std::int64_t{40}},
                 {"train_points", std::int64_t{2048}},
                 {"hidden", std::int64_t{16}}});
}

std::string param_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const param_error& e) {
    return e.param();
  }
  return "";
}

}  // namespace

TEST(Experiment, SchemaDeclaresEveryParameterWithMeaning) {
  const Experiment& e = kc();
  EXPECT_GE(e.params.size(), 20u);
  for (const auto& p : e.params) {
    EXPECT_FALSE(p.help.empty()) << p.name;
    EXPECT_NO_THROW(check_param(p, p.default_value)) << p.name;
  }
  EXPECT_NO_THROW(e.check(params({})));  // defaults are valid
  EXPECT_FALSE(e.plots.empty());
}

// `plot --series` and `--heatmap` draw from these declarations: a curve with one value per epoch
// or round (the runs below check the lengths: `epochs`, `rounds`) starts at 1, and the active
// learning grids are 3 × 3 (alpha, zeta) fields.
TEST(Experiment, SeriesDeclareTheirRealXScale) {
  std::map<std::string, SeriesSpec> by_name;
  for (const auto& s : kc().series) by_name[s.name] = s;
  for (const char* name : {"train_loss", "ts_loss", "al_error_max", "al_error_mean"}) {
    ASSERT_TRUE(by_name.count(name)) << name;
    EXPECT_EQ(by_name[name].x_start, 1.0) << name;
    EXPECT_EQ(by_name[name].x_step, 1.0) << name;
  }
  for (const char* name : {"al_error_grid", "al_error_grid_bingham"}) {
    EXPECT_EQ(by_name[name].shape, (std::vector<std::int64_t>{3, 3})) << name;
    ASSERT_EQ(by_name[name].axes.size(), 2u) << name;
    EXPECT_EQ(by_name[name].axes[0].rfind("alpha index", 0), 0u) << name;
    EXPECT_EQ(by_name[name].axes[1].rfind("zeta index", 0), 0u) << name;
  }
}

TEST(Experiment, BadParametersAreRejectedNamingTheParameter) {
  EXPECT_EQ(param_of([] { kc().check(params({{"Ntheta", std::int64_t{16}}})); }), "Ntheta");
  EXPECT_EQ(param_of([] { params({{"dt", 0.0}}); }), "dt");
  EXPECT_EQ(param_of([] { params({{"dt", -0.01}}); }), "dt");
  EXPECT_EQ(param_of([] { kc().check(params({{"dt", 0.1}})); }), "dt");  // CFL: blows up
  EXPECT_NO_THROW(kc().check(params({{"dt", 0.05}})));                   // still stable
  EXPECT_EQ(param_of([] { kc().check(params({{"N", std::int64_t{33}}})); }), "N");
  EXPECT_EQ(param_of([] { kc().check(params({{"t_spinup", 300.0}})); }), "t_spinup");
  EXPECT_EQ(param_of([] { params({{"scenario", std::string("turbulent")}}); }), "scenario");
  // ood_in_training needs the point it adds, and timestep needs time-stepping epochs.
  const std::string o = "ood_in_training";
  EXPECT_EQ(param_of([&] { kc().check(params({{o, std::string("apriori")}})); }), o);
  EXPECT_EQ(
      param_of([&] {
        kc().check(params({{o, std::string("timestep")}, {"ood_alpha", -2.2}, {"ts_epochs", 0L}}));
      }),
      o);
  EXPECT_NO_THROW(kc().check(params({{o, std::string("both")}, {"ood_alpha", -2.2}})));
  EXPECT_EQ(param_of([] { kc().check(params({{"ts_window_every", 0.01}})); }), "ts_window_every");
}

TEST(Experiment, HomogeneousExtensionMatchesBingham) {
  const Result r = run(params({{"scenario", std::string("homogeneous")},
                               {"Ntheta", std::int64_t{41}},
                               {"t_final", 400.0}}));
  EXPECT_NEAR(r.metrics.at("D11"), 0.72319498294825, 1e-8);
  EXPECT_NEAR(r.metrics.at("S1111"), 0.61159749147411, 1e-8);
  EXPECT_NEAR(r.metrics.at("kappa"), r.metrics.at("kappa_theory"), 1e-7);
  EXPECT_LT(r.metrics.at("bingham_error"), 1e-8);
  const Result z = run(params({{"scenario", std::string("homogeneous")},
                               {"zeta", 0.15},
                               {"Ntheta", std::int64_t{41}},
                               {"t_final", 400.0}}));
  EXPECT_NEAR(z.metrics.at("kappa"), z.metrics.at("kappa_theory"), 1e-7);
  EXPECT_GT(z.metrics.at("kappa"), 1.2);
}

TEST(Experiment, LinearGrowthRateWithinTwoPercent) {
  const Result r = run(params(
      {{"scenario", std::string("linear")}, {"N", std::int64_t{16}}, {"Ntheta", std::int64_t{9}}}));
  const double th = r.metrics.at("growth_rate_theory");
  EXPECT_NEAR(th, 0.5 - 0.2 - 0.05 * std::pow(2 * std::numbers::pi / 10, 2), 1e-12);
  EXPECT_NEAR(r.metrics.at("growth_rate"), th, 0.02 * std::abs(th));
  EXPECT_NEAR(r.metrics.at("growth_rate_aligned"), r.metrics.at("growth_rate_aligned_theory"),
              0.02 * std::abs(r.metrics.at("growth_rate_aligned_theory")));
  EXPECT_LT(r.metrics.at("mass_drift"), 1e-12);
  EXPECT_LT(r.metrics.at("max_divergence"), 1e-12);
}

TEST(Experiment, ActiveNetworkBeatsBinghamAPrioriAndIsThreadIndependent) {
  const Params p = small_active();
  const Result r = run(p, 1);
  // The default closure head (closure_head = bounded) is bit for bit the network that existed
  // before the head became a parameter: these values were printed with %a by the code of commit
  // 10d2d94 (GCC 12, x86-64, Release), through training, time-stepping training and the closed
  // runs.
  const std::map<std::string, double> golden = {
      {"apriori_error_nn_untrained", 0x1.153fcbe1da0dap-5},
      {"apriori_error_nn_apriori_only", 0x1.d5547b17597e9p-6},
      {"apriori_error_nn", 0x1.d56e80a5fe974p-6},
      {"apriori_error4_nn", 0x1.92f9ffe8dc203p-3},
      {"train_loss_final", 0x1.4741451e40634p-1},
      {"ts_loss_final", 0x1.6f41c0f09f136p-12},
      {"order_nn", 0x1.1c2b171f71c1cp-1},
      {"order_nn_apriori_only", 0x1.1c4b89b5be4b3p-1},
      {"spectrum_error_nn", 0x1.08c2c66e69c2bp-4}};
  for (const auto& [name, v] : golden) EXPECT_EQ(r.metrics.at(name), v) << name;
  for (const auto& name : {"apriori_error_bingham", "apriori_error_nn", "order_kinetic",
                           "urms_kinetic", "train_loss_final", "ts_loss_first", "ts_loss_final"})
    EXPECT_TRUE(std::isfinite(r.metrics.at(name))) << name;
  EXPECT_GT(r.metrics.at("order_kinetic"), 0.2) << "the run should have left the isotropic state";
  EXPECT_LE(r.metrics.at("apriori_error_nn"), r.metrics.at("apriori_error_bingham"));
  EXPECT_LE(r.metrics.at("apriori_error4_nn"), r.metrics.at("apriori_error4_bingham"));
  // The a-priori win is earned by training, not built in: the untrained network (its fitted
  // one-constant head, C̃4 = b0 r²) is clearly worse than the trained one.
  EXPECT_LT(r.metrics.at("apriori_error4_nn"), 0.92 * r.metrics.at("apriori_error4_nn_untrained"));
  EXPECT_LT(r.metrics.at("apriori_error_nn"), 0.92 * r.metrics.at("apriori_error_nn_untrained"));
  // Time-stepping training lowers its own loss.
  EXPECT_LT(r.metrics.at("ts_loss_final"), r.metrics.at("ts_loss_first"));
  EXPECT_LT(r.metrics.at("mass_drift"), 1e-12);
  EXPECT_EQ(r.metrics.at("nn_stable"), 1.0);
  EXPECT_EQ(r.metrics.at("bingham_stable"), 1.0);
  EXPECT_TRUE(std::isnan(r.metrics.at("t_blowup_nn")));
  // Training-range coverage of the closed runs and of the kinetic validation states: fractions
  // and excursions, present for both networks (values: coverage_test.cpp, docs "Stable").
  for (const std::string m : {"nn", "nn_apriori_only", "kinetic"}) {
    const double f = r.metrics.at(m + "_outside_training");
    EXPECT_TRUE(f >= 0 && f <= 1) << m << " " << f;
    EXPECT_GE(r.metrics.at(m + "_training_excursion"), 0.0) << m;
    EXPECT_EQ(f == 0, r.metrics.at(m + "_training_excursion") == 0) << m;
  }
  EXPECT_EQ(r.series.at("train_loss").size(), 40u);
  EXPECT_LT(r.series.at("train_loss").back(), r.series.at("train_loss").front());

  // Bit-identical for any thread count; only the metrics declared `timing` may differ.
  std::set<std::string> timing;
  for (const auto& m : kc().metrics)
    if (m.timing) timing.insert(m.name);
  EXPECT_TRUE(timing.count("seconds_kinetic") && timing.count("seconds_nn"));
  auto same = [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); };
  for (int threads : {2, 4}) {
    const Result r2 = run(p, threads);
    for (const auto& [name, v] : r.metrics)
      if (!timing.count(name)) {
        EXPECT_TRUE(same(v, r2.metrics.at(name))) << name << " " << threads;
      }
    for (const auto& [name, v] : r.series) EXPECT_EQ(v, r2.series.at(name)) << name;
  }
}

TEST(Experiment, OutOfDistributionRunAtTheTrainingParametersRepeatsTheClosedRuns) {
  // ood_alpha = alpha, ood_zeta = zeta: the ood_ path (its own kinetic run, closed runs and
  // coverage against the same training range) must give every closed-run metric again, exactly.
  Params p = small_active();
  p.set("ts_epochs", std::int64_t{1});
  const Result r0 = run(p);
  p.set("ood_alpha", p.get_real("alpha"));
  const Result r = run(p);
  int compared = 0;
  for (const auto& m : kc().metrics)
    if (m.name.starts_with("ood_") && !m.timing) {
      const std::string base = m.name.substr(4);
      ASSERT_TRUE(r.metrics.count(m.name)) << m.name;
      const double a = r.metrics.at(m.name), b = r0.metrics.at(base), c = r.metrics.at(base);
      EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b))) << m.name << " " << a << " " << b;
      EXPECT_TRUE(c == b || (std::isnan(c) && std::isnan(b))) << base << ": changed by ood_";
      ++compared;
    }
  EXPECT_EQ(compared, 3 * 7 + 2 * 2 + 2 + 2);
  EXPECT_FALSE(r0.metrics.count("ood_nn_outside_training")) << "no ood_ metrics when it is off";
  // The CFL check covers the out-of-distribution runs too.
  p.set("ood_alpha", -20.0);
  EXPECT_EQ(param_of([&] { kc().check(p); }), "dt");
}

TEST(Experiment, OodInTrainingFeedsTheOodRunToTheTrainingItNames) {
  // small_active: t_spinup 24, mid 32, dt 0.05, snapshots every 1, k = 4: windows start at
  // t = 25, ..., 31 (their 4 steps must end by mid), 7 windows of 16 x 16 points.
  Params p = small_active();
  p.set("ts_epochs", std::int64_t{1});
  p.set("train_points", std::int64_t{1000000});
  const double alpha = p.get_real("alpha");
  auto run_with = [&](const std::string& what, double ood_alpha) {
    Params q = p;
    q.set("ood_alpha", ood_alpha);
    q.set("ood_in_training", what);
    return run(q);
  };
  auto same = [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); };
  std::set<std::string> timing;
  for (const auto& m : kc().metrics)
    if (m.timing) timing.insert(m.name);
  // At the training point itself the ood run's windows are the training run's: nothing moves.
  const Result at_none = run_with("none", alpha), at_ts = run_with("timestep", alpha);
  for (const auto& [name, v] : at_none.metrics)
    if (!timing.count(name)) {
      EXPECT_TRUE(same(v, at_ts.metrics.at(name))) << name;
    }
  EXPECT_EQ(at_none.metrics.at("ts_windows"), 7.0);
  EXPECT_EQ(at_none.metrics.at("training_samples"), 8.0 * 256);

  // Elsewhere the windows come from the ood run: the a-priori network and the ood kinetic run
  // are untouched, the time-stepping loss is another one.
  const double elsewhere = alpha - 0.3;
  const Result none = run_with("none", elsewhere), ts = run_with("timestep", elsewhere);
  EXPECT_EQ(ts.metrics.at("ts_windows"), 7.0);
  EXPECT_EQ(ts.metrics.at("apriori_error_nn_apriori_only"),
            none.metrics.at("apriori_error_nn_apriori_only"));
  EXPECT_EQ(ts.metrics.at("ood_order_kinetic"), none.metrics.at("ood_order_kinetic"));
  EXPECT_NE(ts.metrics.at("ts_loss_first"), none.metrics.at("ts_loss_first"));
  EXPECT_NE(ts.metrics.at("ood_order_nn"), none.metrics.at("ood_order_nn"));
  EXPECT_EQ(ts.metrics.at("ood_order_nn_apriori_only"),
            none.metrics.at("ood_order_nn_apriori_only"));

  // apriori: the 7 window-start states of the ood run join the 8 training snapshots.
  const Result ap = run_with("apriori", elsewhere);
  EXPECT_EQ(ap.metrics.at("training_samples"), (8.0 + 7.0) * 256);
  EXPECT_EQ(ap.metrics.at("ts_windows"), 7.0);  // the training point's, as with none
  EXPECT_NE(ap.metrics.at("apriori_error_nn_apriori_only"),
            none.metrics.at("apriori_error_nn_apriori_only"));

  // ts_window_every 2: starts at t = 26, 28, 30 (t = 32 leaves no room for 4 steps).
  p.set("ts_window_every", 2.0);
  EXPECT_EQ(run(p).metrics.at("ts_windows"), 3.0);
}

TEST(Experiment, SpectrumErrorIsScaleFree) {
  const std::vector<double> ref{0.0, 0.5, 3e-3, 4e-3, 4e-4};
  std::vector<double> model = ref, scaled_ref = ref;
  model[1] *= 1.1;  // one shell 10 % high, one 10 % low
  model[3] /= 1.1;
  // RMS over the 4 shells of log ratios: sqrt(2 log²1.1 / 4).
  const double want = std::sqrt(0.5) * std::log(1.1);
  EXPECT_NEAR(kinetic::spectrum_error(model, ref), want, 1e-15);
  for (auto& v : model) v *= 1e6;
  for (auto& v : scaled_ref) v *= 1e6;
  EXPECT_NEAR(kinetic::spectrum_error(model, scaled_ref), want, 1e-14);
  EXPECT_EQ(kinetic::spectrum_error(ref, ref), 0.0);
}

// One network over the 3x3 (α, ζ) grid; kinetic runs in parallel over the grid points, so the
// result must not depend on how they are spread over threads.
TEST(Experiment, ActiveLearningRoundsAndThreadIndependence) {
  const Params p = params({{"scenario", std::string("active_learning")},
                           {"N", std::int64_t{16}},
                           {"Ntheta", std::int64_t{9}},
                           {"dt", 0.05},
                           {"perturbation", 0.05},
                           {"t_spinup", 16.0},
                           {"t_final", 24.0},
                           {"hidden", std::int64_t{8}},
                           {"epochs", std::int64_t{10}},
                           {"train_points", std::int64_t{512}},
                           {"rounds", std::int64_t{3}},
                           {"al_add", std::int64_t{2}}});
  const Result r = run(p, 1);
  ASSERT_EQ(r.series.at("al_error_max").size(), 3u);
  ASSERT_EQ(r.series.at("al_error_grid").size(), 9u);
  EXPECT_EQ(r.metrics.at("al_points_used"), 6.0);  // 2 + 2 per round after the first two
  const auto& grid = r.series.at("al_error_grid");
  EXPECT_EQ(*std::max_element(grid.begin(), grid.end()), r.series.at("al_error_max").back());
  const Result r3 = run(p, 3);
  for (const auto& [name, v] : r.series) EXPECT_EQ(v, r3.series.at(name)) << name;
}

TEST(Experiment, CancellationStopsWithinASecond) {
  std::atomic<bool> cancel{false};
  const Params p = params({});
  const auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  EXPECT_THROW(run(p, 1, &cancel), task_cancelled);
  stopper.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(s, 1.3);
}
