#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/lowrank_q/matrix_estimation.hpp>
#include <mpisweep/experiments/lowrank_q/value_iteration.hpp>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>

namespace mpisweep::lowrank_q {

Quadrature gauss_legendre(int n) {
  if (n < 1) throw internal_error("gauss_legendre: n = " + std::to_string(n) + " < 1");
  // Monic Legendre recurrence P_{k+1} = x P_k − k²/(4k² − 1) P_{k−1}: zero diagonal, √ of
  // those coefficients off it; μ₀ = ∫ 1 dx = 2 over [−1, 1].
  Eigen::MatrixXd j = Eigen::MatrixXd::Zero(n, n);
  for (int k = 1; k < n; ++k) j(k - 1, k) = j(k, k - 1) = k / std::sqrt(4.0 * k * k - 1);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(j);
  Quadrature q;
  q.node.resize(static_cast<std::size_t>(n));
  q.weight.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    q.node[i] = eig.eigenvalues()(i);
    q.weight[i] = 2 * eig.eigenvectors()(0, i) * eig.eigenvectors()(0, i);
  }
  // Symmetrise: the rule is even, so pair node i with n−1−i and average away rounding.
  for (int i = 0; i < n / 2; ++i) {
    const double x = 0.5 * (q.node[n - 1 - i] - q.node[i]);
    const double w = 0.5 * (q.weight[i] + q.weight[n - 1 - i]);
    q.node[i] = -x, q.node[n - 1 - i] = x;
    q.weight[i] = q.weight[n - 1 - i] = w;
  }
  if (n % 2 == 1) q.node[n / 2] = 0;
  return q;
}

NoiseRule::NoiseRule(const Mdp& mdp, int order) : mdp_(&mdp) {
  if (!mdp.deterministic()) legendre_ = gauss_legendre(order);
}

const Quadrature& NoiseRule::rule(int s, int a) {
  rule_.node.clear();
  rule_.weight.clear();
  if (mdp_->deterministic()) {
    rule_.node.push_back(0);
    rule_.weight.push_back(1);
    return rule_;
  }
  mdp_->noise_breaks(s, a, eps_max, breaks_);
  // φ(ε) = exp(−ε²/2)/√(2π); piece [l, u] with centre c and half-width h:
  //   ∫_l^u f(ε) φ(ε) dε ≈ Σ_k h w_k f(c + h t_k) φ(c + h t_k)   (t_k, w_k Gauss–Legendre).
  const double inv_sqrt_2pi = 0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2;
  double total = 0;
  auto piece = [&](double l, double u) {
    if (!(u > l)) return;
    const int parts = static_cast<int>(std::ceil(u - l));  // width ≤ 1 each
    const double width = (u - l) / parts;
    for (int p = 0; p < parts; ++p) {
      const double h = 0.5 * width, c = l + (p + 0.5) * width;
      for (std::size_t k = 0; k < legendre_.node.size(); ++k) {
        const double e = c + h * legendre_.node[k];
        const double w = h * legendre_.weight[k] * inv_sqrt_2pi * std::exp(-0.5 * e * e);
        rule_.node.push_back(e);
        rule_.weight.push_back(w);
        total += w;
      }
    }
  };
  double from = -eps_max;
  for (double b : breaks_) {
    piece(from, b);
    from = std::max(from, b);
  }
  piece(from, eps_max);
  for (double& w : rule_.weight) w /= total;
  return rule_;
}

Eigen::VectorXd state_values(const QMatrix& q) { return q.rowwise().maxCoeff(); }

