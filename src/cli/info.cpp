// `validate`, `experiments` and `status`: read-only commands that never start MPI.
#include <mpisweep/archive/archive.hpp>
#include <mpisweep/cli/commands.hpp>
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/registry.hpp>
#include <mpisweep/runtime/master.hpp>
#include <mpisweep/sweep/spec.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace mpisweep::cli {

void add_validate(CLI::App& app, Action& action) {
  struct Args {
    std::string spec;
    std::vector<std::string> sets;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("validate", "parse and expand a sweep file; print the task count");
  cmd->add_option("SPEC", a->spec, "sweep file (TOML)")->required();
  cmd->add_option("--set", a->sets, "override as for run");
  cmd->callback([a, &action] {
    action = [a] {
      const auto spec = sweep::load_spec(a->spec, a->sets);
      std::printf("%s: %zu tasks (%zu points x %zu seeds) of experiment %s, archive %s\n",
                  a->spec.c_str(), spec.tasks.size(), spec.points.size(), spec.seeds.size(),
                  spec.experiment.c_str(), spec.archive.c_str());
      return 0;
    };
  });
}

namespace {

void print_experiment(const Experiment& e) {
  std::printf("%s: %s\n\nparameters:\n", e.name.c_str(), e.summary.c_str());
  std::size_t w = 4;
  for (const auto& p : e.params) w = std::max(w, p.name.size());
  std::printf("  %-*s  %-6s  %-12s  %-22s  %s\n", int(w), "name", "type", "default", "range", "meaning");
  for (const auto& p : e.params) {
    std::string meaning = p.help + (p.unit.empty() ? "" : " [" + p.unit + "]");
    std::printf("  %-*s  %-6s  %-12s  %-22s  %s\n", int(w), p.name.c_str(),
                std::string(to_string(p.type)).c_str(), format_value(p.default_value).c_str(),
                p.range_text().c_str(), meaning.c_str());
  }
  std::printf("\nmetrics:\n");
  for (const auto& m : e.metrics)
    std::printf("  %-*s  %s%s\n", int(w), m.name.c_str(), m.help.c_str(),
                m.unit.empty() ? "" : (" [" + m.unit + "]").c_str());
  if (!e.series.empty()) std::printf("\nseries:\n");
  for (const auto& s : e.series)
    std::printf("  %-*s  %s (against %s)%s\n", int(w), s.name.c_str(), s.help.c_str(),
                s.axis.empty() ? "index" : s.axis.c_str(),
                s.unit.empty() ? "" : (" [" + s.unit + "]").c_str());
}

}  // namespace

void add_experiments(CLI::App& app, Action& action) {
  auto kind = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("experiments", "list experiment kinds, or one kind's parameters and metrics");
  cmd->add_option("KIND", *kind, "an experiment kind");
  cmd->callback([kind, &action] {
    action = [kind] {
      if (!kind->empty()) {
        print_experiment(find_experiment(*kind));
        return 0;
      }
      for (const auto& e : experiments()) std::printf("%-16s %s\n", e.name.c_str(), e.summary.c_str());
      return 0;
    };
  });
}

namespace {

std::string iso_time(double t) {
  const std::time_t s = static_cast<std::time_t>(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&s));
  return buf;
}

int status_command(const std::string& path) {
  auto reader = archive::Reader::open(path);
  const auto& info = reader.info();
  const auto status = reader.status();
  std::size_t count[4] = {0, 0, 0, 0};
  for (auto s : status) ++count[std::min<std::size_t>(static_cast<std::size_t>(s), 3)];
  const std::size_t total = status.size();
  std::printf("sweep %s (%s), archive %s\n", info.name.c_str(), info.experiment.c_str(), path.c_str());
  std::printf("tasks: %zu total, %zu done, %zu failed, %zu timeout, %zu pending\n", total,
              count[1], count[2], count[3], count[0]);
  const auto runs = reader.runs();
  if (!runs.empty()) {
    const auto& last = runs.back();
    // Rate over the latest run: tasks that ended since it started.
    const auto started = reader.started();
    const auto wall = reader.wall_seconds();
    std::size_t recent = 0;
    double latest_end = last.start;
    for (std::size_t i = 0; i < total; ++i)
      if (status[i] != archive::TaskStatus::pending && started[i] + wall[i] >= last.start) {
        ++recent;
        latest_end = std::max(latest_end, started[i] + wall[i]);
      }
    const bool running = last.exit_status < 0;
    const double end = running ? unix_now() : (last.end > 0 ? last.end : latest_end);
    const double rate = end > last.start ? double(recent) / (end - last.start) : 0;
    std::printf("run %zu: started %s on %d ranks (%s)%s, %s\n", runs.size(),
                iso_time(last.start).c_str(), last.ranks, last.hosts.c_str(),
                last.slurm_job_id.empty() ? "" : (", SLURM job " + last.slurm_job_id).c_str(),
                running ? "running or killed"
                        : ("ended " + iso_time(last.end) + " with exit code " +
                           std::to_string(last.exit_status)).c_str());
    std::printf("progress: %s\n",
                runtime::progress_text(count[1], count[2] + count[3], total, rate).c_str());
  }
  if (count[2] + count[3] > 0) {
    const auto errors = reader.errors();
    const auto ids = reader.ids();
    std::printf("failures (first 5):\n");
    int shown = 0;
    for (std::size_t i = 0; i < total && shown < 5; ++i)
      if (status[i] == archive::TaskStatus::failed || status[i] == archive::TaskStatus::timeout) {
        std::printf("  row %zu (id %016llx): %s\n", i, static_cast<unsigned long long>(ids[i]),
                    errors[i].c_str());
        ++shown;
      }
  }
  return 0;
}

}  // namespace

void add_status(CLI::App& app, Action& action) {
  auto path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("status", "counts by state, rate, ETA and failures; works while a sweep writes");
  cmd->add_option("ARCHIVE", *path, "the sweep's HDF5 archive")->required();
  cmd->callback([path, &action] { action = [path] { return status_command(*path); }; });
}

}  // namespace mpisweep::cli
