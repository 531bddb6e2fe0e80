// Placeholder until the lowrank_q experiment lands: registered so the kind is known, but it runs nothing.
#include <mpisweep/experiments/registry.hpp>

namespace mpisweep {

Experiment make_lowrank_q_experiment() {
  Experiment e;
  e.name = "lowrank_q";
  e.summary = "not implemented yet";
  e.run = [](const Params&, const RunContext&) -> Result {
    throw error("lowrank_q is not implemented yet");
  };
  return e;
}

}  // namespace mpisweep
