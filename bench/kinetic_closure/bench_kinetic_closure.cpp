// kinetic_closure benchmarks (issue 14): closure cost per evaluation and thread scaling.
// Usage: bench_kinetic_closure [--closures] [--threads] [--regions] [--print] [--repeat K]
//                              [--set name=value ...]
//   --closures: only the closure cost: ns per grid point of Bingham (Newton solve for κ), the
//     direct network and the residual network (Bingham + network), three network sizes, on
//     points with r = μ1 − μ2 uniform in [0, 0.95], random frames and gradients, evaluated in
//     64-point chunks (the solver's rows at N 64), the closures in turn in each of many short rounds, best round
//     kept; ratios against Bingham measured in the same run.
//   --threads: only the scaling: an `active` run (default N 64, t_spinup 30, t_final 60) with
//     1, 2, 4, 8, 16 threads (capped at the cores present), best of K, wall time, speed-up
//     against 1 thread, and whether every non-timing metric and series is bit-identical.
//   --regions: parallel regions (ThreadPool::parallel_for calls, i.e. fork/join points) per time
//     step of the kinetic solver and of the moment model at N 64; the count does not depend on
//     the thread count; and the cost of the moment model's explicit part on one thread with
//     its split 1D transform passes against whole 2D transforms (the code before the split).
//   --set name=value: any other parameter of the run (e.g. --set ts_epochs=0).
//   --print: one run with 1 thread (after the --set overrides, from the defaults rather than
//     the N 64 scaling setting), every metric printed.
//   With none of the three, all three.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mpisweep/core/parallel.hpp>
#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/kinetic_closure/kinetic.hpp>
#include <mpisweep/experiments/kinetic_closure/mlp.hpp>
#include <mpisweep/experiments/kinetic_closure/moment.hpp>
#include <mpisweep/experiments/registry.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace mpisweep;
using namespace mpisweep::kinetic;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// ns per point of closure.evaluate over the points, best of `repeat` passes.
double ns_per_point(const Closure& closure, const ClosureInput& in, std::size_t n, int repeat) {
  std::vector<Harmonic4> out(n);
  double best = 1e300, sink = 0;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = Clock::now();
    for (std::size_t p0 = 0; p0 < n; p0 += 64)
      closure.evaluate(in, p0, std::min(n, p0 + 64), out.data());
    best = std::min(best, since(t0));
    sink += out[n / 2].c4;
  }
  if (sink == 12345.678) std::printf(" ");  // keeps the work observable
  return 1e9 * best / double(n);
}

void closure_costs(int repeat) {
  const std::size_t n = std::size_t(1) << 16;
  Rng rng(7);
  std::vector<double> c(n), dxx(n), dxy(n), dyy(n), gxx(n), gxy(n), gyx(n);
  for (std::size_t p = 0; p < n; ++p) {
    const double r = rng.uniform(0, 0.95), phi = rng.uniform(0, 3.14159265358979);
    c[p] = 1 + 0.1 * rng.normal();
    dxx[p] = c[p] * (0.5 + 0.5 * r * std::cos(2 * phi));
    dyy[p] = c[p] * (0.5 - 0.5 * r * std::cos(2 * phi));
    dxy[p] = c[p] * 0.5 * r * std::sin(2 * phi);
    gxx[p] = 0.3 * rng.normal(), gxy[p] = 0.3 * rng.normal(), gyx[p] = 0.3 * rng.normal();
  }
  const ClosureInput in{c.data(),   dxx.data(), dxy.data(), dyy.data(),
                        gxx.data(), gxy.data(), gyx.data()};
  // All closures measured in turn within each repeat, the best of each kept: a burst of load
  // from other processes hits them alike.
  struct Entry {
    std::string name;
    std::unique_ptr<Closure> closure;
    double best = 1e300;
  };
  std::vector<Entry> entries;
  entries.push_back({"bingham", std::make_unique<BinghamClosure>()});
  for (auto [hidden, layers] : {std::pair{16, 2}, {32, 2}, {32, 1}})
    for (ClosureModel model : {ClosureModel::direct, ClosureModel::residual}) {
      Rng init(1);
      const bool direct = model == ClosureModel::direct;
      entries.push_back(
          {std::string(direct ? "direct  " : "residual") + " " + std::to_string(layers) + " x " +
               std::to_string(hidden),
           std::make_unique<NnClosure>(model, ClosureInputs::mu1_EW, false, hidden, layers, init)});
    }
  // Many short rounds over 4096-point blocks: the minimum over rounds is a round that no other
  // process interrupted.
  const std::size_t block = 4096;
  for (int r = 0; r < 40 * repeat; ++r) {
    const std::size_t o = (std::size_t(r) * block) % n;
    const ClosureInput part{in.c + o,   in.dxx + o, in.dxy + o, in.dyy + o,
                            in.gxx + o, in.gxy + o, in.gyx + o};
    for (auto& e : entries) e.best = std::min(e.best, ns_per_point(*e.closure, part, block, 1));
  }
  const double b = entries[0].best;
  std::printf(
      "closure cost per grid point (r uniform in [0, 0.95], mu1_EW inputs, softsign "
      "networks; best of %d rounds of 4096 points):\n",
      40 * repeat);
  for (const auto& e : entries)
    std::printf("  %-16s %9.1f ns  %6.2fx faster than Bingham%s\n", e.name.c_str(), e.best,
                b / e.best, e.name == "direct   2 x 16" ? "  (default network; target >= 3)" : "");
}

