#pragma once
// The one place experiment kinds are registered. A new kind adds its factory here and in
// src/experiments/registry.cpp.
#include <mpisweep/experiments/experiment.hpp>

#include <span>
#include <string_view>

namespace mpisweep {

// Factories, one per built-in kind (each in src/experiments/<kind>/).
Experiment make_noop_experiment();
Experiment make_lowrank_q_experiment();
Experiment make_moe_cl_experiment();
Experiment make_kinetic_closure_experiment();

std::span<const Experiment> experiments();  // all kinds, sorted by name
// Throws input_error listing the registered kinds when `name` is unknown.
const Experiment& find_experiment(std::string_view name);

// Resolves `given` against the kind's schema and runs its cross-parameter check.
Params resolve_experiment_params(const Experiment& e, const Params& given);

}  // namespace mpisweep
