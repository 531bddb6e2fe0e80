// Numerics of the moe_cl experiment; equations and sources are stated in
// include/mpisweep/experiments/moe_cl/moe_cl.hpp and next to each step below.
#include <mpisweep/experiments/moe_cl/moe_cl.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace mpisweep::moe_cl {

namespace {

// Streams of the run's seed, one per source of randomness, so the task sequence does not depend
// on how many routing-noise numbers were drawn (it is the same for every M).
constexpr std::uint64_t problem_stream = 1;
constexpr std::uint64_t task_stream = 2;
constexpr std::uint64_t routing_stream = 3;

int argmax(const Eigen::VectorXd& v) {
  Eigen::Index i = 0;
  v.maxCoeff(&i);  // first maximal index on ties
  return static_cast<int>(i);
}

}  // namespace

Config config_from_params(const Params& p) {
  Config c;
  c.d = static_cast<int>(p.get_int("d"));
  c.s = static_cast<int>(p.get_int("s"));
  c.clusters = static_cast<int>(p.get_int("clusters"));
  c.experts = static_cast<int>(p.get_int("experts"));
  c.sigma = p.get_real("sigma");
  c.beta = p.get_real("beta");
  c.eta = p.get_real("eta");
  c.alpha = p.get_real("alpha");
  c.lambda = p.get_real("lambda");
  c.T = p.get_int("T");
  c.T1 = p.get_int("T1");
  c.terminate = p.get_bool("terminate");
  c.termination = p.get_string("termination") == "paper" ? Termination::paper : Termination::fixed;
  c.Gamma = p.get_real("Gamma");
  c.aux_loss = p.get_string("aux_loss") == "current" ? AuxLoss::current : AuxLoss::averaged;
  c.record_every = p.get_int("record_every");
  return c;
}

std::int64_t effective_T1(const Config& c) {
  if (c.T1 > 0) return c.T1;
  return static_cast<std::int64_t>(std::ceil(static_cast<double>(c.experts) / c.eta));
}

Eigen::VectorXd min_norm_update(const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                                const Eigen::VectorXd& w) {
  // w' = w + X a with (XᵀX) a = y − Xᵀw: Xᵀw' = y, and w' − w lies in range(X), which makes it
  // the least-norm correction. XᵀX is s×s symmetric positive definite for full column rank.
  const Eigen::MatrixXd gram = X.transpose() * X;
  const Eigen::LLT<Eigen::MatrixXd> llt(gram);
  if (llt.info() != Eigen::Success)
    throw error("moe_cl: XᵀX is not positive definite (are sigma and s sensible?)");
  const Eigen::VectorXd a = llt.solve(y - X.transpose() * w);
  return w + X * a;
}

Eigen::VectorXd softmax(const Eigen::VectorXd& h) {
  const Eigen::VectorXd e = (h.array() - h.maxCoeff()).exp();
  return e / e.sum();
}

Eigen::VectorXd loss_weights(const Eigen::VectorXd& dw_norm, const Eigen::VectorXd& load_fraction,
                             double alpha, AuxLoss aux, std::int64_t t) {
  // a_m = α M f^(m), divided by t where the paper averages π over the rounds: of
  // P_t^(m) = (1/t) Σ_{τ≤t} π_m(X_τ, Θ_τ) only the τ = t term depends on Θ_t.
  const double M = static_cast<double>(dw_norm.size());
  const double scale = aux == AuxLoss::averaged ? alpha * M / static_cast<double>(t) : alpha * M;
  return dw_norm + scale * load_fraction;
}

double gate_loss(const Eigen::MatrixXd& theta, const Eigen::VectorXd& xbar,
                 const Eigen::VectorXd& weights) {
  return softmax(theta.transpose() * xbar).dot(weights);
}

Eigen::MatrixXd gate_gradient(const Eigen::MatrixXd& theta, const Eigen::VectorXd& xbar,
                              const Eigen::VectorXd& weights) {
  // ∂π_m/∂h_k = π_m (δ_mk − π_k) and ∂h_k/∂θ^(k) = x̄, so
  // ∂L/∂θ^(k) = [c_k π_k − π_k Σ_m c_m π_m] x̄ = π_k (c_k − L) x̄.
  const Eigen::VectorXd pi = softmax(theta.transpose() * xbar);
  const double L = pi.dot(weights);
  const Eigen::VectorXd g = pi.array() * (weights.array() - L);
  return xbar * g.transpose();
}

