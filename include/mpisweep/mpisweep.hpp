#pragma once
// The public face of mpisweep for your own experiment kinds (docs/your-experiment.md). A program
// that includes this header, links mpisweep::mpisweep (find_package(mpisweep CONFIG)) and returns
// mpisweep::main(argc, argv, {my_kind()}) from its main is a whole mpisweep — run, status, show,
// plot, report, experiments, validate — that knows its kinds beside the built-in ones.
//
// An experiment is a pure function of its parameters and a seed (design.md "Experiments"): it
// declares its parameters (ParamSpec), scalar metrics (MetricSpec), per-task arrays (SeriesSpec)
// and standard figures (PlotSpec), and its run function turns Params and a RunContext (seed,
// thread budget, cancellation, progress) into a Result. Draw random numbers from Rng(ctx.seed),
// never from global state, so a task's numbers do not depend on where or when it runs.
#include <mpisweep/core/error.hpp>
#include <mpisweep/core/params.hpp>
#include <mpisweep/core/rng.hpp>
#include <mpisweep/core/schema.hpp>
#include <mpisweep/core/value.hpp>
#include <mpisweep/experiments/experiment.hpp>

#include <vector>

namespace mpisweep {

// Runs the mpisweep command line with `kinds` registered beside the built-in kinds; returns the
// exit code (design.md "Command line"). Every rank of an MPI job runs it, so every rank knows the
// kinds. A kind whose name clashes with a built-in one (or is not an identifier) is reported in
// one line and gives exit code 2 before anything runs.
int main(int argc, char** argv, std::vector<Experiment> kinds);

}  // namespace mpisweep