namespace {

double interpolate(const Stencil& st, const double* v) {
  double s = 0;
  for (int i = 0; i < st.size; ++i) s += st.weight[i] * v[st.index[i]];
  return s;
}

// Row (s, a) of the quadrature operator, E_ε V(s') ≈ Σ_k p_k V(j_k): the stencils of all nodes,
// sorted by state and merged, so the summation order is fixed and repeated states count once.
void expected_row(const Mdp& mdp, int s, int a, NoiseRule& noise,
                  std::vector<std::pair<std::int32_t, double>>& buf,
                  std::vector<std::pair<std::int32_t, double>>& row) {
  buf.clear();
  row.clear();
  const Quadrature& rule = noise.rule(s, a);
  for (std::size_t k = 0; k < rule.node.size(); ++k) {
    const Stencil st = mdp.next(s, a, rule.node[k]);
    for (int i = 0; i < st.size; ++i)
      if (st.weight[i] != 0) buf.emplace_back(st.index[i], rule.weight[k] * st.weight[i]);
  }
  std::sort(buf.begin(), buf.end());
  for (const auto& [j, p] : buf) {
    if (!row.empty() && row.back().first == j)
      row.back().second += p;
    else
      row.emplace_back(j, p);
  }
}

// The expected next-state operator of the quadrature as a sparse matrix in CSR form:
// E_ε V(s'(s, a, ε)) ≈ Σ_k prob[k] · V(index[k]) for k in [offset[sa], offset[sa+1]).
struct ExpectedTransition {
  std::vector<std::int64_t> offset;
  std::vector<std::int32_t> index;
  std::vector<double> prob;
};

ExpectedTransition build_expected_transition(const Mdp& mdp, int order, ThreadPool& pool) {
  const int ns = mdp.num_states(), na = mdp.num_actions();
  const NoiseRule prototype(mdp, order);
  std::vector<std::vector<std::pair<std::int32_t, double>>> rows(static_cast<std::size_t>(ns) * na);
  pool.parallel_for(static_cast<std::size_t>(ns), [&](std::size_t b, std::size_t e) {
    std::vector<std::pair<std::int32_t, double>> buf;
    NoiseRule noise = prototype;
    for (std::size_t s = b; s < e; ++s)
      for (int a = 0; a < na; ++a)
        expected_row(mdp, static_cast<int>(s), a, noise, buf, rows[s * na + a]);
  });
  ExpectedTransition t;
  t.offset.resize(rows.size() + 1, 0);
  for (std::size_t i = 0; i < rows.size(); ++i)
    t.offset[i + 1] = t.offset[i] + static_cast<std::int64_t>(rows[i].size());
  t.index.reserve(static_cast<std::size_t>(t.offset.back()));
  t.prob.reserve(static_cast<std::size_t>(t.offset.back()));
  for (auto& row : rows)
    for (const auto& [j, p] : row) {
      t.index.push_back(j);
      t.prob.push_back(p);
    }
  return t;
}

}  // namespace

ExactResult exact_value_iteration(const Mdp& mdp, const ExactOptions& opt, ThreadPool& pool,
                                  const std::function<void(int, const QMatrix&)>& on_iteration) {
  const int ns = mdp.num_states(), na = mdp.num_actions();
  const ExpectedTransition t = build_expected_transition(mdp, opt.quadrature, pool);
  ExactResult res;
  res.q = QMatrix::Zero(ns, na);
  QMatrix next(ns, na);
  std::vector<double> diff(static_cast<std::size_t>(ns));
  for (int k = 1; k <= opt.max_iterations; ++k) {
    const Eigen::VectorXd v = state_values(res.q);
    pool.parallel_for(static_cast<std::size_t>(ns), [&](std::size_t b, std::size_t e) {
      for (std::size_t s = b; s < e; ++s) {
        double d = 0;
        for (int a = 0; a < na; ++a) {
          const std::size_t sa = s * na + a;
          double ev = 0;
          for (auto i = t.offset[sa]; i < t.offset[sa + 1]; ++i) ev += t.prob[i] * v[t.index[i]];
          const int si = static_cast<int>(s);
          next(si, a) = mdp.reward(si, a) + opt.gamma * ev;
          d = std::max(d, std::abs(next(si, a) - res.q(si, a)));
        }
        diff[s] = d;
      }
    });
    res.q.swap(next);
    res.iterations = k;
    if (on_iteration) on_iteration(k, res.q);
    if (*std::max_element(diff.begin(), diff.end()) <= opt.tol) {
      res.converged = true;
      break;
    }
  }
  return res;
}

std::vector<int> greedy_policy(const QMatrix& q) {
  std::vector<int> pi(static_cast<std::size_t>(q.rows()));
  for (Eigen::Index s = 0; s < q.rows(); ++s) {
    Eigen::Index a;
    q.row(s).maxCoeff(&a);  // first maximiser
    pi[s] = static_cast<int>(a);
  }
  return pi;
}

Eigen::VectorXd evaluate_policy(const Mdp& mdp, const std::vector<int>& policy, double gamma,
                                int quadrature, ThreadPool& pool, const Eigen::VectorXd* start) {
  const int ns = mdp.num_states();
  if (static_cast<int>(policy.size()) != ns)
    throw internal_error("evaluate_policy: one action per state expected");
  const NoiseRule prototype(mdp, quadrature);
  // P_π as merged rows: one per state.
  std::vector<std::vector<std::pair<std::int32_t, double>>> rows(static_cast<std::size_t>(ns));
  Eigen::VectorXd r(ns);
  pool.parallel_for(static_cast<std::size_t>(ns), [&](std::size_t b, std::size_t e) {
    std::vector<std::pair<std::int32_t, double>> buf;
    NoiseRule noise = prototype;
    for (std::size_t s = b; s < e; ++s) {
      const int si = static_cast<int>(s), a = policy[s];
      expected_row(mdp, si, a, noise, buf, rows[s]);
      r(si) = mdp.reward(si, a);
    }
  });
  Eigen::VectorXd v = start ? *start : Eigen::VectorXd::Zero(ns);
  Eigen::VectorXd next(ns);
  std::vector<double> diff(static_cast<std::size_t>(ns));
  auto sweep = [&](std::size_t b, std::size_t e) {
    for (std::size_t s = b; s < e; ++s) {
      double ev = 0;
      for (const auto& [j, p] : rows[s]) ev += p * v(j);
      const int si = static_cast<int>(s);
      next(si) = r(si) + gamma * ev;
      diff[s] = std::abs(next(si) - v(si));
    }
  };
  // Hundreds of sweeps of a few microseconds each on small grids: there, waking the pool costs
  // more than it saves. Each state's update is the same either way, so the bits are too.
  const bool serial = ns < 4096;
  for (int k = 0; k < 1'000'000; ++k) {
    if (serial)
      sweep(0, static_cast<std::size_t>(ns));
    else
      pool.parallel_for(static_cast<std::size_t>(ns), sweep);
    v.swap(next);
    const double d = *std::max_element(diff.begin(), diff.end());
    if (d <= 1e-14 * std::max(1.0, v.cwiseAbs().maxCoeff())) return v;
  }
  throw error("lowrank_q: policy evaluation did not converge");
}