// The moment model's explicit part computed with whole 2D transforms, as before the split into
// 1D passes (moment.hpp): the reference for what the split costs on one thread.
struct Explicit2d {
  const SpectralGrid& g;
  MomentConfig cfg;
  const Closure& closure;
  std::vector<FftBuffer<double>> phys;
  FftBuffer<cplx> scratch;
  std::vector<double> c;
  std::vector<Harmonic4> h;
  Explicit2d(const SpectralGrid& grid, const MomentConfig& config, const Closure& cl)
      : g(grid),
        cfg(config),
        closure(cl),
        scratch(grid.half()),
        c(grid.points()),
        h(grid.points()) {
    for (int i = 0; i < 17; ++i) phys.emplace_back(grid.points());
  }
  void operator()(const MomentSolver::Fields& d, MomentSolver::Fields& out) {
    const std::size_t np = g.points(), nk = g.kept();
    VelocityHat v;
    stokes(g, cfg.alpha, d[0].data(), d[1].data(), d[2].data(), v);
    const cplx* src[8] = {d[0].data(), d[1].data(),  d[2].data(),  v.ux.data(),
                          v.uy.data(), v.gxx.data(), v.gxy.data(), v.gyx.data()};
    for (int f = 0; f < 8; ++f) g.to_physical(src[f], phys[f].data(), scratch);
    for (std::size_t p = 0; p < np; ++p) c[p] = phys[0][p] + phys[2][p];
    const ClosureInput in{c.data(),       phys[0].data(), phys[1].data(), phys[2].data(),
                          phys[5].data(), phys[6].data(), phys[7].data()};
    closure.evaluate(in, 0, np, h.data());
    for (std::size_t p = 0; p < np; ++p) {
      const Sym2 D{phys[0][p], phys[1][p], phys[2][p]};
      const Sym4 S = fourth_moment(c[p], D, {c[p] * h[p].c4, c[p] * h[p].s4});
      const Sym2 R =
          moment_source(c[p], D, phys[5][p], phys[6][p], phys[7][p], S, cfg.zeta, cfg.dR);
      const double ux = phys[3][p], uy = phys[4][p];
      const double vals[9] = {R.xx,      R.xy,      R.yy,      ux * D.xx, uy * D.xx,
                              ux * D.xy, uy * D.xy, ux * D.yy, uy * D.yy};
      for (int f = 0; f < 9; ++f) phys[8 + f][p] = vals[f];
    }
    std::vector<cplx> hat[9];
    for (int f = 0; f < 9; ++f) {
      hat[f].resize(nk);
      g.to_spectral(phys[8 + f].data(), hat[f].data(), scratch);
    }
    for (int a = 0; a < 3; ++a) {
      out[a].resize(nk);
      for (std::size_t q = 0; q < nk; ++q) {
        const cplx div = g.kx(q) * hat[3 + 2 * a][q] + g.ky(q) * hat[4 + 2 * a][q];
        out[a][q] = hat[a][q] + cplx(div.imag(), -div.real());
      }
    }
  }
};

