// `mpisweep status`: counts, every run of the archive (start, end, ranks, hosts, exit) and the
// failed tasks with their parameters, as text or JSON; works while a sweep writes.
#include <mpisweep/core/text.hpp>
#include "options.hpp"

#include <mpisweep/archive/archive.hpp>
#include <mpisweep/cli/aggregate.hpp>
#include <mpisweep/cli/commands.hpp>
#include <mpisweep/core/error.hpp>
#include <mpisweep/runtime/master.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace mpisweep::cli {

namespace {

std::string iso_time(double t) { return t <= 0 ? "-" : local_time_text(t); }

// "work_us=100, fail_rate=0.5, seed 3": what a person needs to rerun or exclude the task.
std::string task_text(const TaskTable& t, std::size_t row) {
  std::string out;
  for (std::size_t p = 0; p < t.params.size(); ++p)
    out +=
        t.params[p].name + "=" + display_value(t.param_values[p][row], t.params[p].random) + ", ";
  return out + "seed " + std::to_string(t.seeds[row]);
}

// The rows of running tasks that report how far they are (/tasks/progress), with the fraction.
std::vector<std::pair<std::size_t, double>> running(const TaskTable& t,
                                                    const std::vector<double>& progress) {
  std::vector<std::pair<std::size_t, double>> out;
  for (std::size_t i = 0; i < t.rows() && i < progress.size(); ++i)
    if (!std::isnan(progress[i])) out.emplace_back(i, progress[i]);
  return out;
}

std::string run_end(const archive::RunRecord& r) {
  return r.exit_status < 0 ? "running or killed" : iso_time(r.end);
}

// A run's spec in a word: its hash's first 8 hex digits, whether the file text differs from the
// run before (so the sweep was edited), and the --set overrides it ran with.
std::string spec_text(const std::vector<archive::RunRecord>& runs, std::size_t i) {
  const auto& r = runs[i];
  std::string out = task_id_hex(r.spec_hash).substr(0, 8);
  if (i > 0 && !r.spec_toml.empty() && !runs[i - 1].spec_toml.empty() &&
      r.spec_toml != runs[i - 1].spec_toml)
    out += " (file edited)";
  for (const auto& s : split(r.overrides, "\n")) out += " --set " + s;
  return out;
}

// Tasks each run finished: those that started between its start and the next run's. A task
// run again later counts for the later run (its row holds the last attempt).
std::vector<std::size_t> tasks_per_run(const std::vector<archive::RunRecord>& runs,
                                       const std::vector<double>& started,
                                       const std::vector<archive::TaskStatus>& status) {
  std::vector<std::size_t> n(runs.size(), 0);
  for (std::size_t t = 0; t < started.size() && t < status.size(); ++t) {
    // NaN: never started.
    if (status[t] == archive::TaskStatus::pending || !(started[t] > 0)) continue;
    for (std::size_t i = runs.size(); i-- > 0;)
      if (started[t] >= runs[i].start) {
        ++n[i];
        break;
      }
  }
  return n;
}

int status_command(const std::string& path, const std::string& format) {
  auto reader = archive::Reader::open(path);
  const auto& info = reader.info();
  const TaskTable t = load_table(reader);
  Counts c;
  for (auto s : t.status) c.add(s);
  const auto runs = reader.runs();
  const auto errors = reader.errors();
  const auto ids = reader.ids();
  const auto active = running(t, reader.progress());
  const auto per_run = tasks_per_run(runs, reader.started(), t.status);
  std::vector<std::size_t> failed;
  for (std::size_t i = 0; i < t.rows(); ++i)
    if (t.status[i] == archive::TaskStatus::failed || t.status[i] == archive::TaskStatus::timeout)
      failed.push_back(i);

  if (format == "json") {
    std::string o = "{\n  \"sweep\": " + json_string(info.name) +
                    ",\n  \"experiment\": " + json_string(info.experiment) +
                    ",\n  \"archive\": " + json_string(path) +
                    ",\n  \"counts\": {\"done\": " + std::to_string(c.done) +
                    ", \"failed\": " + std::to_string(c.failed) +
                    ", \"timeout\": " + std::to_string(c.timeout) +
                    ", \"pending\": " + std::to_string(c.pending) +
                    ", \"total\": " + std::to_string(c.total()) + "},\n  \"runs\": [";
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const auto& r = runs[i];
      o += std::string(i ? "," : "") + "\n    {\"start\": " + json_number(r.start) +
           ", \"end\": " + (r.exit_status < 0 ? "null" : json_number(r.end)) +
           ", \"ranks\": " + std::to_string(r.ranks) +
           ", \"threads_per_worker\": " + std::to_string(r.threads_per_worker) +
           ", \"hosts\": " + json_string(r.hosts) +
           ", \"slurm_job_id\": " + json_string(r.slurm_job_id) +
           ", \"exit_status\": " + (r.exit_status < 0 ? "null" : std::to_string(r.exit_status)) +
           ", \"command_line\": " + json_string(r.command_line) +
           ", \"tasks\": " + std::to_string(per_run[i]) + ", \"spec_hash\": \"" +
           task_id_hex(r.spec_hash) + "\", \"overrides\": [";
      const auto sets = split(r.overrides, "\n");
      for (std::size_t k = 0; k < sets.size(); ++k) o += (k ? ", " : "") + json_string(sets[k]);
      o += "], \"spec_toml\": " + json_string(r.spec_toml) + "}";
    }
    o += "\n  ],\n  \"running\": [";
    for (std::size_t k = 0; k < active.size(); ++k)
      o += std::string(k ? "," : "") + "\n    {\"id\": \"" + task_id_hex(ids.at(active[k].first)) +
           "\", \"seed\": " + std::to_string(t.seeds[active[k].first]) +
           ", \"progress\": " + json_number(active[k].second) + "}";
    o += "\n  ],\n  \"failures\": [";
    for (std::size_t k = 0; k < failed.size(); ++k) {
      const std::size_t i = failed[k];
      o += std::string(k ? "," : "") + "\n    {\"id\": \"" + task_id_hex(ids.at(i)) +
           "\", \"status\": \"" + std::string(to_string(t.status[i])) +
           "\", \"seed\": " + std::to_string(t.seeds[i]) + ", \"params\": {";
      for (std::size_t p = 0; p < t.params.size(); ++p)
        o += (p ? ", " : "") + json_string(t.params[p].name) + ": " +
             json_value(t.param_values[p][i]);
      o += "}, \"error\": " + json_string(errors.at(i)) + "}";
    }
    o += "\n  ]\n}\n";
    std::fputs(o.c_str(), stdout);
    return 0;
  }

