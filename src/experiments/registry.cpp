#include <mpisweep/experiments/registry.hpp>

#include <algorithm>
#include <vector>

namespace mpisweep {

std::span<const Experiment> experiments() {
  static const std::vector<Experiment> all = [] {
    std::vector<Experiment> v;
    v.push_back(make_kinetic_closure_experiment());
    v.push_back(make_lowrank_q_experiment());
    v.push_back(make_moe_cl_experiment());
    v.push_back(make_noop_experiment());
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return v;
  }();
  return all;
}

const Experiment& find_experiment(std::string_view name) {
  std::string valid;
  for (const auto& e : experiments()) {
    if (e.name == name) return e;
    valid += (valid.empty() ? "" : ", ") + e.name;
  }
  // "command" is in no registry (each sweep file declares its own); say it exists.
  throw input_error("", "unknown experiment '" + std::string(name) + "'; registered kinds are: " +
                            valid + "; or \"command\" to run a program of your own ([command])");
}

Params resolve_experiment_params(const Experiment& e, const Params& given) {
  Params p = resolve_params(e.params, given);
  if (e.check) e.check(p);
  return p;
}

}  // namespace mpisweep
