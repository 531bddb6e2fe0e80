#pragma once
// A sweep file's [command] table (experiment = "command"): the program to run and its declared
// outputs, with the parameters declared by the values the file gives them. Private to the sweep
// layer: spec.cpp calls it while it parses.
#include <mpisweep/experiments/command/command.hpp>

#include <toml++/toml.h>

#include <functional>
#include <string>

namespace mpisweep::sweep::detail {

struct CommandKind {
  command::CommandSpec spec;
  Experiment experiment;  // make_command_experiment(spec)
  std::string identity;   // mixed into every task id in place of the experiment's name
};

// Reads [command] from `root` (after --set overrides) and infers each parameter's type from the
// values in [params], [grid], [zip] and [random]. `where` names a node as "file:line". Throws
// input_error for: a missing or malformed [command], an unknown {name} in a template, a metric
// or series name that is not an identifier, values of mixed types, and a parameter that `run`
// leaves out while naming others (see the .cpp for why that is the rule).
CommandKind read_command_table(const toml::table& root, const std::string& path,
                               const std::function<std::string(const toml::node&)>& where);

}  // namespace mpisweep::sweep::detail