// One thread: the explicit part with the split 1D passes (MomentSolver::explicit_rhs) against
// whole 2D transforms, the two timed in turn in each of many rounds, best round of each kept;
// the direct 2 x 16 network as closure (the transforms are then a larger share of the cost).
void split_transform_cost(const MomentSolver::Fields& d, const KineticConfig& kc, int repeat) {
  ThreadPool pool(1);
  Rng init(1);
  const NnClosure nn(ClosureModel::direct, ClosureInputs::mu1_EW, false, 16, 2, init);
  const MomentConfig cfg{.alpha = kc.alpha, .N = kc.N, .dt = kc.dt};
  MomentSolver m(cfg, nn, pool);
  Explicit2d ref(m.grid(), cfg, nn);
  MomentSolver::Fields a, b;
  double best_split = 1e300, best_2d = 1e300;
  for (int r = 0; r < 50 * repeat; ++r) {
    auto t0 = Clock::now();
    m.explicit_rhs(d, a);
    best_split = std::min(best_split, since(t0));
    t0 = Clock::now();
    ref(d, b);
    best_2d = std::min(best_2d, since(t0));
  }
  double diff = 0, norm = 0;
  for (int f = 0; f < 3; ++f)
    for (std::size_t q = 0; q < a[f].size(); ++q)
      diff = std::max(diff, std::abs(a[f][q] - b[f][q])), norm = std::max(norm, std::abs(b[f][q]));
  std::printf(
      "moment model explicit part, N %d, 1 thread, direct 2 x 16 closure: split 1D passes %.0f "
      "us, whole 2D transforms %.0f us (ratio %.2f; best of %d rounds); max difference %.1e of "
      "max |N|\n",
      kc.N, 1e6 * best_split, 1e6 * best_2d, best_split / best_2d, 50 * repeat, diff / norm);
}

void regions_per_step(int repeat) {
  ThreadPool pool(2);
  KineticConfig kc;
  kc.N = 64;
  kc.dt = 0.02;
  KineticSolver kin(kc, pool);
  kin.set_state([](double x, double y, double th) {
    return (1 + 0.01 * std::cos(0.6283 * x + 2 * th) + 0.01 * std::sin(0.6283 * y - 2 * th)) /
           (2 * 3.141592653589793);
  });
  const int steps = 10;
  kin.step();  // the first step (Euler) is not typical
  std::size_t r0 = pool.regions();
  for (int i = 0; i < steps; ++i) kin.step();
  const double kinetic = double(pool.regions() - r0) / steps;
  const auto mh = kin.moments_hat(kin.state());
  Rng init(1);
  const NnClosure nn(ClosureModel::direct, ClosureInputs::mu1_EW, false, 16, 2, init);
  MomentSolver m({.alpha = kc.alpha, .N = kc.N, .dt = kc.dt}, nn, pool);
  m.set_state({mh[1], mh[2], mh[3]});
  m.step();
  r0 = pool.regions();
  for (int i = 0; i < steps; ++i) m.step();
  const double moment = double(pool.regions() - r0) / steps;
  std::printf(
      "parallel regions per time step, N 64, Ntheta %d: kinetic solver %.1f, moment model "
      "%.1f (%zu k_y columns, %d x rows); the a-posteriori runs (2 or 3) run at once when "
      "threads >= runs\n",
      kc.Ntheta, kinetic, moment, m.grid().columns(), m.grid().n());
  split_transform_cost({mh[1], mh[2], mh[3]}, kc, repeat);
}

