// bench_simulate: predicts the efficiency of a sweep from a model of its master, its workers and
// the network, with the real runtime::Scheduler deciding every dispatch (model.hpp).
//
//   bench_simulate --workers 10000 --tasks 200000 --dist lognormal --mean 1 --sigma 1
//   bench_simulate --workers 2 --archive results/x.h5       # durations a real run measured
//   bench_simulate --predict                                 # the docs/performance.md table
//   bench_simulate --lef-demo                                # longest-expected-first on a skew
//
// Efficiency = total task time / (workers x (last task end - first task start)): the fraction of
// the workers' time spent in tasks while the sweep runs, start-up and the final flush excluded.
#include "model.hpp"

#include <mpisweep/core/error.hpp>
#include <mpisweep/core/rng.hpp>

#include <CLI/CLI.hpp>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <queue>

using mpisweep::error;
using mpisweep::Rng;
using namespace mpisweep::simulate;

namespace {

volatile std::sig_atomic_t probe_stop = 0;
extern "C" void on_probe_signal(int) { probe_stop = 1; }

struct Args {
  int workers = 2;
  std::size_t tasks = 1000;
  std::string dist = "constant", archive;
  double mean = 1.0, sigma = 1.0, alpha = 1.5;
  std::uint64_t seed = 1;
  Costs costs;
  double scan = -1;  // < 0: time the real scheduler's scan here
  bool scan_all = false, lef = false;
};

// A sweep whose cost grows with the parameter point: `points` points in sweep order, the p-th
// costing (p+1)^2 (scaled to an overall mean of `mean`), each run for `seeds` seeds with
// lognormal noise of mean 1, exp(0.2 Z - 0.2^2 / 2). The hint a cost parameter would give is the
// point's cost.
Workload skewed(std::size_t points, std::size_t seeds, double mean, std::uint64_t seed) {
  double sum = 0;
  for (std::size_t p = 0; p < points; ++p) sum += double((p + 1) * (p + 1));
  const double scale = mean * double(points) / sum;
  Workload w;
  Rng rng(seed);
  for (std::size_t p = 0; p < points; ++p)
    for (std::size_t s = 0; s < seeds; ++s) {
      const double cost = scale * double((p + 1) * (p + 1));
      w.expected.push_back(cost);
      w.cost_class.push_back(static_cast<std::uint32_t>(p));
      w.seconds.push_back(cost * std::exp(0.2 * rng.normal() - 0.02));
    }
  return w;
}

Workload make_workload(const Args& a) {
  Workload w;
  if (!a.archive.empty())
    w.seconds = archive_durations(a.archive);
  else if (a.dist == "constant")
    w.seconds = constant_durations(a.tasks, a.mean);
  else if (a.dist == "lognormal")
    w.seconds = lognormal_durations(a.tasks, a.mean, a.sigma, a.seed);
  else if (a.dist == "pareto")
    w.seconds = pareto_durations(a.tasks, a.mean, a.alpha, a.seed);
  else
    throw error("--dist: expected constant, lognormal or pareto, got '" + a.dist + "'");
  if (a.lef) w.expected = w.seconds;  // a perfect hint
  return w;
}

Costs with_scan(Costs c, const Args& a, int workers) {
  c.master_scan = a.scan >= 0 ? a.scan : measure_scan_cost(workers);
  return c;
}

void print(const Costs& c, int workers, const Workload& w, const Outcome& o) {
  std::printf(
      "workers=%d tasks=%zu mean=%.4g efficiency=%.4f master_busy=%.3f messages=%zu "
      "span=%.4g last_start=%.4g polls=%zu scan_ns=%.3g\n",
      workers, w.seconds.size(), o.work / double(w.seconds.size()), o.efficiency, o.master_busy,
      o.messages, o.last_end - o.first_start, o.last_start, o.polls, c.master_scan * 1e9);
}

// The efficiency of greedy list scheduling with no overhead at all: each task, in order, to the
// worker that frees up first. What the durations alone allow; the rest is the runtime's cost.
double greedy_bound(const std::vector<double>& seconds, int workers) {
  std::priority_queue<double, std::vector<double>, std::greater<>> free_at;
  for (int w = 0; w < workers; ++w) free_at.push(0.0);
  double end = 0, work = 0;
  for (double d : seconds) {
    const double t = free_at.top() + d;
    free_at.pop();
    free_at.push(t);
    end = std::max(end, t);
    work += d;
  }
  return work / (double(workers) * end);
}

// Efficiency at 1,000 and 10,000 workers for 0.1 s, 1 s and 60 s tasks (20 per worker), constant
// and lognormal (--sigma), with the scan the master did before and with its idle-worker set.
void predict(const Args& a) {
  std::printf(
      "| workers | task | durations | scan (before) | master busy | idle set (now) | "
      "master busy | no-overhead bound |\n");
  std::printf("|---:|---:|---|---:|---:|---:|---:|---:|\n");
  for (int workers : {1000, 10000})
    for (double mean : {0.1, 1.0, 60.0})
      for (const char* dist : {"constant", "lognormal"}) {
        Args b = a;
        b.dist = dist;
        b.mean = mean;
        b.tasks = std::size_t(workers) * 20;
        const Workload w = make_workload(b);
        const Costs c = with_scan(a.costs, a, workers);
        const Outcome o = run_sweep(w, workers, c, {}, true);
        const Outcome n = run_sweep(w, workers, c, {}, false);
        std::printf("| %d | %g s | %s | %.3f | %.2f | %.3f | %.2f | %.3f |\n", workers, mean, dist,
                    o.efficiency, o.master_busy, n.efficiency, n.master_busy,
                    greedy_bound(w.seconds, workers));
        std::fflush(stdout);
      }
}

// Index order against longest expected first on the skewed sweep.
void lef_demo(const Args& a) {
  const Workload w = skewed(20, 100, a.mean, a.seed);
  Workload plain = w, hinted = w, measured = w;
  plain.expected.clear();
  plain.cost_class.clear();
  hinted.cost_class.clear();
  measured.expected.clear();
  const Costs c = with_scan(a.costs, a, a.workers);
  const Outcome o = run_sweep(plain, a.workers, c, {}, a.scan_all);
  const Outcome l = run_sweep(hinted, a.workers, c, {}, a.scan_all);
  const Outcome m = run_sweep(measured, a.workers, c, {}, a.scan_all);
  const double ideal = o.work / double(a.workers);
  std::printf(
      "skewed sweep: 20 points x 100 seeds, cost ~ (point+1)^2, mean %.3g s, %d workers; "
      "ideal span %.4g s\n",
      o.work / double(w.seconds.size()), a.workers, ideal);
  std::printf("order=index span=%.4g efficiency=%.4f tail=%.4g\n", o.last_end - o.first_start,
              o.efficiency, o.last_end - o.first_start - ideal);
  std::printf("order=hint  span=%.4g efficiency=%.4f tail=%.4g\n", l.last_end - l.first_start,
              l.efficiency, l.last_end - l.first_start - ideal);
  std::printf("order=measured span=%.4g efficiency=%.4f tail=%.4g\n", m.last_end - m.first_start,
              m.efficiency, m.last_end - m.first_start - ideal);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  bool predict_table = false, demo = false;
  CLI::App app{"Simulates a sweep's dispatch with the real scheduler and measured costs"};
  app.add_option("--workers", a.workers, "worker ranks")->check(CLI::Range(1, 1000000));
  app.add_option("--tasks", a.tasks, "tasks (not with --archive)");
  app.add_option("--dist", a.dist, "constant, lognormal or pareto");
  app.add_option("--archive", a.archive, "take durations from this archive's wall_seconds");
  app.add_option("--mean", a.mean, "mean task duration, s");
  app.add_option("--sigma", a.sigma, "lognormal: sd of log duration");
  app.add_option("--alpha", a.alpha, "pareto: tail index (> 1)");
  app.add_option("--seed", a.seed, "seed of the drawn durations");
  app.add_option("--latency", a.costs.latency, "one-way message latency, s");
  app.add_option("--master-message", a.costs.master_message, "master s per message");
  app.add_option("--master-task", a.costs.master_task, "master s per task");
  app.add_option("--master-scan", a.scan, "master s per worker scanned (default: timed here)");
  app.add_option("--worker-task", a.costs.worker_task, "worker s per task outside the task");
  app.add_option("--worker-send", a.costs.worker_send, "task end to results message, s");
  app.add_option("--wake", a.costs.wake, "scheduling delay of each thread wake-up, s");
  bool probe = false;
  app.add_flag("--probe-wake", probe, "measure wake-up lateness until SIGTERM or SIGINT");
  app.add_flag("--scan", a.scan_all, "the master before its idle set: it looked at every worker");
  app.add_flag("--lef", a.lef, "longest expected first, with the true durations as the hint");
  app.add_flag("--predict", predict_table, "the 1,000 / 10,000-worker table");
  app.add_flag("--lef-demo", demo, "index order against longest first on a skewed sweep");
  CLI11_PARSE(app, argc, argv);
  try {
    if (a.mean <= 0) throw error("--mean: must be positive");
    if (probe) {
      std::signal(SIGTERM, on_probe_signal);
      std::signal(SIGINT, on_probe_signal);
      std::printf("wake=%.4g\n", probe_wake(probe_stop));
      return 0;
    }
    if (predict_table) {
      predict(a);
      return 0;
    }
    if (demo) {
      lef_demo(a);
      return 0;
    }
    const Workload w = make_workload(a);
    const Costs c = with_scan(a.costs, a, a.workers);
    print(c, a.workers, w, run_sweep(w, a.workers, c, {}, a.scan_all));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_simulate: %s\n", e.what());
    return 2;
  }
  return 0;
}