  std::printf("sweep %s (%s), archive %s\n", info.name.c_str(), info.experiment.c_str(),
              path.c_str());
  std::printf("tasks: %zu total, %zu done, %zu failed, %zu timed out, %zu pending\n", c.total(),
              c.done, c.failed, c.timeout, c.pending);
  if (!runs.empty()) {
    std::printf("\nruns:\n");
    std::size_t hw = 5;
    for (const auto& r : runs) hw = std::max(hw, r.hosts.size());
    std::printf("  %3s  %-19s  %-19s  %5s  %7s  %-*s  %4s  %6s  %s\n", "run", "start", "end",
                "ranks", "threads", int(hw), "hosts", "exit", "tasks", "spec");
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const auto& r = runs[i];
      std::printf("  %3zu  %-19s  %-19s  %5d  %7d  %-*s  %4s  %6zu  %s\n", i + 1,
                  iso_time(r.start).c_str(), run_end(r).c_str(), r.ranks, r.threads_per_worker,
                  int(hw), r.hosts.c_str(),
                  r.exit_status < 0 ? "-" : std::to_string(r.exit_status).c_str(), per_run[i],
                  spec_text(runs, i).c_str());
    }
    // Rate over the latest run: tasks that ended since it started.
    const auto& last = runs.back();
    const auto started = reader.started();
    const auto wall = reader.wall_seconds();
    std::size_t recent = 0;
    double latest_end = last.start;
    for (std::size_t i = 0; i < t.rows() && i < started.size() && i < wall.size(); ++i)
      if (t.status[i] != archive::TaskStatus::pending && started[i] + wall[i] >= last.start) {
        ++recent;
        latest_end = std::max(latest_end, started[i] + wall[i]);
      }
    const double end = last.exit_status < 0 ? unix_now() : (last.end > 0 ? last.end : latest_end);
    const double rate = end > last.start ? double(recent) / (end - last.start) : 0;
    std::printf("\nprogress: %s\n",
                runtime::progress_text(c.done, c.failed + c.timeout, c.total(), rate).c_str());
  }
  if (!active.empty()) {
    const std::size_t shown = std::min<std::size_t>(active.size(), 10);
    std::printf("\nrunning, as the tasks last reported%s:\n",
                shown < active.size() ? (" (first " + std::to_string(shown) + ")").c_str() : "");
    for (std::size_t k = 0; k < shown; ++k)
      std::printf("  %s: %.0f%%\n", task_text(t, active[k].first).c_str(), 100 * active[k].second);
  }
  if (!failed.empty()) {
    const std::size_t shown = std::min<std::size_t>(failed.size(), 10);
    std::printf("\nfailures%s:\n",
                shown < failed.size() ? (" (first " + std::to_string(shown) + ")").c_str() : "");
    for (std::size_t k = 0; k < shown; ++k) {
      const std::size_t i = failed[k];
      std::printf("  %s%s: %s\n", task_text(t, i).c_str(),
                  t.status[i] == archive::TaskStatus::timeout ? " (timed out)" : "",
                  errors.at(i).c_str());
    }
    if (shown < failed.size())
      std::printf("  ... %zu more: mpisweep show %s --rows --where 'status != done'\n",
                  failed.size() - shown, path.c_str());
  }
  return 0;
}

}  // namespace

void add_status(CLI::App& app, Action& action) {
  auto path = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("text");
  auto* cmd = app.add_subcommand(
      "status",
      "counts, every run, rate and the failed tasks with their parameters; works while "
      "a sweep writes");
  cmd->add_option("ARCHIVE", *path, "the sweep's HDF5 archive")->required();
  cmd->add_option("--format", *format, "text or json")->check(option::one_of({"text", "json"}));
  cmd->callback([path, format, &action] {
    action = [path, format] { return status_command(*path, *format); };
  });
}

}  // namespace mpisweep::cli
