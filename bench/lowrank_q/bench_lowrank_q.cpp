// Times the three lowrank_q methods on the spec's defaults (double integrator, n_s 25, n_a 50,
// 60 iterations, 5 samples, K 8, rank 3) in CPU seconds of one thread, and prints each against
// the exact method's quadrature value iteration (piecewise rule, order 6) measured in the same
// run. Issue 3 asks for full Monte Carlo value iteration "well under a second on one core";
// issue 12 for Q* of cart-pole's SV-RL grid (10⁴ states × 1000 actions) "within a minute on one
// core", here by policy iteration (best of 1: it is the slow one).
#include <mpisweep/experiments/lowrank_q/value_iteration.hpp>

#include <cstdio>
#include <ctime>

using namespace mpisweep;
using namespace mpisweep::lowrank_q;

namespace {
double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

template <class F>
double best_of_3(F&& f) {
  double best = 1e300;
  for (int i = 0; i < 3; ++i) {
    const double t0 = thread_cpu_seconds();
    f();
    best = std::min(best, thread_cpu_seconds() - t0);
  }
  return best;
}
}  // namespace

int main() {
  const ControlTask task(Env::double_integrator, 25, 50, 0.2);
  ThreadPool pool(1);
  auto options = [](bool lowrank) {
    return McOptions{.gamma = 0.9,
                     .iterations = 60,
                     .samples = 5,
                     .lowrank = lowrank,
                     .anchors = 8,
                     .rank = 3,
                     .anchor_rule = AnchorRule::random,
                     .seed = 1};
  };
  const double exact =
      best_of_3([&] { exact_value_iteration(task, {.gamma = 0.9, .tol = 1e-9}, pool); });
  const double full = best_of_3([&] { mc_value_iteration(task, options(false), pool); });
  const double low = best_of_3([&] { mc_value_iteration(task, options(true), pool); });
  std::printf("lowrank_q on the defaults, 1 thread, CPU seconds (best of 3)\n");
  std::printf("  exact (quadrature VI, reference) %.3f s\n", exact);
  std::printf("  full Monte Carlo VI              %.3f s  (%.2fx exact; target well under 1 s)\n",
              full, full / exact);
  std::printf("  lowrank Monte Carlo VI           %.3f s  (%.2fx exact, %.2fx full)\n", low,
              low / exact, low / full);
  const double pi_di = best_of_3([&] { optimal_q(task, 0.9, 6, pool); });
  std::printf("  Q* by policy iteration           %.3f s  (%.2fx exact VI; same Q*)\n", pi_di,
              pi_di / exact);
  // The experiment's reference check (qstar_quadrature_error) computes Q* again at order 12.
  const double pi_12 = best_of_3([&] { optimal_q(task, 0.9, 12, pool); });
  std::printf("  Q* at twice the order (check)    %.3f s  (%.2fx exact VI)\n", pi_12,
              pi_12 / exact);
  const ControlTask cartpole(task_config(Env::cartpole, Preset::svrl, 0, 0, 0));
  const double t0 = thread_cpu_seconds();
  const OptimalResult cp = optimal_q(cartpole, 0.95, 6, pool);
  const double cp_s = thread_cpu_seconds() - t0;
  std::printf(
      "cart-pole, SV-RL grid (%d states x %d actions), Q* by policy iteration (%d steps)\n"
      "  %.2f s  (%.0fx exact VI on the defaults; target under 60 s)\n",
      cartpole.num_states(), cartpole.num_actions(), cp.improvements, cp_s, cp_s / exact);
}
