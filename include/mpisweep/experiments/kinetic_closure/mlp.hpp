#pragma once
// A small multilayer perceptron (softsign hidden layers, linear output) with hand-written
// backpropagation and Adam (Kingma & Ba 2015), and the rotation-equivariant learned closure built
// on it (specs/kinetic_closure.md "Closures").
#include <Eigen/Dense>
#include <array>
#include <functional>
#include <mpisweep/core/parallel.hpp>
#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/kinetic_closure/moment.hpp>
#include <string>
#include <vector>

namespace mpisweep::kinetic {

// Hidden layers use softsign(z) = z/(1 + |z|) (smooth, bounded, monotone like tanh): Eigen 3.4
// has no vectorised double tanh or exp on the baseline x86-64 target, and tanh made the network
// cost ≈ 10× more per unit, as slow as Bingham's Newton solve (bench/kinetic_closure). relu
// (unbounded) exists for the fully unconstrained closure head (ClosureHead::unbounded_relu).
enum class Activation { softsign, relu };
class Mlp {
 public:
  // sizes: inputs, hidden widths..., outputs. Weights ~ N(0, 1/fan_in) (Xavier), the
  // output layer scaled by `output_scale`; biases zero. With `linear_skip` the output also gets
  // a linear map of the inputs, Y = W_L a_{L−1} + b_L + A X (A outputs × inputs, last in the
  // parameters, starting at zero, so the other weights draw the same numbers as without it):
  // the output is then unbounded in X, as with the unbounded (ReLU-like) units of a plain MLP.
  Mlp(std::vector<int> sizes, Rng& rng, double output_scale = 1.0, bool linear_skip = false,
      Activation activation = Activation::softsign);

  // Columns are samples: X is inputs × n, the result outputs × n.
  Eigen::MatrixXd forward(const Eigen::MatrixXd& X) const;
  // Adds dL/dθ to `grad` (size parameters()) for dL/dY = dY, by backpropagation:
  // δ_L = dY, ∂W_l = δ_l a_{l−1}ᵀ, ∂b_l = Σ δ_l, δ_{l−1} = (W_lᵀ δ_l) ⊙ (1 − |a_{l−1}|)²,
  // and ∂A = dY Xᵀ with the skip.
  void backward(const Eigen::MatrixXd& X, const Eigen::MatrixXd& dY, Eigen::VectorXd& grad) const;
  // Forward mode: Y and dY/dx_f for every input f (each outputs × n), by t_l = W_l t_{l−1}
  // ⊙ σ'(z_l) on the hidden layers, σ'(z) = (1 − |σ(z)|)² (softsign) or [z > 0] (relu), plus
  // column f of A with the skip.
  Eigen::MatrixXd forward_tangents(const Eigen::MatrixXd& X,
                                   std::vector<Eigen::MatrixXd>& dY) const;

  Eigen::VectorXd& params() { return theta_; }
  const Eigen::VectorXd& params() const { return theta_; }
  int inputs() const { return sizes_.front(); }
  int outputs() const { return sizes_.back(); }
  bool linear_skip() const { return skip_off_ >= 0; }

 private:
  std::vector<int> sizes_;
  std::vector<Eigen::Index> w_off_, b_off_;
  Eigen::Index skip_off_ = -1;  // offset of A in the parameters, −1 without the skip
  Activation act_ = Activation::softsign;
  Eigen::Map<const Eigen::MatrixXd> skip() const {
    return {theta_.data() + skip_off_, sizes_.back(), sizes_.front()};
  }
  Eigen::VectorXd theta_;
};

// Adam: m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g², θ ← θ − lr m̂/(√v̂ + ε).
class Adam {
 public:
  explicit Adam(Eigen::Index n, double lr, double beta1 = 0.9, double beta2 = 0.999,
                double eps = 1e-8);
  void step(Eigen::VectorXd& theta, const Eigen::VectorXd& grad);

