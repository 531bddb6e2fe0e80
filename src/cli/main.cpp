#include <mpisweep/cli/commands.hpp>
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/registry.hpp>
#include <mpisweep/mpisweep.hpp>

#include "options.hpp"

#include <cstdio>
#include <string>

namespace mpisweep::cli {

namespace {
// Under mpirun every rank parses the same command line and only rank 0 says what is wrong with
// it. The other ranks end with 0: had they ended with 2, mpirun would abort the job the moment
// the first of them did and could kill rank 0 before its line was out (seen under ASan, where
// ranks start at different speeds). The job still ends with rank 0's 2.
constexpr int silent_rank_exit = 0;
}  // namespace

int main(int argc, char** argv) {
  // Usage lines name the program as the user types it (a user's own binary has its own name),
  // not the path it was started by.
  std::string prog = argc > 0 ? argv[0] : "mpisweep";
  prog = prog.substr(prog.find_last_of('/') + 1);
  CLI::App app{
      "mpisweep: parameter sweeps of numerical experiments under MPI, into one HDF5 archive", prog};
  app.set_version_flag("--version", std::string(MPISWEEP_VERSION) + " (" MPISWEEP_GIT_COMMIT ")");
  app.require_subcommand(1);
  Action action;
  add_run(app, action, argc, argv);
  add_status(app, action);
  add_show(app, action);
  add_plot(app, action);
  add_validate(app, action);
  add_experiments(app, action);
  add_report(app, action);
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    std::string names;
    for (const auto* sub : app.get_subcommands({})) {
      known |= sub->get_name() == argv[1];
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      if (!option::first_rank()) return silent_rank_exit;
      std::fprintf(stderr, "mpisweep: unknown command '%s'; expected one of: %s\n", argv[1],
                   names.c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (!option::first_rank()) return silent_rank_exit;
    std::fprintf(stderr, "mpisweep: %s (see mpisweep --help)\n", e.what());
    return 2;
  }
  try {
    return action ? action() : 2;
  } catch (const input_error& e) {
    std::fprintf(stderr, "mpisweep: %s\n", e.what());
    return 2;
  } catch (const param_error& e) {
    std::fprintf(stderr, "mpisweep: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpisweep: error: %s\n", e.what());
    return 3;
  }
}

}  // namespace mpisweep::cli

namespace mpisweep {

int main(int argc, char** argv, std::vector<Experiment> kinds) {
  try {
    register_experiments(std::move(kinds));
  } catch (const input_error& e) {
    std::fprintf(stderr, "mpisweep: %s\n", e.what());
    return 2;
  }
  return cli::main(argc, argv);
}

}  // namespace mpisweep