double cluster_coverage(const Eigen::MatrixXd& counts) {
  // Each expert with tasks owns its majority cluster (first on ties); count the clusters with
  // tasks that some expert owns.
  const Eigen::Index N = counts.rows();
  std::vector<bool> owned(static_cast<std::size_t>(N), false);
  for (Eigen::Index m = 0; m < counts.cols(); ++m) {
    if (counts.col(m).sum() <= 0) continue;
    Eigen::Index n = 0;
    counts.col(m).maxCoeff(&n);
    owned[static_cast<std::size_t>(n)] = true;
  }
  int seen = 0, covered = 0;
  for (Eigen::Index n = 0; n < N; ++n) {
    if (counts.row(n).sum() <= 0) continue;
    ++seen;
    covered += owned[static_cast<std::size_t>(n)];
  }
  return seen > 0 ? static_cast<double>(covered) / seen : std::numeric_limits<double>::quiet_NaN();
}

double expert_purity(const Eigen::MatrixXd& counts) {
  int used = 0;
  double share = 0;
  for (Eigen::Index m = 0; m < counts.cols(); ++m) {
    const double total = counts.col(m).sum();
    if (total <= 0) continue;
    ++used;
    share += counts.col(m).maxCoeff() / total;
  }
  return used > 0 ? share / used : std::numeric_limits<double>::quiet_NaN();
}

Problem make_problem(const Config& c, std::uint64_t seed) {
  Rng rng(seed, problem_stream);
  Problem p;
  p.truths.resize(c.d, c.clusters);
  for (Eigen::Index j = 0; j < p.truths.cols(); ++j)
    for (Eigen::Index i = 0; i < p.truths.rows(); ++i)
      p.truths(i, j) = rng.normal() / std::sqrt(static_cast<double>(c.d));
  // Orthonormal signals: modified Gram–Schmidt on Gaussian vectors (redrawn in the measure-zero
  // case of a dependent draw), i.e. a uniformly random orthonormal N-frame.
  p.signals.resize(c.d, c.clusters);
  for (Eigen::Index j = 0; j < p.signals.cols(); ++j) {
    for (;;) {
      Eigen::VectorXd v(c.d);
      for (auto& x : v) x = rng.normal();
      for (Eigen::Index k = 0; k < j; ++k) v -= p.signals.col(k).dot(v) * p.signals.col(k);
      const double n = v.norm();
      if (n > 1e-8) {
        p.signals.col(j) = v / n;
        break;
      }
    }
  }
  return p;
}

TaskStream::TaskStream(const Config& c, const Problem& problem, std::uint64_t seed)
    : c_(c), problem_(problem), rng_(seed, task_stream) {}

Task TaskStream::next() {
  Task t;
  t.cluster = static_cast<int>(rng_.below(static_cast<std::uint64_t>(c_.clusters)));
  const auto signal_col = static_cast<Eigen::Index>(rng_.below(static_cast<std::uint64_t>(c_.s)));
  t.X.resize(c_.d, c_.s);
  for (Eigen::Index j = 0; j < c_.s; ++j) {
    if (j == signal_col) {
      t.X.col(j) = c_.beta * problem_.signals.col(t.cluster);
    } else {
      for (Eigen::Index i = 0; i < c_.d; ++i) t.X(i, j) = c_.sigma * rng_.normal();
    }
  }
  t.y = t.X.transpose() * problem_.truths.col(t.cluster);
  return t;
}

