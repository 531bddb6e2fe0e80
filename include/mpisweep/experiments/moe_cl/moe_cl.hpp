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

// How the gate stops learning (`terminate` true). fixed: after round T1. paper: the rule of
// Algorithm 1 of the paper as we read it (docs/experiments/moe_cl.md): after round T1, the gate
// stops for good at the first round t whose routed expert m_t has a near-tie, some m ≠ m_t with
// |h_m(X_t) − h_{m_t}(X_t)| < Γ (the expert set of the task's cluster has been balanced to within
// Γ < λ, so the routing noise spreads the cluster's tasks over it).
enum class Termination { fixed, paper };

// The load-balancing term of the gate loss. averaged: the paper's Switch-Transformer form
// α M Σ_m f_t^(m) P_t^(m), P_t^(m) = (1/t) Σ_{τ≤t} π_m(X_τ, Θ_τ), whose gradient in Θ_t is that
// of α M Σ_m f_t^(m) π_m(X_t, Θ_t) / t. current: the first pass's α M Σ_m f_t^(m) π_m(X_t, Θ_t).
enum class AuxLoss { averaged, current };

struct Config {
  int d = 20;             // dimension of models and features
  int s = 10;             // samples per task (columns of X_t), s < d
  int clusters = 4;       // N ground-truth models
  int experts = 4;        // M
  double sigma = 0.02;    // standard deviation of the noise columns
  double beta = 1.0;      // length of the signal column
  double eta = 10.0;      // gate learning rate
  double alpha = 0.5;     // weight of the load-balancing term
  double lambda = 0.3;    // routing noise r_m ~ Unif[0, lambda]
  std::int64_t T = 1000;  // rounds
  std::int64_t T1 = 200;  // rounds of unconditional gate training; 0: ⌈M/η⌉ (the paper's)
  bool terminate = true;
  Termination termination = Termination::paper;
  double Gamma = 0.1;  // near-tie threshold of the paper's rule (< lambda)
  AuxLoss aux_loss = AuxLoss::averaged;
  std::int64_t record_every = 10;
};

// T1 of a config: its own value, or ⌈M/η⌉ (paper, Algorithm 1 input) when it is 0.
std::int64_t effective_T1(const Config& c);

// Reads a resolved parameter set (names as in the experiment's schema).
Config config_from_params(const Params& p);

// Min-norm interpolating update (spec "Model"; paper eq. for the expert update):
//   w' = w + X (XᵀX)⁻¹ (y − Xᵀ w),
// the point of {v : Xᵀv = y} nearest to w. X is d×s with full column rank.
Eigen::VectorXd min_norm_update(const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                                const Eigen::VectorXd& w);

// Softmax of the gate outputs, shifted by the maximum for stability.
Eigen::VectorXd softmax(const Eigen::VectorXd& h);

// Gate loss of one round as a function of the gate Θ = [θ^(1) … θ^(M)] (d×M) (paper Sec. 3:
// locality loss plus auxiliary load-balancing loss; the task loss of the routed expert is zero
// after its interpolating update and has no gradient in Θ):
//   h_m = θ^(m)ᵀ x̄,  x̄ = Σ_i x_{t,i},  π = softmax(h),
//   L(Θ) = Σ_m π_m ‖Δw^(m)‖ + Σ_m a_m π_m (+ terms constant in Θ) = Σ_m c_m π_m,
// with Δw^(m) = w_t^(m) − w_{t−1}^(m) and a_m the load coefficient, α M f^(m) / t for the paper's
// time-averaged term and α M f^(m) for the first pass's (see AuxLoss); neither depends on Θ.
// `weights` is c = ‖Δw‖ + a.
double gate_loss(const Eigen::MatrixXd& theta, const Eigen::VectorXd& xbar,
                 const Eigen::VectorXd& weights);

// Its gradient, d×M: ∂L/∂θ^(k) = Σ_m c_m π_m (δ_mk − π_k) x̄ = π_k (c_k − L) x̄.
Eigen::MatrixXd gate_gradient(const Eigen::MatrixXd& theta, const Eigen::VectorXd& xbar,
                              const Eigen::VectorXd& weights);

// c_m = ‖Δw^(m)‖ + a_m of round t (1-based), f the fraction of rounds 1..t routed to each expert.
Eigen::VectorXd loss_weights(const Eigen::VectorXd& dw_norm, const Eigen::VectorXd& load_fraction,
                             double alpha, AuxLoss aux, std::int64_t t);

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

// Diagnostics of a cluster × expert routing count table C (rows clusters, columns experts), each
// right for any M and N (docs/experiments/moe_cl.md, "Metrics"). NaN when C is all zero.
//   cluster_coverage: each expert with tasks owns its majority cluster (lowest index on ties);
//     the fraction of the clusters with tasks that some expert owns (1: every cluster has an
//     expert of its own; M = 1: 1/N; M < N: at most M/N).
//   expert_purity: mean over the experts with tasks of the share of their tasks that came from
//     their majority cluster (1: no expert mixes clusters; in [1/N, 1]).
double cluster_coverage(const Eigen::MatrixXd& counts);
double expert_purity(const Eigen::MatrixXd& counts);

// Everything one run produces, under the archive names.
struct Outcome {
  double F_T = 0;                      // forgetting after the last round
  double G_T = 0;                      // generalisation error after the last round
  double convergence_round = 0;        // last round whose gate update changed the noiseless
                                       // cluster → expert map (0: never)
  double gate_stop_round = 0;          // last round with a gate update (0: none)
  double cluster_coverage = 0;         // of the routing used in rounds t > T/2
  double expert_purity = 0;            // likewise
  double load_max_over_mean = 0;       // max over experts of the load / mean load, all rounds
  std::vector<double> F_t, G_t;        // at rounds record_every, 2·record_every, …
  std::vector<double> routing_counts;  // clusters × experts, row-major, all rounds
  // Ground truth of the run, kept for tests that recompute metrics independently.
  std::vector<int> cluster_of_round, expert_of_round;
};

// Runs the T rounds for one seed. Polls ctx every 100 rounds (throws task_cancelled) and reports
// progress. Results depend on (config, ctx.seed) only.
Outcome simulate(const Config& c, const RunContext& ctx);

}  // namespace mpisweep::moe_cl
