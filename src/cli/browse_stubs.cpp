// Placeholders for the browse commands (show, plot, report) until they land.
#include <mpisweep/cli/commands.hpp>
#include <mpisweep/core/error.hpp>

namespace mpisweep::cli {

namespace {
void placeholder(CLI::App& app, Action& action, const char* name, const char* help) {
  auto* cmd = app.add_subcommand(name, help);
  auto archive = std::make_shared<std::string>();
  cmd->add_option("ARCHIVE", *archive, "the sweep's HDF5 archive")->required();
  cmd->allow_extras();
  cmd->callback([&action, name] {
    action = [name] () -> int { throw error(std::string(name) + " is not implemented yet"); };
  });
}
}  // namespace

void add_show(CLI::App& app, Action& action) {
  placeholder(app, action, "show", "table of results: mean and standard error over seeds");
}
void add_plot(CLI::App& app, Action& action) {
  placeholder(app, action, "plot", "PNG figure of a metric or series against a parameter");
}
void add_report(CLI::App& app, Action& action) {
  placeholder(app, action, "report", "summary table and standard figures into a folder");
}

}  // namespace mpisweep::cli