namespace {

// Forgetting after round t (spec "Metrics"):
//   F_t = 1/(t−1) Σ_{τ<t} [E_τ(w_t^(m_τ)) − E_τ(w_τ^(m_τ))],  E_τ(w) = ‖w − w_{n_τ}‖².
// The τ = t term would be zero, so both sums may run over τ ≤ t: the first is
// Σ_{n,m} count(n, m)·‖w_t^(m) − w_n‖² with the routing counts so far, the second is kept as a
// running sum (`learned_error`).
double forgetting(const Eigen::MatrixXd& experts, const Eigen::MatrixXd& truths,
                  const Eigen::MatrixXd& counts, double learned_error, std::int64_t t) {
  if (t < 2) return 0.0;
  double now = 0;
  for (Eigen::Index n = 0; n < counts.rows(); ++n)
    for (Eigen::Index m = 0; m < counts.cols(); ++m)
      if (counts(n, m) > 0) now += counts(n, m) * (experts.col(m) - truths.col(n)).squaredNorm();
  return (now - learned_error) / static_cast<double>(t - 1);
}

// The noiseless routing of the tasks so far by the gate now: the clusters × experts table of
// (n_τ, m'_τ), τ ≤ t, m'_τ = argmax_m θ_t^(m)ᵀ x̄_τ (first index on ties).
Eigen::MatrixXd gate_routing(const Eigen::MatrixXd& theta, const Eigen::MatrixXd& xbars,
                             const std::vector<int>& clusters, int n_clusters, std::int64_t t) {
  Eigen::MatrixXd table = Eigen::MatrixXd::Zero(n_clusters, theta.cols());
  const Eigen::MatrixXd h = theta.transpose() * xbars.leftCols(t);  // M × t
  for (Eigen::Index tau = 0; tau < t; ++tau) {
    Eigen::Index m = 0;
    h.col(tau).maxCoeff(&m);
    table(clusters[static_cast<std::size_t>(tau)], m) += 1;
  }
  return table;
}

// Generalisation error after round t (spec "Metrics"):
//   G_t = 1/t Σ_{τ≤t} E_τ(w_t^(m'_τ)) = 1/t Σ_{n,m} R(n, m) ‖w_t^(m) − w_n‖²,
// R the noiseless routing table of the gate now (gate_routing).
double generalisation(const Eigen::MatrixXd& experts, const Eigen::MatrixXd& truths,
                      const Eigen::MatrixXd& routing, std::int64_t t) {
  double sum = 0;
  for (Eigen::Index n = 0; n < routing.rows(); ++n)
    for (Eigen::Index m = 0; m < routing.cols(); ++m)
      if (routing(n, m) > 0) sum += routing(n, m) * (experts.col(m) - truths.col(n)).squaredNorm();
  return sum / static_cast<double>(t);
}

}  // namespace

