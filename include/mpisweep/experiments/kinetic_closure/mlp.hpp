#pragma once
// A small multilayer perceptron (tanh hidden layers, linear output) with hand-written
// backpropagation and Adam (Kingma & Ba 2015), and the rotation-equivariant learned closure built
// on it (specs/kinetic_closure.md "Closures").
#include <Eigen/Dense>
#include <mpisweep/core/parallel.hpp>
#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/kinetic_closure/moment.hpp>
#include <string>
#include <vector>

namespace mpisweep::kinetic {

class Mlp {
 public:
  // sizes: inputs, hidden widths..., outputs. Weights ~ N(0, 1/fan_in) (Xavier for tanh), the
  // output layer scaled by `output_scale`; biases zero.
  Mlp(std::vector<int> sizes, Rng& rng, double output_scale = 1.0);

  // Columns are samples: X is inputs × n, the result outputs × n.
  Eigen::MatrixXd forward(const Eigen::MatrixXd& X) const;
  // Adds dL/dθ to `grad` (size parameters()) for dL/dY = dY, by backpropagation:
  // δ_L = dY, ∂W_l = δ_l a_{l−1}ᵀ, ∂b_l = Σ δ_l, δ_{l−1} = (W_lᵀ δ_l) ⊙ (1 − a_{l−1}²).
  void backward(const Eigen::MatrixXd& X, const Eigen::MatrixXd& dY, Eigen::VectorXd& grad) const;

  Eigen::VectorXd& params() { return theta_; }
  const Eigen::VectorXd& params() const { return theta_; }
  int inputs() const { return sizes_.front(); }
  int outputs() const { return sizes_.back(); }

 private:
  std::vector<int> sizes_;
  std::vector<Eigen::Index> w_off_, b_off_;
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
// harmonic (C4, S4) (not normalised).
struct Samples {
  std::vector<double> c, dxx, dxy, dyy, gxx, gxy, gyx, c4, s4;
  std::size_t size() const { return c.size(); }
  void append(const Samples& o);
};

enum class ClosureInputs { mu1, mu1_EW };

// The learned closure, evaluated in the eigenframe of D so it is rotation-equivariant by
// construction. Features: μ1 of Q, and for mu1_EW also the eigenframe strain ẽ11, ẽ12 and the
// vorticity ω = ∂_x u_y − ∂_y u_x. Outputs: the eigenframe S̃1111 and S̃1112 (normalised by c);
// the rest follow from the trace identities (S̃1122 = μ1 − S̃1111, S̃1222 = −S̃1112, S̃2222 =
// μ2 − S̃1122). The network parameterises the correction to Bingham in those two components,
// S̃ = S̃_Bingham(μ1) + net, so an untrained network is Bingham. Reflection y → −y in the
// eigenframe (ẽ12, ω → −ẽ12, −ω) requires S̃1111 even and S̃1112 odd: enforced by
// symmetrising, out = (net(x) ± net(Rx))/2.
class NnClosure final : public Closure {
 public:
  NnClosure(ClosureInputs inputs, int hidden, int layers, Rng& rng);

  struct TrainConfig {
    int epochs = 100;
    int batch = 256;
    double learning_rate = 1e-3;
  };
  // Fits the network on `train` (Adam on the mean squared error of the scaled targets),
  // computing in parallel over fixed chunks of each minibatch (bit-identical across thread
  // counts). Returns the mean training loss of each epoch. `poll` is called every minibatch.
  std::vector<double> train(const Samples& train, const TrainConfig& cfg, Rng& rng,
                            ThreadPool& pool, const std::function<void()>& poll = {});

  void evaluate(const ClosureInput& in, std::size_t begin, std::size_t end,
                Harmonic4* out) const override;
  // Convenience for samples: normalised harmonics.
  std::vector<Harmonic4> evaluate(const Samples& s) const;

  int features() const { return inputs_ == ClosureInputs::mu1 ? 1 : 4; }
  Mlp& net() { return net_; }

  // Raw (unscaled) features and eigenframe of one point; exposed for tests.
  void features_of(double c, const Sym2& D, double gxx, double gxy, double gyx, double* x,
                   Frame& f) const;

 private:
  Eigen::MatrixXd scaled_inputs(const Eigen::MatrixXd& raw, bool reflect) const;

  ClosureInputs inputs_;
  Mlp net_;
  Eigen::VectorXd in_mean_, in_scale_;
  Eigen::Vector2d out_scale_{1, 1};
};

}  // namespace mpisweep::kinetic
