#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/lowrank_q/matrix_estimation.hpp>
#include <mpisweep/experiments/lowrank_q/value_iteration.hpp>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>

namespace mpisweep::lowrank_q {

const Quadrature& gauss_hermite7() {
  // Roots xᵢ of the physicists' Hermite polynomial H₇ and weights wᵢ = 2⁶·7!·√π / (49 H₆(xᵢ)²)
  // (Abramowitz & Stegun, Table 25.10). For ε ~ N(0,1): node = √2 xᵢ, weight = wᵢ/√π.
  static const Quadrature q = [] {
    const std::array<double, 7> x = {-2.6519613568352334924, -1.6735516287674714450,
                                     -0.8162878828589646630, 0.0,
                                     0.8162878828589646630,  1.6735516287674714450,
                                     2.6519613568352334924};
    const std::array<double, 7> w = {9.7178124509951915415e-4, 5.4515582819127030592e-2,
                                     4.2560725261012780052e-1,  8.1026461755680732676e-1,
                                     4.2560725261012780052e-1,  5.4515582819127030592e-2,
                                     9.7178124509951915415e-4};
    Quadrature r{};
    for (int i = 0; i < 7; ++i) {
      r.node[i] = std::numbers::sqrt2 * x[i];
      r.weight[i] = w[i] / std::sqrt(std::numbers::pi);
    }
    return r;
  }();
  return q;
}

Eigen::VectorXd state_values(const QMatrix& q) { return q.rowwise().maxCoeff(); }

namespace {

double interpolate(const Stencil& st, const double* v) {
  double s = 0;
  for (int i = 0; i < st.size; ++i) s += st.weight[i] * v[st.index[i]];
  return s;
}

// The expected next-state operator of the quadrature as a sparse matrix in CSR form:
// E_ε V(s'(s, a, ε)) ≈ Σ_k prob[k] · V(index[k]) for k in [offset[sa], offset[sa+1]).
struct ExpectedTransition {
  std::vector<std::int64_t> offset;
  std::vector<std::int32_t> index;
  std::vector<double> prob;
};

ExpectedTransition build_expected_transition(const Mdp& mdp, ThreadPool& pool) {
  const int ns = mdp.num_states(), na = mdp.num_actions();
  const Quadrature& gh = gauss_hermite7();
  std::vector<std::vector<std::pair<std::int32_t, double>>> rows(static_cast<std::size_t>(ns) * na);
  pool.parallel_for(static_cast<std::size_t>(ns), [&](std::size_t b, std::size_t e) {
    std::vector<std::pair<std::int32_t, double>> buf;
    for (std::size_t s = b; s < e; ++s)
      for (int a = 0; a < na; ++a) {
        buf.clear();
        for (int k = 0; k < 7; ++k) {
          const Stencil st = mdp.next(static_cast<int>(s), a, gh.node[k]);
          for (int i = 0; i < st.size; ++i)
            if (st.weight[i] != 0) buf.emplace_back(st.index[i], gh.weight[k] * st.weight[i]);
        }
        std::sort(buf.begin(), buf.end());  // merge repeated states; fixes the summation order
        auto& row = rows[s * na + a];
        for (const auto& [j, p] : buf) {
          if (!row.empty() && row.back().first == j)
            row.back().second += p;
          else
            row.emplace_back(j, p);
        }
      }
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
  const ExpectedTransition t = build_expected_transition(mdp, pool);
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
      out[i] = static_cast<int>(lo + static_cast<std::int64_t>(
                                         rng.below(static_cast<std::uint64_t>(hi - lo))));
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
  Eigen::MatrixXd c, r;              // Q̂(S, A#), Q̂(S#, A)
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
      res.q = skeleton_estimate(c, w, r, opt.rank);
    }
    res.samples_by_iteration.push_back(
        (res.samples_by_iteration.empty() ? 0 : res.samples_by_iteration.back()) + per_round);
    if (on_iteration) on_iteration(t, res.q);
  }
  return res;
}

}  // namespace mpisweep::lowrank_q