Outcome simulate(const Config& c, const RunContext& ctx) {
  const Problem problem = make_problem(c, ctx.seed);
  TaskStream tasks(c, problem, ctx.seed);
  Rng routing_noise(ctx.seed, routing_stream);

  const int M = c.experts, N = c.clusters;
  const std::int64_t T1 = effective_T1(c);
  Eigen::MatrixXd experts = Eigen::MatrixXd::Zero(c.d, M);    // w^(m), all zero at start
  Eigen::MatrixXd theta = Eigen::MatrixXd::Zero(c.d, M);      // θ^(m), all zero at start
  Eigen::MatrixXd counts = Eigen::MatrixXd::Zero(N, M);       // all rounds
  Eigen::MatrixXd counts_late = Eigen::MatrixXd::Zero(N, M);  // rounds t > T/2
  Eigen::VectorXd load = Eigen::VectorXd::Zero(M);
  Eigen::MatrixXd xbars(c.d, c.T);  // x̄_τ of every round, for G_t
  Eigen::VectorXd dw_norm = Eigen::VectorXd::Zero(M);
  Eigen::VectorXd noisy(M);
  // The noiseless cluster → expert map, argmax_m θ^(m)ᵀ v_n (β > 0 does not change the argmax);
  // all ties at the zero gate, so expert 0 at start.
  std::vector<int> cluster_map(static_cast<std::size_t>(N), 0);
  double learned_error = 0;  // Σ_τ E_τ(w_τ^(m_τ))
  bool gate_active = M > 1;
  std::int64_t convergence = 0, last_update = 0;

  Outcome out;
  out.cluster_of_round.reserve(static_cast<std::size_t>(c.T));
  out.expert_of_round.reserve(static_cast<std::size_t>(c.T));
  const auto n_records = static_cast<std::size_t>(c.T / c.record_every);
  out.F_t.reserve(n_records);
  out.G_t.reserve(n_records);

  for (std::int64_t t = 1; t <= c.T; ++t) {
    if (t % 100 == 0) {
      ctx.throw_if_cancelled();
      ctx.progress(static_cast<double>(t) / static_cast<double>(c.T));
    }
    const Task task = tasks.next();
    const int n = task.cluster;
    const Eigen::VectorXd xbar = task.X.rowwise().sum();  // x̄_t = Σ_i x_{t,i}
    xbars.col(t - 1) = xbar;

    // Noisy top-1 routing: m_t = argmax_m [θ^(m)ᵀ x̄_t + r_m], r_m ~ Unif[0, λ].
    const Eigen::VectorXd h = theta.transpose() * xbar;
    for (int m = 0; m < M; ++m) noisy[m] = h[m] + routing_noise.uniform(0.0, c.lambda);
    const int mt = argmax(noisy);

    // The routed expert moves to the min-norm interpolant of the task; the others stay.
    const Eigen::VectorXd before = experts.col(mt);
    experts.col(mt) = min_norm_update(task.X, task.y, before);
    dw_norm.setZero();
    dw_norm[mt] = (experts.col(mt) - before).norm();
    load[mt] += 1;
    counts(n, mt) += 1;
    if (2 * t > c.T) counts_late(n, mt) += 1;
    learned_error += (experts.col(mt) - problem.truths.col(n)).squaredNorm();

    // Termination. fixed: no update after T1. paper (Algorithm 1): after T1, stop for good at the
    // first round whose routed expert has a near-tie |h_m − h_{m_t}| < Γ, m ≠ m_t.
    if (gate_active && c.terminate && t > T1) {
      if (c.termination == Termination::fixed) {
        gate_active = false;
      } else {
        for (int m = 0; m < M; ++m)
          if (m != mt && std::abs(h[m] - h[mt]) < c.Gamma) gate_active = false;
      }
    }
    // Gate step θ ← θ − η ∇L at the gate that routed the round.
    if (gate_active) {
      const Eigen::VectorXd f = load / static_cast<double>(t);
      theta -= c.eta * gate_gradient(theta, xbar, loss_weights(dw_norm, f, c.alpha, c.aux_loss, t));
      last_update = t;
      const Eigen::MatrixXd hs = theta.transpose() * problem.signals;  // M × N
      for (int k = 0; k < N; ++k) {
        const int m = argmax(Eigen::VectorXd(hs.col(k)));
        if (m != cluster_map[static_cast<std::size_t>(k)]) convergence = t;
        cluster_map[static_cast<std::size_t>(k)] = m;
      }
    }

    out.cluster_of_round.push_back(n);
    out.expert_of_round.push_back(mt);

    if (t % c.record_every == 0) {
      out.F_t.push_back(forgetting(experts, problem.truths, counts, learned_error, t));
      out.G_t.push_back(generalisation(experts, problem.truths,
                                       gate_routing(theta, xbars, out.cluster_of_round, N, t), t));
    }
  }

  out.F_T = forgetting(experts, problem.truths, counts, learned_error, c.T);
  const Eigen::MatrixXd final_routing = gate_routing(theta, xbars, out.cluster_of_round, N, c.T);
  out.G_T = generalisation(experts, problem.truths, final_routing, c.T);
  out.convergence_round = static_cast<double>(convergence);
  out.gate_stop_round = static_cast<double>(last_update);
  out.cluster_coverage = cluster_coverage(counts_late);
  out.expert_purity = expert_purity(counts_late);
  // Load balance: max_m load_m / (T / M).
  out.load_max_over_mean = load.maxCoeff() * M / static_cast<double>(c.T);

  out.routing_counts.reserve(static_cast<std::size_t>(N) * M);
  for (Eigen::Index i = 0; i < N; ++i)
    for (Eigen::Index m = 0; m < M; ++m) out.routing_counts.push_back(counts(i, m));
  ctx.progress(1.0);
  return out;
}

}  // namespace mpisweep::moe_cl