 private:
  Eigen::VectorXd m_, v_;
  double lr_, b1_, b2_, eps_;
  long t_ = 0;
};

// Kinetic samples for training and a-priori tests: point values of c, D, G and the true fourth
// harmonic (C4, S4) (not normalised), and the (α, ζ) of the run each point comes from.
struct Samples {
  std::vector<double> c, dxx, dxy, dyy, gxx, gxy, gyx, c4, s4, alpha, zeta;
  std::size_t size() const { return c.size(); }
  void append(const Samples& o);
  // The points at the given indices, in that order.
  Samples pick(const std::vector<std::size_t>& idx) const;
};

enum class ClosureInputs { mu1, mu1_EW };
// direct: the network maps the invariants to the eigenframe closure (no κ solve; the fast
// model). residual: Bingham (Newton solve for κ) plus a learned correction.
enum class ClosureModel { direct, residual };
// How the network's output becomes the closure (equations at NnClosure). bounded: the default,
// r² times a fitted affine map of a network with bounded hidden units, so |C̃4|, |S̃4|/|ẽ|
// are bounded for any input and vanish at isotropy. unbounded: the plain head an MLP closure
// would have without those constraints (no r², a linear skip from the invariants), to test
// whether stability comes from this construction or from training (docs "Stable").
// unbounded_relu: the unbounded head on ReLU hidden units, so nothing in the network is bounded.
enum class ClosureHead { bounded, unbounded, unbounded_relu };

// The learned closure, evaluated in the eigenframe of D so it is rotation-equivariant by
// construction (spec "Closures"). Per point, with r = μ1 − μ2, ẽ the eigenframe strain rate and
// ω = ∂_x u_y − ∂_y u_x:
//   features x = (μ1 [, ẽ11, ẽ12², ω², ẽ12 ω] [, α, ζ]), invariant under the reflection y → −y
//   of the eigenframe (ẽ12, ω → −ẽ12, −ω), y = net(standardised x) (1 or 3 outputs),
//   C̃4/c = B(r) + m (b0 + σ0 y0),   S̃4/c = m (σ1 ẽ12 y1 + σ2 ω y2),
// B = 0 (direct) or Bingham's I2(κ)/I0(κ) (residual), rotated to the lab by e^{4iφ}. S̃4 is
// odd and C̃4 even under the reflection, as symmetry requires, with one network pass.
// bounded head (default): m = r², and the network's hidden units are softsign, so y is bounded
// and C̃4 → 0 with the order; the r² factor makes the lab harmonic continuous where the
// eigenframe is undefined (r → 0: r² e^{4iφ} = (r e^{2iφ})²).
// unbounded head: m = 1 and y = net(x̂) + A x̂ (Mlp linear skip), so the closure grows without
// limit with the invariants (ẽ11, ẽ12², ω², ẽ12 ω) and need not vanish at r = 0: the head of an
// unconstrained MLP closure. Symmetry (rotation, reflection) is kept; only bounds are dropped.
// unbounded_relu: the same with ReLU hidden units, which grow linearly too.
// b0, σ0..2 are fitted from the training targets (least-squares constant of C̃4/(c m) and
// rms), so an untrained network is the best constant fit, not Bingham.
class NnClosure final : public Closure {
 public:
  NnClosure(ClosureModel model, ClosureInputs inputs, bool parameter_inputs, int hidden, int layers,
            Rng& rng, ClosureHead head = ClosureHead::bounded);

  struct TrainConfig {
    int epochs = 100;
    int batch = 256;
    double learning_rate = 1e-3;
  };
  // Fits the output head and the input standardisation on `train`, then the network (Adam on
  // the mean squared error of the scaled targets, parallel over fixed chunks of each minibatch:
  // bit-identical across thread counts). Returns the mean training loss of each epoch. `poll`
  // is called every minibatch.
  std::vector<double> train(const Samples& train, const TrainConfig& cfg, Rng& rng,
                            ThreadPool& pool, const std::function<void()>& poll = {});

  // (α, ζ) used as inputs when evaluating in a solver (parameter_inputs only).
  void set_parameters(double alpha, double zeta) { alpha_ = alpha, zeta_ = zeta; }
  void evaluate(const ClosureInput& in, std::size_t begin, std::size_t end,
                Harmonic4* out) const override;
  // Normalised harmonics at sample points (their own α, ζ).
  std::vector<Harmonic4> evaluate(const Samples& s) const;
  // The raw network inputs x (features × points, before standardisation) at points
  // [begin, end) of a solver's fields, or at sample points (their own α, ζ).
  Eigen::MatrixXd inputs(const ClosureInput& in, std::size_t begin, std::size_t end) const;
  Eigen::MatrixXd inputs(const Samples& s) const;

  // Per point: the harmonic h = (C4, S4)/c and its derivatives with respect to
  // z = (D11, D12, D22, G11, G12, G21) (dz, 2 × 6) and to the network outputs (dy, 2 × outputs),
  // with the standardised features X (features × n) for backpropagation. For the adjoint of the
  // time-stepping loss.
  struct Linearisation {
    std::vector<Harmonic4> h;
    std::vector<std::array<double, 12>> dz;
    std::vector<std::array<double, 6>> dy;
    Eigen::MatrixXd X;
  };
  Linearisation linearise(const ClosureInput& in, std::size_t n) const;

  int features() const;
  int outputs() const { return inputs_ == ClosureInputs::mu1 ? 1 : 3; }
  ClosureModel model() const { return model_; }
  ClosureHead head() const { return head_; }
  Mlp& net() { return net_; }
  const Mlp& net() const { return net_; }

 private:
  template <class T>
  struct Point;
  template <class T>
  Point<T> point(const T& c, const T& dxx, const T& dxy, const T& dyy, const T& gxx, const T& gxy,
                 const T& gyx, double alpha, double zeta) const;
  template <class T>
  void head(const Point<T>& p, const T* y, T& c4, T& s4) const;
  Eigen::MatrixXd standardise(Eigen::MatrixXd raw) const;

  ClosureModel model_;
  ClosureHead head_;
  ClosureInputs inputs_;
  bool param_inputs_;
  Mlp net_;
  Eigen::VectorXd in_mean_, in_scale_;
  double b0_ = 0.5;
  std::array<double, 3> sigma_{0.1, 0.1, 0.1};
  double alpha_ = 0, zeta_ = 0;
};

}  // namespace mpisweep::kinetic
