#pragma once
// How far a closed run takes the learned closure outside its training data (docs "Stable",
// `<model>_outside_training`, `<model>_training_excursion`).
//
// The network's inputs are the raw invariants x = (μ1 [, ẽ11, ẽ12², ω², ẽ12 ω] [, α, ζ])
// (NnClosure, before standardisation). The training range is their per-input [lo_f, hi_f] over
// the points the network was trained on. One closure evaluation at x has the excursion
//   e(x) = max_f max(lo_f − x_f, x_f − hi_f, 0) / (hi_f − lo_f),
// the distance outside the range in units of that input's training width (0 inside or on the
// boundary; +∞ outside an input whose width is 0). Over a set of evaluations:
//   outside_training   = #{e > 0} / #evaluations  (NaN for none),
//   training_excursion = max e                     (0 when all are inside; NaN for none).
// Both are deterministic: per-point values, an integer count and a maximum.
#include <Eigen/Dense>
#include <mpisweep/experiments/kinetic_closure/mlp.hpp>
#include <vector>

namespace mpisweep::kinetic {

struct InputRange {
  Eigen::VectorXd lo, hi;
  // Per-row min and max of X (inputs × samples, at least one sample).
  static InputRange of(const Eigen::MatrixXd& X);
  // e(x) above, x one column of inputs.
  double excursion(const Eigen::Ref<const Eigen::VectorXd>& x) const;
};

class InputCoverage {
 public:
  void add(double excursion) {
    ++evaluations_;
    if (excursion > 0) ++outside_;
    if (excursion > worst_) worst_ = excursion;
  }
  void add(const InputRange& range, const Eigen::MatrixXd& X) {
    for (Eigen::Index i = 0; i < X.cols(); ++i) add(range.excursion(X.col(i)));
  }
  long evaluations() const { return evaluations_; }
  long outside() const { return outside_; }
  double outside_fraction() const;
  double worst_excursion() const;

 private:
  long evaluations_ = 0, outside_ = 0;
  double worst_ = 0;
};

// The closure a monitored closed run is given: evaluates `nn` unchanged and, on armed steps,
// records each point's excursion (points are written by disjoint ranges, so concurrent calls
// are safe); collect() then adds them to the coverage in point order.
class InputMonitor final : public Closure {
 public:
  InputMonitor(const NnClosure& nn, InputRange range, std::size_t points)
      : nn_(nn), range_(std::move(range)), excursion_(points, 0.0) {}
  void evaluate(const ClosureInput& in, std::size_t begin, std::size_t end,
                Harmonic4* out) const override;
  void arm(bool on) { armed_ = on; }
  bool armed() const { return armed_; }
  void collect();
  const InputCoverage& coverage() const { return coverage_; }

 private:
  const NnClosure& nn_;
  InputRange range_;
  bool armed_ = false;
  mutable std::vector<double> excursion_;
  InputCoverage coverage_;
};

}  // namespace mpisweep::kinetic
