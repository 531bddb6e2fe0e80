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
  c.record_every = p.get_int("record_every");
  return c;
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

namespace {
Eigen::VectorXd loss_weights(const Eigen::VectorXd& dw_norm, const Eigen::VectorXd& load_fraction,
                             double alpha) {
  const double M = static_cast<double>(dw_norm.size());
  return dw_norm + alpha * M * load_fraction;  // c_m = ‖Δw^(m)‖ + αM f^(m)
}
}  // namespace

double gate_loss(const Eigen::MatrixXd& theta, const Eigen::VectorXd& xbar,
                 const Eigen::VectorXd& dw_norm, const Eigen::VectorXd& load_fraction,
                 double alpha) {
  const Eigen::VectorXd pi = softmax(theta.transpose() * xbar);
  return pi.dot(loss_weights(dw_norm, load_fraction, alpha));
}

Eigen::MatrixXd gate_gradient(const Eigen::MatrixXd& theta, const Eigen::VectorXd& xbar,
                              const Eigen::VectorXd& dw_norm, const Eigen::VectorXd& load_fraction,
                              double alpha) {
  // ∂π_m/∂h_k = π_m (δ_mk − π_k) and ∂h_k/∂θ^(k) = x̄, so
  // ∂L/∂θ^(k) = [c_k π_k − π_k Σ_m c_m π_m] x̄ = π_k (c_k − L) x̄.
  const Eigen::VectorXd pi = softmax(theta.transpose() * xbar);
  const Eigen::VectorXd c = loss_weights(dw_norm, load_fraction, alpha);
  const double L = pi.dot(c);
  const Eigen::VectorXd g = pi.array() * (c.array() - L);
  return xbar * g.transpose();
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

// Generalisation error after round t (spec "Metrics"):
//   G_t = 1/t Σ_{τ≤t} E_τ(w_t^(m'_τ)),  m'_τ = argmax_m θ_t^(m)ᵀ x̄_τ (the gate now, no noise).
double generalisation(const Eigen::MatrixXd& experts, const Eigen::MatrixXd& theta,
                      const Eigen::MatrixXd& truths, const Eigen::MatrixXd& xbars,
                      const std::vector<int>& clusters, std::int64_t t) {
  // err(n, m) = ‖w_t^(m) − w_n‖², computed once per (n, m).
  Eigen::MatrixXd err(truths.cols(), experts.cols());
  for (Eigen::Index n = 0; n < err.rows(); ++n)
    for (Eigen::Index m = 0; m < err.cols(); ++m)
      err(n, m) = (experts.col(m) - truths.col(n)).squaredNorm();
  const Eigen::MatrixXd h = theta.transpose() * xbars.leftCols(t);  // M × t
  double sum = 0;
  for (Eigen::Index tau = 0; tau < t; ++tau) {
    Eigen::Index m = 0;
    h.col(tau).maxCoeff(&m);
    sum += err(clusters[static_cast<std::size_t>(tau)], m);
  }
  return sum / static_cast<double>(t);
}

}  // namespace

Outcome simulate(const Config& c, const RunContext& ctx) {
  const Problem problem = make_problem(c, ctx.seed);
  TaskStream tasks(c, problem, ctx.seed);
  Rng routing_noise(ctx.seed, routing_stream);

  const int M = c.experts, N = c.clusters;
  Eigen::MatrixXd experts = Eigen::MatrixXd::Zero(c.d, M);  // w^(m), all zero at start
  Eigen::MatrixXd theta = Eigen::MatrixXd::Zero(c.d, M);    // θ^(m), all zero at start
  Eigen::MatrixXd counts = Eigen::MatrixXd::Zero(N, M);     // all rounds
  Eigen::MatrixXd counts_late = Eigen::MatrixXd::Zero(N, M);  // rounds t > T1
  Eigen::VectorXd load = Eigen::VectorXd::Zero(M);
  Eigen::MatrixXd xbars(c.d, c.T);  // x̄_τ of every round, for G_t
  Eigen::VectorXd dw_norm = Eigen::VectorXd::Zero(M);
  Eigen::VectorXd noisy(M);
  std::vector<int> last_expert(static_cast<std::size_t>(N), -1);
  double learned_error = 0;  // Σ_τ E_τ(w_τ^(m_τ))
  std::int64_t last_change = 0;

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
    if (t > c.T1) counts_late(n, mt) += 1;
    learned_error += (experts.col(mt) - problem.truths.col(n)).squaredNorm();

    // Gate step θ ← θ − η ∇L (spec "Model"), while t ≤ T1 under termination, else always.
    if (M > 1 && (!c.terminate || t <= c.T1)) {
      const Eigen::VectorXd f = load / static_cast<double>(t);
      theta -= c.eta * gate_gradient(theta, xbar, dw_norm, f, c.alpha);
    }

    auto& last = last_expert[static_cast<std::size_t>(n)];
    if (last >= 0 && last != mt) last_change = t;
    last = mt;
    out.cluster_of_round.push_back(n);
    out.expert_of_round.push_back(mt);

    if (t % c.record_every == 0) {
      out.F_t.push_back(forgetting(experts, problem.truths, counts, learned_error, t));
      out.G_t.push_back(
          generalisation(experts, theta, problem.truths, xbars, out.cluster_of_round, t));
    }
  }

  out.F_T = forgetting(experts, problem.truths, counts, learned_error, c.T);
  out.G_T = generalisation(experts, theta, problem.truths, xbars, out.cluster_of_round, c.T);
  out.last_routing_change = static_cast<double>(last_change);

  // Specialisation: clusters with tasks after T1 whose tasks all went to one expert.
  // Purity: experts used after T1 that served a single cluster. NaN when no round is after T1.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  int seen = 0, single = 0;
  for (Eigen::Index i = 0; i < N; ++i) {
    const auto used = (counts_late.row(i).array() > 0).count();
    seen += used > 0;
    single += used == 1;
  }
  out.specialisation = seen > 0 ? static_cast<double>(single) / seen : nan;
  seen = single = 0;
  for (Eigen::Index m = 0; m < M; ++m) {
    const auto served = (counts_late.col(m).array() > 0).count();
    seen += served > 0;
    single += served == 1;
  }
  out.purity = seen > 0 ? static_cast<double>(single) / seen : nan;
  // Load balance: max_m load_m / (T / M).
  out.load_max_over_mean = load.maxCoeff() * M / static_cast<double>(c.T);

  out.routing_counts.reserve(static_cast<std::size_t>(N) * M);
  for (Eigen::Index i = 0; i < N; ++i)
    for (Eigen::Index m = 0; m < M; ++m) out.routing_counts.push_back(counts(i, m));
  ctx.progress(1.0);
  return out;
}

}  // namespace mpisweep::moe_cl
