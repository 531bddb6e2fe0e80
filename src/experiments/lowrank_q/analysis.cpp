#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/lowrank_q/analysis.hpp>

#include <Eigen/SVD>

#include <cmath>

namespace mpisweep::lowrank_q {

Eigen::VectorXd singular_values(const QMatrix& q) {
  Eigen::BDCSVD<Eigen::MatrixXd> svd(q);  // values only
  return svd.singularValues();
}

int energy_rank(const Eigen::VectorXd& sigma, double fraction) {
  const double total = sigma.squaredNorm();
  if (total == 0) return 0;
  double acc = 0;
  for (Eigen::Index i = 0; i < sigma.size(); ++i) {
    acc += sigma(i) * sigma(i);
    if (acc >= fraction * total) return static_cast<int>(i + 1);
  }
  return static_cast<int>(sigma.size());
}

double policy_agreement(const QMatrix& q, const QMatrix& q_star, double tie_tol) {
  const Eigen::Index ns = q.rows();
  if (ns == 0) return 1.0;
  Eigen::Index agree = 0;
  for (Eigen::Index s = 0; s < ns; ++s) {
    Eigen::Index a;
    q.row(s).maxCoeff(&a);  // first maximiser
    if (q_star(s, a) >= q_star.row(s).maxCoeff() - tie_tol) ++agree;
  }
  return static_cast<double>(agree) / static_cast<double>(ns);
}

double advantage_error(const QMatrix& q, const QMatrix& q_star) {
  const QMatrix a = q.colwise() - state_values(q);
  const QMatrix a_star = q_star.colwise() - state_values(q_star);
  return (a - a_star).cwiseAbs().maxCoeff();
}

double greedy_return(const ControlTask& task, const QMatrix& q, double gamma, int rollouts,
                     int steps, std::uint64_t seed, ThreadPool& pool) {
  std::vector<double> ret(static_cast<std::size_t>(rollouts));
  const std::uint64_t base = derive_seed(seed, 3);
  const int na = task.num_actions();
  pool.parallel_for(ret.size(), [&](std::size_t b, std::size_t e) {
    Eigen::RowVectorXd qs(na);
    for (std::size_t i = b; i < e; ++i) {
      Rng rng(base, i);
      ControlTask::State s = task.sample_state(rng);
      double g = 0, disc = 1;
      for (int t = 0; t < steps; ++t) {
        // Q(s, ·) at a continuous state: Σ wᵢ Q(indexᵢ, ·) (bilinear, as for V).
        const Stencil st = task.locate(s);
        qs.setZero();
        for (int j = 0; j < st.size; ++j) qs += st.weight[j] * q.row(st.index[j]);
        Eigen::Index a;
        qs.maxCoeff(&a);
        const double act = task.action(static_cast<int>(a));
        g += disc * task.reward(s, act);
        disc *= gamma;
        s = task.step(s, act, rng.normal());
      }
      ret[i] = g;
    }
  });
  double sum = 0;
  for (double x : ret) sum += x;
  return rollouts > 0 ? sum / rollouts : 0.0;
}

}  // namespace mpisweep::lowrank_q