void thread_scaling(Params given, int repeat) {
  const Experiment& e = find_experiment("kinetic_closure");
  const Params p = resolve_params(e.params, given);
  e.check(p);
  std::set<std::string> timing;
  for (const auto& m : e.metrics)
    if (m.timing) timing.insert(m.name);
  const int cores = available_cores();
  std::printf("active run, N %lld, t_spinup %g, t_final %g, %d cores present\n",
              static_cast<long long>(p.get_int("N")), p.get_real("t_spinup"), p.get_real("t_final"),
              cores);
  Result ref;
  double t1 = 0;
  for (int threads : {1, 2, 4, 8, 16}) {
    if (threads > cores && threads > 1) break;
    double best = 1e300, cpu = 0;
    Result res;
    ThreadPool::RegionProfile profile;  // of the best 1-thread run
    for (int r = 0; r < repeat; ++r) {
      RunContext ctx;
      ctx.seed = 1;
      ctx.threads = threads;
      ThreadPool::region_profile().by_items.clear();
      ThreadPool::profile_regions(threads == 1);
      const auto t0 = Clock::now();
      const double c0 = cpu_seconds();
      res = e.run(p, ctx);
      const double w = since(t0);
      ThreadPool::profile_regions(false);
      if (w < best) best = w, cpu = cpu_seconds() - c0, profile = ThreadPool::region_profile();
    }
    bool same = true;
    if (threads == 1) {
      ref = res;
      t1 = best;
    } else {
      for (const auto& [k, v] : ref.metrics)
        if (!timing.count(k) &&
            !(v == res.metrics[k] || (v != v && res.metrics[k] != res.metrics[k])))
          same = false;
      for (const auto& [k, v] : ref.series) same = same && v == res.series[k];
    }
    std::printf(
        "  %2d thread%s %8.2f s  speed-up %5.2fx  cpu/wall %5.2f  bit-identical %s  (kinetic %.2f, "
        "training %.2f, ts-training %.2f, bingham %.2f, nn %.2f)\n",
        threads, threads == 1 ? " " : "s", best, t1 / best, cpu / best, same ? "yes" : "NO",
        res.metrics["seconds_kinetic"], res.metrics["seconds_training"],
        res.metrics["seconds_ts_training"], res.metrics["seconds_bingham"],
        res.metrics["seconds_nn"]);
    if (threads == 1) {
      // Work-span bound (ThreadPool::RegionProfile): the serial time between regions stays,
      // each region takes ⌈n/T⌉ of its n items' rounds.
      const double serial = std::max(0.0, best - profile.seconds());
      std::printf(
          "     %.1f %% of it in parallel regions (%.2f s serial); bound from the regions' "
          "item counts:",
          100 * profile.seconds() / best, serial);
      for (int t : {2, 4, 8, 16})
        std::printf(" %d: %.1fx", t, best / (serial + profile.seconds_on(t)));
      std::printf("\n");
      auto items = profile.by_items;
      std::sort(items.begin(), items.end(),
                [](const auto& a, const auto& b) { return a.second > b.second; });
      std::printf("     regions by items n (seconds, at 16 threads):");
      for (std::size_t i = 0; i < std::min<std::size_t>(8, items.size()); ++i)
        std::printf(" %zu (%.2f, %.2f)", items[i].first, items[i].second,
                    ThreadPool::RegionProfile{{items[i]}}.seconds_on(16));
      std::printf("\n");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool closures = false, threads = false, regions = false, print = false;
  int repeat = 1;
  std::vector<std::pair<std::string, Value>> sets;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--closures") {
      closures = true;
    } else if (a == "--threads") {
      threads = true;
    } else if (a == "--regions") {
      regions = true;
    } else if (a == "--print") {
      print = true;
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--set" && i + 1 < argc) {
      const std::string kv = argv[++i];
      const auto eq = kv.find('=');
      if (eq == std::string::npos) {
        std::fprintf(stderr, "bench_kinetic_closure: --set wants name=value, got '%s'\n",
                     kv.c_str());
        return 2;
      }
      const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      if (end && *end == 0 && !v.empty() && v.find_first_of(".eE") == std::string::npos)
        sets.emplace_back(k, std::int64_t(std::llround(x)));
      else if (end && *end == 0 && !v.empty())
        sets.emplace_back(k, x);
      else
        sets.emplace_back(k, v);
    } else {
      std::fprintf(stderr, "bench_kinetic_closure: unknown argument '%s'\n", a.c_str());
      return 2;
    }
  }
  Params given;
  if (!print) {  // the scaling setting of issue 14
    given.set("N", std::int64_t{64});
    given.set("t_spinup", 30.0);
    given.set("t_final", 60.0);
  }
  for (const auto& [k, v] : sets) given.set(k, v);
  if (print) {
    const Experiment& e = find_experiment("kinetic_closure");
    const Params p = resolve_params(e.params, given);
    e.check(p);
    RunContext ctx;
    ctx.seed = 1;
    const Result r = e.run(p, ctx);
    for (const auto& [k, v] : r.metrics) std::printf("%s %.6g\n", k.c_str(), v);
    return 0;
  }
  if (!closures && !threads && !regions) closures = threads = regions = true;
  if (closures) closure_costs(std::max(repeat, 3));
  if (regions) regions_per_step(repeat);
  if (threads) thread_scaling(given, repeat);
  return 0;
}