OptimalResult optimal_q(const Mdp& mdp, double gamma, int quadrature, ThreadPool& pool,
                        const std::function<void(int, const QMatrix&)>& on_improvement,
                        std::int64_t store_limit) {
  const int ns = mdp.num_states(), na = mdp.num_actions();
  const NoiseRule prototype(mdp, quadrature);
  // Small problems keep the quadrature operator in CSR form (a row holds one entry per grid state
  // the noise reaches): each improvement then costs a sparse product instead of finding the kinks
  // and stencils again, which halves the time of Q* on the spec's defaults. The svrl grids (2.5e6
  // to 1e7 entries) would need GBs and apply it on the fly. The choice depends on the problem only.
  const bool stored = std::int64_t{ns} * na <= store_limit;
  const ExpectedTransition t =
      stored ? build_expected_transition(mdp, quadrature, pool) : ExpectedTransition{};
  OptimalResult res;
  res.q.resize(ns, na);
  for (int s = 0; s < ns; ++s)
    for (int a = 0; a < na; ++a) res.q(s, a) = mdp.reward(s, a);  // Q₀ = r: V = 0
  std::vector<int> pi = greedy_policy(res.q);
  Eigen::VectorXd v = Eigen::VectorXd::Zero(ns);
  std::vector<int> changed(static_cast<std::size_t>(ns));
  for (int k = 1; k <= 100000; ++k) {
    v = evaluate_policy(mdp, pi, gamma, quadrature, pool, &v);
    // Improvement: Q(s, a) = r(s, a) + γ Σ_k w_k V(s'(s, a, ε_k)).
    pool.parallel_for(static_cast<std::size_t>(ns), [&](std::size_t b, std::size_t e) {
      NoiseRule noise = prototype;
      for (std::size_t s = b; s < e; ++s) {
        const int si = static_cast<int>(s);
        for (int a = 0; a < na; ++a) {
          double ev = 0;
          if (stored) {
            const std::size_t sa = s * na + a;
            for (auto i = t.offset[sa]; i < t.offset[sa + 1]; ++i) ev += t.prob[i] * v[t.index[i]];
          } else {
            const Quadrature& rule = noise.rule(si, a);
            for (std::size_t n = 0; n < rule.node.size(); ++n) {
              const Stencil st = mdp.next(si, a, rule.node[n]);
              double sv = 0;
              for (int i = 0; i < st.size; ++i) sv += st.weight[i] * v(st.index[i]);
              ev += rule.weight[n] * sv;
            }
          }
          res.q(si, a) = mdp.reward(si, a) + gamma * ev;
        }
        Eigen::Index best;
        const double top = res.q.row(si).maxCoeff(&best);
        const bool keep = res.q(si, pi[s]) >= top - 1e-12 * (1 + std::abs(top));
        changed[s] = keep ? 0 : 1;
        if (!keep) pi[s] = static_cast<int>(best);
      }
    });
    res.improvements = k;
    if (on_improvement) on_improvement(k, res.q);
    if (std::find(changed.begin(), changed.end(), 1) == changed.end()) {
      res.v = state_values(res.q);
      return res;
    }
  }
  throw error("lowrank_q: policy iteration did not converge");
}

std::int64_t samples_per_round(const McOptions& opt, int num_states, int num_actions) {
  const std::int64_t s = num_states, a = num_actions, n = opt.samples, k = opt.anchors;
  return opt.lowrank ? n * (s * k + k * a - k * k) : n * s * a;
}

