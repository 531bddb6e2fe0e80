// Placeholder until the kinetic_closure experiment lands: registered so the kind is known, but it runs nothing.
#include <mpisweep/experiments/registry.hpp>

namespace mpisweep {

Experiment make_kinetic_closure_experiment() {
  Experiment e;
  e.name = "kinetic_closure";
  e.summary = "not implemented yet";
  e.run = [](const Params&, const RunContext&) -> Result {
    throw error("kinetic_closure is not implemented yet");
  };
  return e;
}

}  // namespace mpisweep
