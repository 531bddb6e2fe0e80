// Times an `active` kinetic_closure run (kinetic run, training, two moment-model runs) with 1
// and 2 threads, prints both wall times, the ratio, and whether the results are bit-identical.
// Usage: bench_kinetic_closure [--full] [--repeat K]
//   --full: the default parameters (t_final 200); otherwise t_spinup 30, t_final 60, same grid.
//   --repeat K (default 3; 1 with --full): runs 1 and 2 threads alternately K times and keeps
//   the fastest of each, which filters out other processes on a shared machine.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mpisweep/experiments/registry.hpp>

using namespace mpisweep;

namespace {
// CPU seconds used by this process so far (all threads): with cpu/wall we can tell whether the
// run actually got the cores it asked for on a shared machine.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}
// CPU seconds of the calling thread only (the pool's caller runs one block of every parallel
// loop plus all serial work, so it is the critical path when the cores are free).
double thread_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}
}  // namespace

int main(int argc, char** argv) {
  bool full = false;
  int repeat = -1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--full") == 0) full = true;
    if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = std::atoi(argv[++i]);
  }
  if (repeat < 1) repeat = full ? 1 : 3;
  const Experiment& e = find_experiment("kinetic_closure");
  Params given;
  if (!full) {
    given.set("t_spinup", 30.0);
    given.set("t_final", 60.0);
  }
  const Params p = resolve_params(e.params, given);
  e.check(p);
  double wall[2] = {1e300, 1e300}, cpu[2] = {0, 0}, critical = 0;
  Result res[2];
  for (int r = 0; r < repeat; ++r) {
    for (int t = 1; t <= 2; ++t) {
      RunContext ctx;
      ctx.seed = 1;
      ctx.threads = t;
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = cpu_seconds(), m0 = thread_cpu_seconds();
      res[t - 1] = e.run(p, ctx);
      if (t == 2) critical = (cpu_seconds() - c0) / (thread_cpu_seconds() - m0);
      const double w = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double c = cpu_seconds() - c0;
      if (w < wall[t - 1]) wall[t - 1] = w, cpu[t - 1] = c;
      std::printf(
          "kinetic_closure active (%s): %d thread%s %.2f s  (kinetic %.2f, training %.2f, "
          "bingham %.2f, nn %.2f; cpu/wall %.2f)\n",
          full ? "default" : "t_final 60", t, t == 1 ? " " : "s", w,
          res[t - 1].metrics["seconds_kinetic"], res[t - 1].metrics["seconds_training"],
          res[t - 1].metrics["seconds_bingham"], res[t - 1].metrics["seconds_nn"], c / w);
    }
  }
  bool same = true;
  for (const auto& [k, v] : res[0].metrics)
    if (k.rfind("seconds_", 0) != 0 &&
        !(v == res[1].metrics[k] || (v != v && res[1].metrics[k] != res[1].metrics[k])))
      same = false;
  for (const auto& [k, v] : res[0].series) same = same && v == res[1].series[k];
  std::printf("best of %d: 1 thread %.2f s, 2 threads %.2f s\n", repeat, wall[0], wall[1]);
  std::printf("speed-up 2 threads / 1 thread: %.2fx (target >= 1.6); results bit-identical: %s\n",
              wall[0] / wall[1], same ? "yes" : "NO");
  std::printf(
      "cores obtained by the best runs (cpu/wall): 1 thread %.2f, 2 threads %.2f%s\n",
      cpu[0] / wall[0], cpu[1] / wall[1],
      cpu[1] / wall[1] < 1.5 ? "  -- machine busy: the speed-up above understates the code's" : "");
  std::printf(
      "contention-independent estimate, 2 threads: process cpu / calling-thread cpu = %.2fx "
      "(the speed-up on free cores if waiting at barriers is negligible)\n",
      critical);
  return 0;
}
