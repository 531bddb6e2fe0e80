#pragma once
// The moe_cl experiment: a mixture of linear experts with a noisy top-1 router learning a stream
// of overparameterised linear-regression tasks (../shared/specs/moe_cl.md; H. Li, S. Lin, L. Duan,
// Y. Liang, N. B. Shroff, "Theory on Mixture-of-Experts in Continual Learning", ICLR 2025,
// arXiv 2406.16437). The pieces tests need are public: the min-norm expert update, the gate loss
// and its gradient, and the whole simulation. All functions are pure and thread-safe.
#include <mpisweep/core/params.hpp>
#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/experiment.hpp>

#include <Eigen/Dense>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mpisweep::moe_cl {

struct Config {
  int d = 20;              // dimension of models and features
  int s = 10;              // samples per task (columns of X_t), s < d
  int clusters = 4;        // N ground-truth models
  int experts = 4;         // M
  double sigma = 0.02;     // standard deviation of the noise columns
  double beta = 1.0;       // length of the signal column
  double eta = 10.0;       // gate learning rate
  double alpha = 0.5;      // weight of the load-balancing term
  double lambda = 0.3;     // routing noise r_m ~ Unif[0, lambda]
  std::int64_t T = 1000;   // rounds
  std::int64_t T1 = 200;   // last round of gate updates when `terminate`
  bool terminate = true;
  std::int64_t record_every = 10;
};

// Reads a resolved parameter set (names as in the experiment's schema).
Config config_from_params(const Params& p);

// Min-norm interpolating update (spec "Model"; paper eq. for the expert update):
//   w' = w + X (XᵀX)⁻¹ (y − Xᵀ w),
// the point of {v : Xᵀv = y} nearest to w. X is d×s with full column rank.
Eigen::VectorXd min_norm_update(const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                                const Eigen::VectorXd& w);

// Softmax of the gate outputs, shifted by the maximum for stability.
Eigen::VectorXd softmax(const Eigen::VectorXd& h);

// Gate loss of one round (spec "Model"), as a function of the gate Θ = [θ^(1) … θ^(M)] (d×M):
//   h_m = θ^(m)ᵀ x̄,  x̄ = Σ_i x_{t,i},  π = softmax(h),
//   L(Θ) = Σ_m π_m ‖Δw^(m)‖ + α M Σ_m f^(m) π_m = Σ_m c_m π_m,  c_m = ‖Δw^(m)‖ + α M f^(m),
// where Δw^(m) = w_t^(m) − w_{t−1}^(m) and f^(m) is the fraction of rounds so far routed to m;
// neither depends on Θ.
double gate_loss(const Eigen::MatrixXd& theta, const Eigen::VectorXd& xbar,
                 const Eigen::VectorXd& dw_norm, const Eigen::VectorXd& load_fraction,
                 double alpha);

// Its gradient, d×M: ∂L/∂θ^(k) = Σ_m c_m π_m (δ_mk − π_k) x̄.
Eigen::MatrixXd gate_gradient(const Eigen::MatrixXd& theta, const Eigen::VectorXd& xbar,
                              const Eigen::VectorXd& dw_norm, const Eigen::VectorXd& load_fraction,
                              double alpha);

// The fixed part of a run (spec "Model"): ground truths w_n ~ N(0, I/d) and orthonormal feature
// signals v_n (Gram–Schmidt of Gaussian vectors), as the columns of two d×N matrices.
struct Problem {
  Eigen::MatrixXd truths;
  Eigen::MatrixXd signals;
};
Problem make_problem(const Config& c, std::uint64_t seed);

// One round's task: cluster n_t ~ Unif{0..N−1}; X_t (d×s) has β·v_{n_t} in one uniformly chosen
// column and i.i.d. N(0, σ²) entries elsewhere; y_t = X_tᵀ w_{n_t}.
struct Task {
  int cluster = 0;
  Eigen::MatrixXd X;
  Eigen::VectorXd y;
};

// The task sequence of a seed; independent of the number of experts and of the gate, so runs
// that differ only in M, η, α, λ or termination see the same tasks.
class TaskStream {
 public:
  TaskStream(const Config& c, const Problem& problem, std::uint64_t seed);
  Task next();

 private:
  Config c_;
  Problem problem_;
  Rng rng_;
};

// Everything one run produces, under the archive names of the spec.
struct Outcome {
  double F_T = 0;                    // forgetting after the last round
  double G_T = 0;                    // generalisation error after the last round
  double last_routing_change = 0;    // last round whose cluster went to another expert than before
  double specialisation = 0;         // fraction of clusters served by one expert after T1
  double purity = 0;                 // fraction of experts used after T1 that served one cluster
  double load_max_over_mean = 0;     // max over experts of the load / mean load, all rounds
  std::vector<double> F_t, G_t;      // at rounds record_every, 2·record_every, …
  std::vector<double> routing_counts;  // clusters × experts, row-major, all rounds
  // Ground truth of the run, kept for tests that recompute metrics directly.
  std::vector<int> cluster_of_round, expert_of_round;
};

// Runs the T rounds for one seed. Polls ctx every 100 rounds (throws task_cancelled) and reports
// progress. Results depend on (config, ctx.seed) only.
Outcome simulate(const Config& c, const RunContext& ctx);

}  // namespace mpisweep::moe_cl
