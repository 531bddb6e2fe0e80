// Training-range coverage of the learned closure's inputs (definitions in coverage.hpp).
#include <cmath>
#include <limits>
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/kinetic_closure/coverage.hpp>

namespace mpisweep::kinetic {

InputRange InputRange::of(const Eigen::MatrixXd& X) {
  if (X.cols() == 0) throw error("kinetic_closure: training range of no samples");
  return {X.rowwise().minCoeff(), X.rowwise().maxCoeff()};
}

double InputRange::excursion(const Eigen::Ref<const Eigen::VectorXd>& x) const {
  double e = 0;
  for (Eigen::Index f = 0; f < x.size(); ++f) {
    const double out = std::max({lo[f] - x[f], x[f] - hi[f], 0.0});
    if (out <= 0) continue;
    const double width = hi[f] - lo[f];
    e = std::max(e, width > 0 ? out / width : std::numeric_limits<double>::infinity());
  }
  return e;
}

double InputCoverage::outside_fraction() const {
  return evaluations_ ? double(outside_) / double(evaluations_) : std::nan("");
}

double InputCoverage::worst_excursion() const { return evaluations_ ? worst_ : std::nan(""); }

void InputMonitor::evaluate(const ClosureInput& in, std::size_t begin, std::size_t end,
                            Harmonic4* out) const {
  nn_.evaluate(in, begin, end, out);
  if (!armed_ || end <= begin) return;
  const Eigen::MatrixXd X = nn_.inputs(in, begin, end);
  for (std::size_t p = begin; p < end; ++p)
    excursion_[p] = range_.excursion(X.col(Eigen::Index(p - begin)));
}

void InputMonitor::collect() {
  for (double e : excursion_) coverage_.add(e);
}

}  // namespace mpisweep::kinetic
