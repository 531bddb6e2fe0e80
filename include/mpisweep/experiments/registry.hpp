#pragma once
// The one place experiment kinds are registered. A built-in kind adds its factory here and in
// src/experiments/registry.cpp; a user's own binary adds its kinds through mpisweep::main
// (include/mpisweep/mpisweep.hpp), which calls register_experiments.
#include <mpisweep/experiments/experiment.hpp>

#include <span>
#include <string_view>
#include <vector>

namespace mpisweep {

// Factories, one per built-in kind (each in src/experiments/<kind>/).
Experiment make_noop_experiment();
Experiment make_lowrank_q_experiment();
Experiment make_moe_cl_experiment();
Experiment make_kinetic_closure_experiment();

// Adds kinds beside the built-in ones. Call once from main, before anything looks a kind up (the
// registry freezes on the first lookup; a later call is an internal_error). A name that is not an
// identifier, is reserved ("command"), clashes with a built-in or repeats, or a kind without a run
// function, is an input_error naming the kind. Not thread-safe.
void register_experiments(std::vector<Experiment> kinds);

std::span<const Experiment> experiments();  // all kinds, sorted by name
// Throws input_error listing the registered kinds when `name` is unknown.
const Experiment& find_experiment(std::string_view name);

// Resolves `given` against the kind's schema and runs its cross-parameter check.
Params resolve_experiment_params(const Experiment& e, const Params& given);

}  // namespace mpisweep
