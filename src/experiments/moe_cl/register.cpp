// Placeholder until the moe_cl experiment lands: registered so the kind is known, but it runs nothing.
#include <mpisweep/experiments/registry.hpp>

namespace mpisweep {

Experiment make_moe_cl_experiment() {
  Experiment e;
  e.name = "moe_cl";
  e.summary = "not implemented yet";
  e.run = [](const Params&, const RunContext&) -> Result {
    throw error("moe_cl is not implemented yet");
  };
  return e;
}

}  // namespace mpisweep
