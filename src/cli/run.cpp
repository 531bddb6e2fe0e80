// `mpisweep run`: rank 0 expands the sweep and owns the archive; every other rank is a worker.
#include "options.hpp"

#include <mpisweep/archive/archive.hpp>
#include <mpisweep/cli/commands.hpp>
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/command/command.hpp>
#include <mpisweep/experiments/registry.hpp>
#include <mpisweep/runtime/master.hpp>
#include <mpisweep/runtime/mpi.hpp>
#include <mpisweep/runtime/signals.hpp>
#include <mpisweep/runtime/worker.hpp>
#include <mpisweep/sweep/spec.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>
#include <unordered_map>

namespace mpisweep::cli {

namespace {

struct RunArgs {
  std::string spec;
  std::string archive;
  std::vector<std::string> sets;
  int threads = 0;
  double task_timeout = 0;
  int retries = -1;
  double grace = 60;
  std::string deadline;
  bool fresh = false;
  bool dry_run = false;
  bool quiet = false;
  std::string command_line;
};

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Everything rank 0 decides before the first task runs. Built completely (and every input
// checked) before the archive is created or opened for writing.
struct Plan {
  sweep::Spec spec;
  std::shared_ptr<const Experiment> command;   // experiment = "command": the file's own kind
  const Experiment* experiment = nullptr;
  std::string archive_path;
  archive::Layout layout;
  double task_timeout = 0;
  int retries = 0;
};

Plan make_plan(const RunArgs& a) {
  Plan p;
  p.spec = sweep::load_spec(a.spec, a.sets);
  if (p.spec.command)
    p.command =
        std::make_shared<const Experiment>(command::make_command_experiment(*p.spec.command));
  p.experiment = p.command ? p.command.get() : &find_experiment(p.spec.experiment);
  p.archive_path = a.archive.empty() ? p.spec.archive : a.archive;
  p.task_timeout = a.task_timeout > 0 ? a.task_timeout : p.spec.task_timeout.value_or(0);
  p.retries = a.retries >= 0 ? a.retries : p.spec.retries.value_or(0);
  auto& l = p.layout;
  l.sweep_name = p.spec.name;
  l.experiment = p.spec.experiment;
  l.spec_toml = p.spec.text;
  l.command_line = a.command_line;
  l.spec_hash = p.spec.hash;
  l.params = p.experiment->params;
  l.metrics = p.experiment->metrics;
  l.series = p.experiment->series;
  l.plots = p.experiment->plots;
  return p;
}

// Unix time of "2026-11-23T18:00:00", "+2h30m", "+90m", "+600" (seconds) or a plain number.
double parse_deadline(const std::string& text) {
  if (text.empty()) return 0;
  const double now = unix_now();
  if (text[0] == '+') {
    double total = 0, num = 0;
    bool any = false;
    for (std::size_t i = 1; i < text.size(); ++i) {
      const char c = text[i];
      if (std::isdigit(static_cast<unsigned char>(c))) {
        num = num * 10 + (c - '0');
        any = true;
      } else if (c == 'h' || c == 'm' || c == 's') {
        total += num * (c == 'h' ? 3600 : c == 'm' ? 60 : 1);
        num = 0;
      } else {
        throw input_error("--deadline", "expected +SECONDS, +1h30m or YYYY-MM-DDTHH:MM:SS");
      }
    }
    if (!any) throw input_error("--deadline", "expected +SECONDS, +1h30m or YYYY-MM-DDTHH:MM:SS");
    return now + total + num;
  }
  std::tm tm{};
  if (strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) {
    tm.tm_isdst = -1;
    return static_cast<double>(std::mktime(&tm));
  }
  throw input_error("--deadline", "expected +SECONDS, +1h30m or YYYY-MM-DDTHH:MM:SS");
}

// SLURM's end time of this job, when it runs inside one.
std::optional<double> slurm_end_time() {
  const std::string job = env("SLURM_JOB_ID");
  if (job.empty()) return std::nullopt;
  if (const std::string end = env("SLURM_JOB_END_TIME"); !end.empty()) return std::atof(end.c_str());
  return std::nullopt;
}

class ArchiveObserver final : public runtime::MasterObserver {
 public:
  ArchiveObserver(archive::Writer& w, const std::vector<std::size_t>& rows) : writer_(w), rows_(rows) {}
  void on_hello(int rank, const std::string& host, int) override { hosts_[rank] = host; }
  void on_result(const TaskResult& r) override {
    archive::TaskOutcome o;
    o.status = r.status;
    o.attempts = r.attempts;
    o.worker = r.worker;
    o.host = hosts_[r.worker];
    o.started = r.started;
    o.wall_seconds = r.wall_seconds;
    o.error = r.error;
    o.metrics = r.metrics;
    o.series = r.series;
    writer_.record(rows_[r.index], o);
  }
  void on_tick() override { writer_.flush(); }

 private:
  archive::Writer& writer_;
  const std::vector<std::size_t>& rows_;
  std::map<int, std::string> hosts_;
};

int exit_code_of(const runtime::MasterSummary& s, std::size_t failed_before) {
  if (s.stopped) return 4;
  return s.failed + failed_before > 0 ? 1 : 0;
}

int run_command(RunArgs a, int& argc, char**& argv) {
  runtime::MpiSession mpi(argc, argv);
  runtime::install_stop_handlers();
  runtime::SweepConfig cfg;
  std::optional<Plan> plan;
  std::optional<archive::Writer> writer;
  std::vector<std::size_t> todo_rows;          // archive row of each task to run
  std::vector<std::uint32_t> todo_task;        // index into spec.tasks
  std::vector<std::int32_t> prior_attempts;
  std::size_t done_before = 0, failed_before = 0;
  std::size_t run_row = 0;
  double deadline = 0;

  if (mpi.rank() == 0) {
    try {
      plan = make_plan(a);
      deadline = parse_deadline(a.deadline);
      if (deadline == 0)
        if (auto end = slurm_end_time()) deadline = *end;
      const bool exists = std::filesystem::exists(plan->archive_path);
      if (exists && a.fresh)
        throw input_error(plan->archive_path,
                          "the archive already exists and --fresh asks for a new sweep; move or "
                          "delete it, or drop --fresh to resume");
      const auto& tasks = plan->spec.tasks;
      if (a.dry_run) {
        std::size_t already = 0;
        if (exists) {
          auto reader = archive::Reader::open(plan->archive_path);
          std::unordered_map<std::uint64_t, archive::TaskStatus> st;
          auto ids = reader.ids();
          auto status = reader.status();
          for (std::size_t i = 0; i < ids.size(); ++i) st[ids[i]] = status[i];
          for (const auto& t : tasks)
            if (auto it = st.find(t.id); it != st.end() && it->second == archive::TaskStatus::done) ++already;
        }
        std::printf("%s: %zu tasks (%zu points x %zu seeds) of %s; %zu already done; archive %s\n",
                    a.spec.c_str(), tasks.size(), plan->spec.points.size(),
                    plan->spec.seeds.size(), plan->spec.experiment.c_str(), already,
                    plan->archive_path.c_str());
        cfg.status = -1;  // nothing to run: exit 0
      } else {
        writer = exists ? archive::Writer::open(plan->archive_path, plan->layout)
                        : archive::Writer::create(plan->archive_path, plan->layout);
        std::unordered_map<std::uint64_t, std::size_t> row_of;
        const auto& rows = writer->rows();
        row_of.reserve(rows.size());
        for (std::size_t r = 0; r < rows.size(); ++r) row_of.emplace(rows[r].id, r);
        std::vector<archive::TaskDef> fresh_defs;
        std::vector<std::uint32_t> fresh_task;
        for (std::uint32_t i = 0; i < tasks.size(); ++i) {
          auto it = row_of.find(tasks[i].id);
          if (it == row_of.end()) {
            fresh_defs.push_back({tasks[i].id, tasks[i].seed, plan->spec.points[tasks[i].point]});
            fresh_task.push_back(i);
            continue;
          }
          const auto& st = rows[it->second];
          const bool retry = (st.status == archive::TaskStatus::failed ||
                              st.status == archive::TaskStatus::timeout) &&
                             st.attempts <= plan->retries;
          if (st.status == archive::TaskStatus::done) {
            ++done_before;
          } else if (st.status == archive::TaskStatus::pending || retry) {
            todo_rows.push_back(it->second);
            todo_task.push_back(i);
            prior_attempts.push_back(st.attempts);
          } else {
            ++failed_before;
          }
        }
        if (!fresh_defs.empty()) {
          const std::size_t first = writer->add_tasks(fresh_defs);
          for (std::size_t k = 0; k < fresh_defs.size(); ++k) {
            todo_rows.push_back(first + k);
            todo_task.push_back(fresh_task[k]);
            prior_attempts.push_back(0);
          }
        }
        // A command kind is in no registry: workers get its whole spec in place of a name.
        cfg.experiment = plan->spec.command ? "command:" + command::to_wire(*plan->spec.command)
                                            : plan->spec.experiment;
        cfg.threads_per_worker = a.threads;
        cfg.task_timeout = plan->task_timeout;
      }
    } catch (const input_error& e) {
      std::fprintf(stderr, "mpisweep: %s\n", e.what());
      cfg.status = 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mpisweep: error: %s\n", e.what());
      cfg.status = 3;
    }
  }
  cfg = mpi.broadcast(cfg);
  if (cfg.status == -1) return 0;
  if (cfg.status != 0) return cfg.status;

  const int threads = cfg.threads_per_worker > 0 ? cfg.threads_per_worker
                                                 : mpi.default_worker_threads();
  // Collective, so the /runs row can say where the sweep ran and with how many threads a task.
  const std::string hosts = mpi.gather_hosts();
  const int threads_recorded = mpi.max_over_workers(threads);
  if (mpi.rank() == 0) {
    archive::RunRecord run;
    run.start = unix_now();
    run.ranks = mpi.size();
    run.threads_per_worker = threads_recorded;
    run.hosts = hosts;
    run.git_commit = MPISWEEP_GIT_COMMIT;
    run.mpisweep_version = MPISWEEP_VERSION;
    run.slurm_job_id = env("SLURM_JOB_ID");
    run.slurm_nodelist = env("SLURM_JOB_NODELIST");
    run.command_line = a.command_line;
    run.spec_hash = plan->spec.hash;
    run_row = writer->begin_run(run);
    writer->flush();
  }
  std::optional<Experiment> command_kind;
  if (cfg.experiment.rfind("command:", 0) == 0)
    command_kind = command::make_command_experiment(command::from_wire(cfg.experiment.substr(8)));
  const Experiment& experiment = command_kind ? *command_kind : find_experiment(cfg.experiment);
  runtime::WorkerOptions wopt{threads, cfg.task_timeout, ""};
  {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    wopt.host = host;
  }

  if (mpi.rank() != 0) {
    auto transport = runtime::make_mpi_transport();
    return runtime::run_worker(*transport, experiment, wopt);
  }

  // Master.
  ArchiveObserver observer(*writer, todo_rows);
  runtime::MasterOptions mopt;
  mopt.scheduler.retries = plan->retries;
  if (deadline > 0) mopt.scheduler.deadline = deadline;
  mopt.grace_seconds = a.grace;
  mopt.progress = !a.quiet;
  mopt.total = done_before + failed_before + todo_rows.size();
  mopt.already_done = done_before;
  mopt.already_failed = failed_before;
  const auto& spec = plan->spec;
  auto make_task = [&](std::size_t i) {
    const auto& t = spec.tasks[todo_task[i]];
    TaskSpec s;
    s.row = todo_rows[i];
    s.id = t.id;
    s.seed = t.seed;
    s.params = spec.points[t.point];
    return s;
  };
  auto code_of = [&](const runtime::MasterSummary& s) { return exit_code_of(s, failed_before); };

  runtime::MasterSummary summary;
  int code = 3;
  try {
    if (mpi.size() == 1) {
      // One rank: the worker runs on a thread of this process, over in-process queues.
      auto [master_end, worker_end] = runtime::make_local_pair();
      std::thread worker([&, w = worker_end.get()] { runtime::run_worker(*w, experiment, wopt); });
      try {
        summary = runtime::run_master(*master_end, {1}, prior_attempts, make_task, observer, mopt, code_of);
      } catch (...) {
        runtime::send_stop(*master_end, 1, 3);
        worker.join();
        throw;
      }
      worker.join();
    } else {
      auto transport = runtime::make_mpi_transport();
      std::vector<int> workers;
      for (int r = 1; r < mpi.size(); ++r) workers.push_back(r);
      summary = runtime::run_master(*transport, workers, prior_attempts, make_task, observer, mopt, code_of);
    }
    code = code_of(summary);
    writer->end_run(run_row, unix_now(), code);
    writer->close();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpisweep: error: %s\n", e.what());
    try {
      writer->flush();
    } catch (...) {
    }
    if (mpi.size() > 1) mpi.abort(3);
    return 3;
  }
  if (summary.stopped && !a.quiet)
    std::fprintf(stderr, "mpisweep: stopped with %zu tasks not run; run the same command again to resume\n",
                 summary.not_run);
  return code;
}

}  // namespace

void add_run(CLI::App& app, Action& action, int& argc, char**& argv) {
  auto a = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "run a sweep (resumes by default) into its HDF5 archive");
  cmd->add_option("SPEC", a->spec, "sweep file (TOML)")->required();
  cmd->add_option("--archive", a->archive, "archive path (default: [sweep] archive, or results/<name>.h5)");
  cmd->add_option("--set", a->sets, "override: PARAM=VALUE (a list makes a grid axis) or sweep.KEY=VALUE")
      ->take_all()->allow_extra_args(false);
  cmd->add_option("--threads-per-worker", a->threads, "threads each task may use (default: the cores each worker owns)")
      ->check(option::integer_at_least(1));
  cmd->add_option("--task-timeout", a->task_timeout, "seconds after which a task is cancelled and recorded as timeout")
      ->check(option::positive_number());
  cmd->add_option("--retries", a->retries, "extra attempts for failed or timed-out tasks (default 0)")
      ->check(option::integer_at_least(0));
  cmd->add_option("--grace", a->grace, "after a stop signal, seconds running tasks may take to finish (default 60)")
      ->check(option::non_negative_number());
  cmd->add_option("--deadline", a->deadline,
                  "do not start tasks that cannot end before this time (+SECONDS, +1h30m or "
                  "YYYY-MM-DDTHH:MM:SS; default under SLURM: the job's end)");
  cmd->add_flag("--fresh", a->fresh, "this must be a new sweep: refuse if the archive exists");
  cmd->add_flag("--dry-run", a->dry_run, "parse and expand only; print what would run");
  cmd->add_flag("-q,--quiet", a->quiet, "no progress line");
  cmd->callback([a, &action, &argc, &argv] {
    for (int i = 0; i < argc; ++i) a->command_line += (i ? " " : "") + std::string(argv[i]);
    action = [a, &argc, &argv] { return run_command(*a, argc, argv); };
  });
}

}  // namespace mpisweep::cli