std::vector<int> draw_anchors(int n, int k, AnchorRule rule, Rng& rng) {
  if (k < 1 || k > n)
    throw internal_error("draw_anchors: need 1 <= k <= n, got k " + std::to_string(k) + ", n " +
                         std::to_string(n));
  std::vector<int> out(static_cast<std::size_t>(k));
  if (rule == AnchorRule::random) {
    std::vector<int> perm(static_cast<std::size_t>(n));
    std::iota(perm.begin(), perm.end(), 0);
    for (int i = 0; i < k; ++i) {
      const int j = i + static_cast<int>(rng.below(static_cast<std::uint64_t>(n - i)));
      std::swap(perm[i], perm[j]);
      out[i] = perm[i];
    }
  } else {
    for (int i = 0; i < k; ++i) {
      const std::int64_t lo = std::int64_t{i} * n / k, hi = std::int64_t{i + 1} * n / k;
      out[i] = static_cast<int>(
          lo + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(hi - lo))));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

McResult mc_value_iteration(const Mdp& mdp, const McOptions& opt, ThreadPool& pool,
                            const std::function<void(int, const QMatrix&)>& on_iteration) {
  const int ns = mdp.num_states(), na = mdp.num_actions();
  const int n = opt.samples;
  if (n < 1 || opt.iterations < 0) throw internal_error("mc_value_iteration: bad options");
  const std::uint64_t anchor_seed = derive_seed(opt.seed, 1);
  const std::uint64_t sample_seed = derive_seed(opt.seed, 2);
  const double scale = opt.gamma / n;
  const std::int64_t per_round = samples_per_round(opt, ns, na);

  McResult res;
  res.q = QMatrix::Zero(ns, na);
  std::vector<double> v(static_cast<std::size_t>(ns));

  // Q̂(s, a) = r(s, a) + γ/N Σ_n V(s'_n), the N draws taken from the state's stream in turn.
  auto estimate = [&](int s, int a, Rng& rng) {
    double sum = 0;
    for (int i = 0; i < n; ++i) sum += interpolate(mdp.next(s, a, rng.normal()), v.data());
    return mdp.reward(s, a) + scale * sum;
  };

  const int k = opt.lowrank ? opt.anchors : 0;
  Eigen::MatrixXd c, r;                                           // Q̂(S, A#), Q̂(S#, A)
  std::vector<int> anchor_row(static_cast<std::size_t>(ns), -1);  // s -> its row in R, or -1
  for (int t = 1; t <= opt.iterations; ++t) {
    const Eigen::VectorXd vt = state_values(res.q);
    std::copy(vt.data(), vt.data() + ns, v.begin());
    const std::uint64_t round_seed = derive_seed(sample_seed, static_cast<std::uint64_t>(t));
    if (!opt.lowrank) {
      pool.parallel_for(static_cast<std::size_t>(ns), [&](std::size_t b, std::size_t e) {
        for (std::size_t s = b; s < e; ++s) {
          Rng rng(round_seed, s);
          const int si = static_cast<int>(s);
          for (int a = 0; a < na; ++a) res.q(si, a) = estimate(si, a, rng);
        }
      });
    } else {
      Rng anchor_rng(anchor_seed, static_cast<std::uint64_t>(t));
      const std::vector<int> s_anchor = draw_anchors(ns, k, opt.anchor_rule, anchor_rng);
      const std::vector<int> a_anchor = draw_anchors(na, k, opt.anchor_rule, anchor_rng);
      std::fill(anchor_row.begin(), anchor_row.end(), -1);
      for (int i = 0; i < k; ++i) anchor_row[s_anchor[i]] = i;
      c.resize(ns, k);
      r.resize(k, na);
      pool.parallel_for(static_cast<std::size_t>(ns), [&](std::size_t b, std::size_t e) {
        for (std::size_t s = b; s < e; ++s) {
          Rng rng(round_seed, s);
          const int si = static_cast<int>(s);
          if (const int row = anchor_row[s]; row >= 0) {
            for (int a = 0; a < na; ++a) r(row, a) = estimate(si, a, rng);
            for (int j = 0; j < k; ++j) c(si, j) = r(row, a_anchor[j]);
          } else {
            for (int j = 0; j < k; ++j) c(si, j) = estimate(si, a_anchor[j], rng);
          }
        }
      });
      Eigen::MatrixXd w(k, k);
      for (int i = 0; i < k; ++i) w.row(i) = c.row(s_anchor[i]);
      double cond = 0;
      res.q = opt.estimator == Estimator::paper ? anchor_inverse_estimate(c, w, r, &cond)
                                                : skeleton_estimate(c, w, r, opt.rank, &cond);
      res.anchor_condition = std::max(res.anchor_condition, cond);
    }
    res.samples_by_iteration.push_back(
        (res.samples_by_iteration.empty() ? 0 : res.samples_by_iteration.back()) + per_round);
    if (on_iteration) on_iteration(t, res.q);
  }
  return res;
}

}  // namespace mpisweep::lowrank_q
