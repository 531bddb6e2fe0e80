// The lowrank_q experiment (spec lowrank_q.md; Shah, Song, Xu, Yang, NeurIPS 2020): value
// iteration on a discretised control task, exact, by full Monte Carlo, or by low-rank Monte Carlo
// with matrix estimation, each compared with Q* of the same task.
#include <mpisweep/experiments/lowrank_q/analysis.hpp>
#include <mpisweep/experiments/lowrank_q/mdp.hpp>
#include <mpisweep/experiments/lowrank_q/value_iteration.hpp>
#include <mpisweep/experiments/registry.hpp>

#include <cmath>

namespace mpisweep {

namespace {
using namespace lowrank_q;

constexpr double exact_tol = 1e-9;     // spec "Methods": exact VI to sup-norm tolerance 1e-9
constexpr int rollout_count = 100;     // spec "Metrics": 100 rollouts of 200 steps
constexpr int rollout_steps = 200;

Result run_lowrank_q(const Params& p, const RunContext& ctx) {
  const ControlTask task(parse_env(p.get_string("env")), static_cast<int>(p.get_int("n_s")),
                         static_cast<int>(p.get_int("n_a")), p.get_real("sigma"));
  const double gamma = p.get_real("gamma");
  const std::string& method = p.get_string("method");
  const int iterations = static_cast<int>(p.get_int("iterations"));
  ThreadPool pool(std::max(1, ctx.threads));

  // Q* once per task; it depends on (env, n_s, n_a, gamma, sigma) only.
  ExactOptions xo{.gamma = gamma, .tol = exact_tol};
  const double exact_share = method == "exact" ? 0.5 : 0.3;  // of the progress bar
  const int expected_sweeps = static_cast<int>(std::ceil(std::log(1e-12) / std::log(gamma)));
  auto exact_hook = [&](int k, const QMatrix&) {
    ctx.throw_if_cancelled();
    ctx.progress(exact_share * std::min(1.0, double(k) / expected_sweeps));
  };
  const ExactResult exact = exact_value_iteration(task, xo, pool, exact_hook);
  if (!exact.converged) throw error("lowrank_q: exact value iteration did not converge");
  const QMatrix& q_star = exact.q;
  const double q_star_norm = q_star.cwiseAbs().maxCoeff();

  Result res;
  auto& err = res.series["error_by_iteration"];
  auto& samples = res.series["samples_by_iteration"];
  QMatrix q_final;
  double samples_total = 0;
  if (method == "exact") {
    // The curve of exact VI itself: ‖Q_k − Q*‖∞ for each sweep until convergence.
    exact_value_iteration(task, xo, pool, [&](int k, const QMatrix& q) {
      ctx.throw_if_cancelled();
      err.push_back((q - q_star).cwiseAbs().maxCoeff());
      ctx.progress(0.5 + 0.5 * std::min(1.0, double(k) / exact.iterations));
    });
    samples.assign(err.size(), 0.0);
    q_final = q_star;
  } else {
    McOptions mo{.gamma = gamma,
                 .iterations = iterations,
                 .samples = static_cast<int>(p.get_int("samples")),
                 .lowrank = method == "lowrank",
                 .anchors = static_cast<int>(p.get_int("anchors")),
                 .rank = static_cast<int>(p.get_int("rank")),
                 .anchor_rule = p.get_string("anchor_rule") == "spread" ? AnchorRule::spread
                                                                        : AnchorRule::random,
                 .seed = ctx.seed};
    McResult mc = mc_value_iteration(task, mo, pool, [&](int t, const QMatrix& q) {
      ctx.throw_if_cancelled();
      err.push_back((q - q_star).cwiseAbs().maxCoeff());
      ctx.progress(exact_share + (1 - exact_share) * t / iterations);
    });
    for (auto c : mc.samples_by_iteration) samples.push_back(static_cast<double>(c));
    samples_total = samples.empty() ? 0.0 : samples.back();
    q_final = std::move(mc.q);
  }

  const Eigen::VectorXd sv = singular_values(q_star);
  res.series["qstar_singular_values"].assign(sv.data(), sv.data() + sv.size());
  const double q_err = (q_final - q_star).cwiseAbs().maxCoeff();
  res.metrics["q_error_inf"] = q_err;
  res.metrics["q_error_rel"] = q_star_norm > 0 ? q_err / q_star_norm : q_err;
  res.metrics["samples_total"] = samples_total;
  // Ties: Q* is known to about γ/(1−γ)·1e-9; actions closer than 1e-7·max(1, ‖Q*‖∞) are equal.
  res.metrics["policy_agreement"] =
      policy_agreement(q_final, q_star, 1e-7 * std::max(1.0, q_star_norm));
  res.metrics["qstar_rank99"] = energy_rank(sv, 0.99);
  res.metrics["qstar_rank999"] = energy_rank(sv, 0.999);
  ctx.throw_if_cancelled();
  res.metrics["return_mean"] =
      greedy_return(task, q_final, gamma, rollout_count, rollout_steps, ctx.seed, pool);
  ctx.progress(1.0);
  return res;
}

// Q and Q* take 8·|S|·|A| bytes each and exact VI's quadrature operator about 7·4·12 bytes per
// entry: 2e7 entries is a few GB in all, past what one task of a sweep should take.
constexpr std::int64_t max_entries = 20'000'000;

void check_lowrank_q(const Params& p) {
  const auto n_s = p.get_int("n_s"), n_a = p.get_int("n_a");
  if (n_s * n_s * n_a > max_entries)
    throw param_error("n_s", "n_s^2 * n_a = " + std::to_string(n_s * n_s * n_a) +
                                 " Q entries exceeds the limit of " + std::to_string(max_entries) +
                                 "; lower n_s or n_a");
  if (p.get_string("method") != "lowrank") return;  // anchors and rank are unused otherwise
  const auto anchors = p.get_int("anchors"), rank = p.get_int("rank");
  if (rank > anchors)
    throw param_error("rank", "must be <= anchors (" + std::to_string(anchors) + "), got " +
                                  std::to_string(rank));
  if (anchors > n_a)
    throw param_error("anchors", "must be <= n_a (" + std::to_string(n_a) + "), got " +
                                     std::to_string(anchors));
  if (anchors > n_s * n_s)
    throw param_error("anchors", "must be <= the number of states n_s^2 (" +
                                     std::to_string(n_s * n_s) + "), got " +
                                     std::to_string(anchors));
}

}  // namespace

Experiment make_lowrank_q_experiment() {
  Experiment e;
  e.name = "lowrank_q";
  e.summary = "Q-value iteration with low-rank matrix estimation vs full Monte Carlo "
              "(Shah et al., NeurIPS 2020)";
  using S = std::string;
  using I = std::int64_t;
  e.params = {
      {.name = "env", .type = ParamType::choice, .default_value = S("double_integrator"),
       .help = "control task, discretised on an n_s x n_s state grid",
       .choices = {"double_integrator", "pendulum", "mountain_car"}},
      {.name = "n_s", .type = ParamType::integer, .default_value = I{25},
       .help = "grid points per state dimension (|S| = n_s^2)", .min = 2.0, .max = 400.0},
      {.name = "n_a", .type = ParamType::integer, .default_value = I{50},
       .help = "actions, evenly spaced in [-1, 1]", .min = 2.0, .max = 10000.0},
      {.name = "gamma", .type = ParamType::real, .default_value = 0.9, .help = "discount factor",
       .min = 0.0, .max = 1.0, .min_open = true, .max_open = true},
      {.name = "sigma", .type = ParamType::real, .default_value = 0.2,
       .help = "std. dev. of the velocity noise (mountain_car uses 0.01*sigma)", .min = 0.0,
       .max = 100.0},
      {.name = "method", .type = ParamType::choice, .default_value = S("lowrank"),
       .help = "exact: quadrature VI (Q* itself); full: Monte Carlo VI on all (s,a); lowrank: "
               "Monte Carlo on anchor rows/columns + matrix estimation",
       .choices = {"exact", "full", "lowrank"}},
      {.name = "iterations", .type = ParamType::integer, .default_value = I{60},
       .help = "Monte Carlo value-iteration rounds T (full, lowrank)", .min = 1.0, .max = 1e6},
      {.name = "samples", .type = ParamType::integer, .default_value = I{5},
       .help = "next states N drawn per evaluated (s,a) entry and round", .min = 1.0, .max = 1e6},
      {.name = "anchors", .type = ParamType::integer, .default_value = I{8},
       .help = "anchor states and anchor actions K drawn per round (lowrank); <= n_a, n_s^2",
       .min = 1.0, .max = 1e6},
      {.name = "rank", .type = ParamType::integer, .default_value = I{3},
       .help = "singular values kept by the truncated pseudo-inverse (lowrank); <= anchors",
       .min = 1.0, .max = 1e6},
      {.name = "anchor_rule", .type = ParamType::choice, .default_value = S("random"),
       .help = "random: K uniform without replacement; spread: one uniform draw in each of K "
               "equal index blocks",
       .choices = {"random", "spread"}},
  };
  e.metrics = {
      {.name = "q_error_inf", .help = "sup-norm error ||Q_T - Q*||_inf"},
      {.name = "q_error_rel", .help = "||Q_T - Q*||_inf / ||Q*||_inf"},
      {.name = "samples_total", .help = "simulator calls (next-state draws) of the run",
       .unit = "calls"},
      {.name = "policy_agreement",
       .help = "fraction of grid states where Q_T's greedy action is optimal for Q* (up to ties)"},
      {.name = "qstar_rank99", .help = "singular values of Q* holding 99% of its Frobenius energy"},
      {.name = "qstar_rank999",
       .help = "singular values of Q* holding 99.9% of its Frobenius energy"},
      {.name = "return_mean",
       .help = "mean discounted return of Q_T's greedy policy, 100 rollouts x 200 steps"},
  };
  e.series = {
      {.name = "error_by_iteration", .help = "||Q_t - Q*||_inf after each round (exact: sweep)",
       .axis = "iteration"},
      {.name = "samples_by_iteration", .help = "cumulative simulator calls after each round",
       .unit = "calls", .axis = "iteration"},
      {.name = "qstar_singular_values", .help = "singular values of Q*, descending",
       .axis = "index"},
  };
  e.plots = {
      {.title = "error against samples", .x = "samples_total", .y = "q_error_inf",
       .group_by = "method", .logx = true, .logy = true},  // diverging runs span decades
      {.title = "error by iteration", .y = "error_by_iteration", .group_by = "method",
       .series = "error_by_iteration", .logy = true},
      {.title = "spectrum of Q*", .y = "qstar_singular_values", .group_by = "env",
       .series = "qstar_singular_values", .logy = true},
  };
  e.check = check_lowrank_q;
  e.run = run_lowrank_q;
  return e;
}

}  // namespace mpisweep
