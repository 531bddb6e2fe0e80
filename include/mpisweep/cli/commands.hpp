#pragma once
// Subcommands of the mpisweep binary. Each registers itself on the CLI11 app and sets `action`
// to what runs once the command line has parsed; the action returns the exit code
// (design.md "Command line": 0 ok, 1 some tasks failed, 2 bad input, 3 runtime error, 4 stopped).
#include <CLI/CLI.hpp>

#include <functional>

namespace mpisweep::cli {

using Action = std::function<int()>;

void add_run(CLI::App& app, Action& action, int& argc, char**& argv);
void add_status(CLI::App& app, Action& action);
void add_validate(CLI::App& app, Action& action);
void add_experiments(CLI::App& app, Action& action);
void add_show(CLI::App& app, Action& action);
void add_plot(CLI::App& app, Action& action);
void add_report(CLI::App& app, Action& action);

// The whole program; catches every error and maps it to an exit code with a one-line message.
int main(int argc, char** argv);

}  // namespace mpisweep::cli
