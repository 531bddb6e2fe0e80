// The lowrank_q experiment (spec lowrank_q.md; Shah, Song, Xu, Yang, NeurIPS 2020): value
// iteration on a discretised control task, exact, by full Monte Carlo, or by low-rank Monte Carlo
// with matrix estimation, each compared with Q* of the same task.
#include <mpisweep/experiments/lowrank_q/analysis.hpp>
#include <mpisweep/experiments/lowrank_q/mdp.hpp>
#include <mpisweep/experiments/lowrank_q/value_iteration.hpp>
#include <mpisweep/experiments/registry.hpp>

#include <chrono>
#include <cmath>
#include <limits>

namespace mpisweep {

namespace {
using namespace lowrank_q;

constexpr int rollout_count = 100;  // spec "Metrics": 100 rollouts of 200 steps
constexpr int rollout_steps = 200;
constexpr int heatmap_points = 50;  // the policy heatmaps' raster per axis

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TaskConfig config_of(const Params& p) {
  return task_config(parse_env(p.get_string("env")), parse_preset(p.get_string("preset")),
                     static_cast<int>(p.get_int("n_s")), static_cast<int>(p.get_int("n_a")),
                     p.get_real("sigma"));
}

// Greedy action (its value, not its index) of Q at the heatmap raster, Q(s, ·) interpolated at
// the continuous state as in the rollouts and in SV-RL's viz_policy. Row-major, first
// coordinate slowest.
std::vector<double> greedy_heatmap(const ControlTask& task, const QMatrix& q) {
  std::vector<double> out;
  out.reserve(heatmap_points * heatmap_points);
  Eigen::RowVectorXd qs(task.num_actions());
  for (int i = 0; i < heatmap_points; ++i)
    for (int j = 0; j < heatmap_points; ++j) {
      const Stencil st = task.locate(task.raster_state(i, j, heatmap_points));
      qs.setZero();
      for (int k = 0; k < st.size; ++k) qs += st.weight[k] * q.row(st.index[k]);
      Eigen::Index a;
      qs.maxCoeff(&a);
      out.push_back(task.action(static_cast<int>(a)));
    }
  return out;
}

Result run_lowrank_q(const Params& p, const RunContext& ctx) {
  const Preset preset = parse_preset(p.get_string("preset"));
  const ControlTask task(config_of(p));
  const double gamma = preset == Preset::svrl ? task.config().gamma : p.get_real("gamma");
  const int quadrature = static_cast<int>(p.get_int("quadrature"));
  const std::string& method = p.get_string("method");
  const int iterations = static_cast<int>(p.get_int("iterations"));
  ThreadPool pool(std::max(1, ctx.threads));

  // Q* once per task by policy iteration; it depends on the task, γ and the quadrature only.
  const double exact_share = method == "exact" ? 0.4 : 0.3;  // of the progress bar
  auto exact_hook = [&](int k, const QMatrix&) {
    ctx.throw_if_cancelled();
    ctx.progress(exact_share * (1 - std::pow(0.5, k)));
  };
  const auto t0 = std::chrono::steady_clock::now();
  const OptimalResult exact = optimal_q(task, gamma, quadrature, pool, exact_hook);
  const double qstar_seconds = seconds_since(t0);
  const QMatrix& q_star = exact.q;
  const double q_star_norm = q_star.cwiseAbs().maxCoeff();
  // Convergence of the reference: the change of Q* when the quadrature order doubles.
  double quadrature_error = 0;
  if (!task.deterministic()) {
    ctx.throw_if_cancelled();
    const QMatrix q2 = optimal_q(task, gamma, 2 * quadrature, pool).q;
    quadrature_error =
        (q2 - q_star).cwiseAbs().maxCoeff() / std::max(1e-300, q2.cwiseAbs().maxCoeff());
  }
  ctx.progress(exact_share);

  Result res;
  auto& err = res.series["error_by_iteration"];
  auto& samples = res.series["samples_by_iteration"];
  QMatrix q_final;
  double samples_total = 0, condition = 0;
  if (method == "exact") {
    // The curve of policy iteration itself: ‖Q_k − Q*‖∞ after each improvement.
    optimal_q(task, gamma, quadrature, pool, [&](int k, const QMatrix& q) {
      ctx.throw_if_cancelled();
      err.push_back((q - q_star).cwiseAbs().maxCoeff());
      ctx.progress(0.4 + 0.4 * std::min(1.0, double(k) / exact.improvements));
    });
    samples.assign(err.size(), 0.0);
    q_final = q_star;
  } else {
    McOptions mo{
        .gamma = gamma,
        .iterations = iterations,
        .samples = static_cast<int>(p.get_int("samples")),
        .lowrank = method == "lowrank",
        .anchors = static_cast<int>(p.get_int("anchors")),
        .rank = static_cast<int>(p.get_int("rank")),
        .anchor_rule =
            p.get_string("anchor_rule") == "spread" ? AnchorRule::spread : AnchorRule::random,
        .estimator = p.get_string("estimator") == "paper" ? Estimator::paper : Estimator::truncated,
        .seed = ctx.seed};
    McResult mc = mc_value_iteration(task, mo, pool, [&](int t, const QMatrix& q) {
      ctx.throw_if_cancelled();
      err.push_back((q - q_star).cwiseAbs().maxCoeff());
      ctx.progress(exact_share + (0.8 - exact_share) * t / iterations);
    });
    for (auto c : mc.samples_by_iteration) samples.push_back(static_cast<double>(c));
    samples_total = samples.empty() ? 0.0 : samples.back();
    condition = mc.anchor_condition;
    q_final = std::move(mc.q);
  }

  const Eigen::VectorXd sv = singular_values(q_star);
  res.series["qstar_singular_values"].assign(sv.data(), sv.data() + sv.size());
  const double q_err = (q_final - q_star).cwiseAbs().maxCoeff();
  res.metrics["q_error_inf"] = q_err;
  res.metrics["q_error_rel"] = q_star_norm > 0 ? q_err / q_star_norm : q_err;
  res.metrics["samples_total"] = samples_total;
  // Ties: Q* is known to about 1e-12 relative; actions closer than 1e-7·max(1, ‖Q*‖∞) are equal.
  res.metrics["policy_agreement"] =
      policy_agreement(q_final, q_star, 1e-7 * std::max(1.0, q_star_norm));
  res.metrics["qstar_rank99"] = energy_rank(sv, 0.99);
  res.metrics["qstar_rank999"] = energy_rank(sv, 0.999);
  res.metrics["qstar_quadrature_error"] = quadrature_error;
  res.metrics["qstar_seconds"] = qstar_seconds;
  res.metrics["anchor_condition"] = condition;
  ctx.throw_if_cancelled();

  // The policy: π_T greedy in Q_T on the grid states, valued exactly with the operator of Q*.
  // A state-only part of Q_T − Q* changes neither π_T nor the advantage A = Q − max_a Q.
  if (!std::isfinite(q_err)) {
    const double inf = std::numeric_limits<double>::infinity();
    res.metrics["policy_loss"] = res.metrics["policy_loss_mean"] = inf;
    res.metrics["advantage_error_inf"] = inf;
  } else {
    const Eigen::VectorXd v_pi =
        evaluate_policy(task, greedy_policy(q_final), gamma, quadrature, pool, &exact.v);
    const Eigen::VectorXd loss = exact.v - v_pi;  // ≥ 0 up to the evaluation tolerance
    res.metrics["policy_loss"] = loss.maxCoeff();
    res.metrics["policy_loss_mean"] = loss.mean();
    res.metrics["advantage_error_inf"] = advantage_error(q_final, q_star);
  }
  ctx.progress(0.9);
  res.series["greedy_action"] = greedy_heatmap(task, q_final);
  res.series["qstar_greedy_action"] = greedy_heatmap(task, q_star);
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
  if (parse_preset(p.get_string("preset")) == Preset::svrl) {
    // The preset fixes these; a value given beside it would be silently ignored.
    if (n_s != 25) throw param_error("n_s", "preset svrl fixes the grid; leave n_s unset");
    if (n_a != 50) throw param_error("n_a", "preset svrl fixes 1000 actions; leave n_a unset");
    if (p.get_real("gamma") != 0.9) throw param_error("gamma", "preset svrl fixes gamma 0.95");
    if (p.get_real("sigma") != 0.2) throw param_error("sigma", "preset svrl fixes the noise");
  }
  const TaskConfig cfg = config_of(p);
  std::int64_t states = 1;
  for (int d = 0; d < cfg.dims; ++d) states *= cfg.points[d];
  if (states * cfg.n_a > max_entries)
    throw param_error("n_s", "|S| * |A| = " + std::to_string(states * cfg.n_a) +
                                 " Q entries exceeds the limit of " + std::to_string(max_entries) +
                                 "; lower n_s or n_a");
  if (p.get_string("method") != "lowrank") return;  // anchors and rank are unused otherwise
  const auto anchors = p.get_int("anchors"), rank = p.get_int("rank");
  if (p.get_string("estimator") == "truncated" && rank > anchors)
    throw param_error("rank", "must be <= anchors (" + std::to_string(anchors) + "), got " +
                                  std::to_string(rank));
  if (anchors > cfg.n_a)
    throw param_error("anchors", "must be <= the number of actions (" + std::to_string(cfg.n_a) +
                                     "), got " + std::to_string(anchors));
  if (anchors > states)
    throw param_error("anchors", "must be <= the number of states (" + std::to_string(states) +
                                     "), got " + std::to_string(anchors));
}

}  // namespace

Experiment make_lowrank_q_experiment() {
  Experiment e;
  e.name = "lowrank_q";
  e.summary =
      "Q-value iteration with low-rank matrix estimation vs full Monte Carlo "
      "(Shah et al., NeurIPS 2020)";
  using S = std::string;
  using I = std::int64_t;
  e.params = {
      {.name = "env",
       .type = ParamType::choice,
       .default_value = S("double_integrator"),
       .help = "control task on a grid of n_s points per state dimension (cartpole: 4-D)",
       .choices = {"double_integrator", "pendulum", "mountain_car", "cartpole"}},
      {.name = "preset",
       .type = ParamType::choice,
       .default_value = S("none"),
       .help = "svrl: SV-RL's grid, 1000 actions, gamma 0.95, noise and pendulum dt for env "
               "(n_s, n_a, gamma, sigma must then stay unset); none: the parameters below",
       .choices = {"none", "svrl"}},
      {.name = "n_s",
       .type = ParamType::integer,
       .default_value = I{25},
       .help = "grid points per state dimension (|S| = n_s^2, cartpole n_s^4)",
       .min = 2.0,
       .max = 400.0},
      {.name = "n_a",
       .type = ParamType::integer,
       .default_value = I{50},
       .help = "actions, evenly spaced in [-1, 1] (cartpole: force in [-10, 10])",
       .min = 2.0,
       .max = 10000.0},
      {.name = "gamma",
       .type = ParamType::real,
       .default_value = 0.9,
       .help = "discount factor",
       .min = 0.0,
       .max = 1.0,
       .min_open = true,
       .max_open = true},
      {.name = "sigma",
       .type = ParamType::real,
       .default_value = 0.2,
       .help = "std. dev. of the velocity noise (mountain_car uses 0.01*sigma)",
       .min = 0.0,
       .max = 100.0},
      {.name = "quadrature",
       .type = ParamType::integer,
       .default_value = I{6},
       .help = "Gauss-Legendre nodes per smooth piece of the expectation over the noise (split "
               "at the kinks of the interpolated dynamics) in Q* and the exact policy "
               "evaluation; Q* is also computed with twice as many (qstar_quadrature_error)",
       .min = 1.0,
       .max = 512.0},
      {.name = "method",
       .type = ParamType::choice,
       .default_value = S("lowrank"),
       .help = "exact: Q* itself (policy iteration, quadrature); full: Monte Carlo VI on all "
               "(s,a); lowrank: Monte Carlo on anchor rows/columns + matrix estimation",
       .choices = {"exact", "full", "lowrank"}},
      {.name = "iterations",
       .type = ParamType::integer,
       .default_value = I{60},
       .help = "Monte Carlo value-iteration rounds T (full, lowrank)",
       .min = 1.0,
       .max = 1e6},
      {.name = "samples",
       .type = ParamType::integer,
       .default_value = I{5},
       .help = "next states N drawn per evaluated (s,a) entry and round",
       .min = 1.0,
       .max = 1e6},
      {.name = "anchors",
       .type = ParamType::integer,
       .default_value = I{8},
       .help = "anchor states and anchor actions K drawn per round (lowrank); <= |A|, |S|",
       .min = 1.0,
       .max = 1e6},
      {.name = "rank",
       .type = ParamType::integer,
       .default_value = I{3},
       .help = "singular values kept by the truncated pseudo-inverse (lowrank); <= anchors",
       .min = 1.0,
       .max = 1e6},
      {.name = "estimator",
       .type = ParamType::choice,
       .default_value = S("truncated"),
       .help = "lowrank completion: paper = inverse of the K x K anchor block (Shah et al. "
               "Alg. 1, K = r, rank unused; Moore-Penrose where singular); truncated = "
               "pseudo-inverse truncated to rank",
       .choices = {"paper", "truncated"}},
      {.name = "anchor_rule",
       .type = ParamType::choice,
       .default_value = S("random"),
       .help = "random: K uniform without replacement; spread: one uniform draw in each of K "
               "equal index blocks",
       .choices = {"random", "spread"}},
  };
  e.metrics = {
      {.name = "policy_loss",
       .help = "max over grid states of V*(s) - V^pi(s), pi greedy in Q_T, V^pi by exact policy "
               "evaluation with Q*'s quadrature operator (0: an optimal policy)"},
      {.name = "policy_loss_mean", .help = "mean over grid states of V*(s) - V^pi(s)"},
      {.name = "advantage_error_inf",
       .help = "||A_T - A*||_inf with A = Q - max_a Q: Q's error without its state-only part"},
      {.name = "q_error_inf",
       .help = "||Q_T - Q*||_inf; mostly the state-only part of the error, which does not change "
               "the policy: rank methods by policy_loss"},
      {.name = "q_error_rel", .help = "||Q_T - Q*||_inf / ||Q*||_inf"},
      {.name = "samples_total",
       .help = "simulator calls (next-state draws) of the run",
       .unit = "calls"},
      {.name = "policy_agreement",
       .help = "fraction of grid states where Q_T's greedy action is optimal for Q* (up to ties)"},
      {.name = "anchor_condition",
       .help = "largest condition number over the rounds of the part of the K x K anchor block "
               "that the estimator inverts (lowrank; 0 otherwise): the noise amplification "
               "that explains divergence"},
      {.name = "qstar_rank99", .help = "singular values of Q* holding 99% of its Frobenius energy"},
      {.name = "qstar_rank999",
       .help = "singular values of Q* holding 99.9% of its Frobenius energy"},
      {.name = "qstar_quadrature_error",
       .help = "||Q*_2n - Q*_n||_inf / ||Q*_2n||_inf for n = quadrature nodes per piece: how far "
               "the reference is from converged (0: deterministic)"},
      {.name = "qstar_seconds",
       .help = "wall time of computing Q* (policy iteration)",
       .unit = "s",
       .timing = true},
      {.name = "return_mean",
       .help = "mean discounted return of Q_T's greedy policy, 100 rollouts x 200 steps"},
  };
  e.series = {
      {.name = "error_by_iteration",
       .help = "||Q_t - Q*||_inf after each round (exact: policy-iteration step)",
       .axis = "iteration",
       .x_start = 1.0},
      {.name = "samples_by_iteration",
       .help = "cumulative simulator calls after each round",
       .unit = "calls",
       .axis = "iteration",
       .x_start = 1.0},
      {.name = "qstar_singular_values",
       .help = "singular values of Q*, descending",
       .axis = "index",
       .x_start = 1.0},
      {.name = "greedy_action",
       .help = "action of Q_T's greedy policy on a 50 x 50 raster of the first two state "
               "coordinates (the rest 0), the paper's policy heatmap",
       .axis = "state",
       .shape = {heatmap_points, heatmap_points},
       .axes = {"position (x or theta)", "velocity (v or omega or theta_dot)"},
       .storage = {.float32 = true}},
      {.name = "qstar_greedy_action",
       .help = "the same for Q*'s greedy (optimal) policy",
       .axis = "state",
       .shape = {heatmap_points, heatmap_points},
       .axes = {"position (x or theta)", "velocity (v or omega or theta_dot)"},
       .storage = {.float32 = true}},
  };
  e.plots = {
      {.title = "policy loss against samples",
       .x = "samples_total",
       .y = "policy_loss",
       .group_by = "method",
       .logx = true},
      {.title = "error against samples",
       .x = "samples_total",
       .y = "q_error_inf",
       .group_by = "method",
       .logx = true,
       .logy = true},  // diverging runs span decades
      {.title = "error by iteration",
       .y = "error_by_iteration",
       .group_by = "method",
       .series = "error_by_iteration",
       .logy = true},
      {.title = "spectrum of Q*",
       .y = "qstar_singular_values",
       .group_by = "env",
       .series = "qstar_singular_values",
       .logy = true},
      {.title = "greedy policy of Q_T",
       .y = "greedy_action",
       .series = "greedy_action",
       .heatmap = true},
      {.title = "optimal policy",
       .y = "qstar_greedy_action",
       .series = "qstar_greedy_action",
       .heatmap = true},
  };
  e.check = check_lowrank_q;
  e.run = run_lowrank_q;
  return e;
}

}  // namespace mpisweep
