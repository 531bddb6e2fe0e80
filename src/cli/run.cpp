// `mpisweep run`: rank 0 expands the sweep and owns the archive; every other rank is a worker.
#include "archive_progress.hpp"
#include "options.hpp"
#include "point_table.hpp"

#include <mpisweep/archive/archive.hpp>
#include <mpisweep/archive/series_files.hpp>
#include <mpisweep/cli/commands.hpp>
#include <mpisweep/core/chunk_codec.hpp>
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/command/command.hpp>
#include <mpisweep/experiments/registry.hpp>
#include <mpisweep/runtime/master.hpp>
#include <mpisweep/runtime/context.hpp>
#include <mpisweep/runtime/liveness.hpp>
#include <mpisweep/runtime/signals.hpp>
#include <mpisweep/runtime/worker.hpp>
#include <mpisweep/sweep/resume.hpp>
#include <mpisweep/sweep/spec.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <limits>
#include <optional>

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
  bool list = false;  // with --dry-run: print the points
  bool quiet = false;
  std::string progress = "auto";
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
  std::shared_ptr<const Experiment> command;  // experiment = "command": the file's own kind
  const Experiment* experiment = nullptr;
  std::string archive_path;
  archive::Layout layout;
  double task_timeout = 0;
  int retries = 0;
};

// What rank 0 holds while the sweep runs.
struct MasterState {
  std::optional<Plan> plan;
  std::optional<archive::Writer> writer;
  sweep::ResumePlan resume;  // what to run; todo[i] is the master's task i
  std::size_t run_row = 0;   // this run's /runs row
  double deadline = 0;       // unix time; 0: none
  runtime::Liveness liveness;
  bool end_job = false;  // a worker was lost: the job must be aborted once the archive is closed
};

// The chunk of a series whose length a parameter gives (SeriesSpec::length_param), from the
// sweep's smallest value of it: every task's array then fills at least one chunk, so none is
// packed by the master, and a 10 MB array goes in 1 MiB chunks (chunk_codec::chunk_elements).
// 0 (the rule's default) for any other series.
std::int64_t planned_chunk(const sweep::Spec& spec, const SeriesSpec& s) {
  if (s.length_param.empty() || !s.shape.empty()) return 0;
  const auto it = std::find(spec.param_names.begin(), spec.param_names.end(), s.length_param);
  if (it == spec.param_names.end()) return 0;
  const auto k = static_cast<std::size_t>(it - spec.param_names.begin());
  std::int64_t least = 0;
  for (const auto& point : spec.points)
    if (const auto* n = std::get_if<std::int64_t>(&point[k]); n && *n > 0)
      least = least == 0 ? *n : std::min(least, *n);
  return least > 0 ? chunk_codec::chunk_elements(s, least) : 0;
}

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
  if (p.spec.series_files) l.series_files = archive::series_files::folder_name_of(p.archive_path);
  for (auto& s : l.series) s.chunk = planned_chunk(p.spec, s);
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
  // Whole text only: strptime stops at the first character it does not need.
  if (const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm); rest && !*rest) {
    tm.tm_isdst = -1;
    return static_cast<double>(std::mktime(&tm));
  }
  throw input_error("--deadline", "expected +SECONDS, +1h30m or YYYY-MM-DDTHH:MM:SS");
}

// SLURM's end time of this job, when it runs inside one.
std::optional<double> slurm_end_time() {
  const std::string job = env("SLURM_JOB_ID");
  if (job.empty()) return std::nullopt;
  if (const std::string end = env("SLURM_JOB_END_TIME"); !end.empty())
    return std::atof(end.c_str());
  return std::nullopt;
}

// The archive is one observer of the master: every attempt goes into its task's row.
class ArchiveObserver final : public runtime::MasterObserver {
 public:
  ArchiveObserver(archive::Writer& w, const std::vector<sweep::ResumePlan::Todo>& todo)
      : writer_(w), todo_(todo) {}
  void on_result(std::size_t task, const Outcome& outcome, bool) override {
    writer_.record(todo_[task].row, outcome);
  }
  void on_tick() override { writer_.flush(); }

 private:
  archive::Writer& writer_;
  const std::vector<sweep::ResumePlan::Todo>& todo_;
};

int exit_code_of(const runtime::MasterSummary& s, std::size_t failed_before) {
  if (!s.lost.empty()) return 3;  // the job cannot end normally without that rank
  if (s.stopped) return 4;
  return s.failed + failed_before > 0 ? 1 : 0;
}

// The rows the archive lacks (the tail of resume.todo), made and appended a block at a time:
// at 10^7 tasks all TaskRecords at once would take ~2 GB.
void append_new_rows(const sweep::Spec& spec, const sweep::ResumePlan& resume,
                     archive::Writer& writer) {
  constexpr std::size_t block = 65536;
  const std::size_t first = resume.todo.size() - resume.new_rows;
  writer.reserve_tasks(writer.rows().size() + resume.new_rows);
  std::vector<TaskRecord> records;
  for (std::size_t k = first; k < resume.todo.size(); k += block) {
    records.clear();
    for (std::size_t i = k; i < std::min(k + block, resume.todo.size()); ++i)
      records.push_back(sweep::task_record(spec, resume.todo[i].task));
    if (writer.add_tasks(records) != resume.todo[k].row)
      throw internal_error("run: new rows were not appended where reconcile() put them");
  }
}

// --dry-run: what would run, from the archive as it is (read-only).
void print_dry_run(const RunArgs& a, const Plan& plan, bool exists) {
  std::size_t already = 0;
  if (exists) {
    auto reader = archive::Reader::open(plan.archive_path);
    const auto ids = reader.ids();
    const auto status = reader.status();
    const auto attempts = reader.attempts();
    std::vector<RowState> rows(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) rows[i] = {ids[i], status[i], attempts[i]};
    already = sweep::reconcile(plan.spec, rows, plan.retries).done;
  }
  std::printf("%s: %s of %s; %zu already done; archive %s\n", a.spec.c_str(),
              task_count_text(plan.spec).c_str(), plan.spec.experiment.c_str(), already,
              plan.archive_path.c_str());
  if (a.list) print_point_table(plan.spec);
}

// Rank 0, before anything runs: the plan, the archive opened or created, and what to run.
// Returns the configuration every rank receives (status -1: nothing to run).
runtime::SweepConfig prepare(const RunArgs& a, MasterState& m) {
  runtime::SweepConfig cfg;
  try {
    m.plan = make_plan(a);
    const Plan& plan = *m.plan;
    m.deadline = parse_deadline(a.deadline);
    m.liveness = runtime::liveness_from_env();
    if (m.deadline == 0)
      if (auto end = slurm_end_time()) m.deadline = *end;
    const bool exists = std::filesystem::exists(plan.archive_path);
    if (exists && a.fresh)
      throw input_error(plan.archive_path,
                        "the archive already exists and --fresh asks for a new sweep; move or "
                        "delete it, or drop --fresh to resume");
    if (a.dry_run) {
      print_dry_run(a, plan, exists);
      cfg.status = -1;
      return cfg;
    }
    // A new archive gets its rows before it has its name (Writer::create), so a kill at any
    // moment leaves it with every row or leaves none.
    auto add_rows = [&](archive::Writer& w) {
      m.resume = sweep::reconcile(plan.spec, w.rows(), plan.retries);
      append_new_rows(plan.spec, m.resume, w);
    };
    if (exists) {
      m.writer = archive::Writer::open(plan.archive_path, plan.layout);
      add_rows(*m.writer);
    } else {
      m.writer = archive::Writer::create(plan.archive_path, plan.layout, add_rows);
    }
    // A command kind is in no registry: workers get its whole spec in place of a name.
    cfg.experiment = plan.spec.command ? "command:" + command::to_wire(*plan.spec.command)
                                       : plan.spec.experiment;
    cfg.threads_per_worker = a.threads;
    cfg.task_timeout = plan.task_timeout;
    cfg.heartbeat_seconds = m.liveness.heartbeat_seconds;
    if (const std::string folder = m.writer->series_folder(); !folder.empty()) {
      // Workers on other hosts find the block files where rank 0 does (a shared file system).
      cfg.series_folder = std::filesystem::absolute(folder).string();
      cfg.first_block = m.writer->series_first_block();
      cfg.block_elements = m.writer->series_block_elements();
    }
    for (const auto& s : m.writer->layout().series)
      cfg.series_chunks.push_back(chunk_codec::chunk_elements(s));
  } catch (const input_error& e) {
    std::fprintf(stderr, "mpisweep: %s\n", e.what());
    cfg.status = 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpisweep: error: %s\n", e.what());
    cfg.status = 3;
  }
  return cfg;
}

archive::RunRecord run_record(const RunArgs& a, const Plan& plan, runtime::Context& ctx,
                              const std::string& hosts, int threads) {
  archive::RunRecord run;
  run.start = unix_now();
  run.ranks = ctx.size();
  run.threads_per_worker = threads;
  run.hosts = hosts;
  run.git_commit = MPISWEEP_GIT_COMMIT;
  run.mpisweep_version = MPISWEEP_VERSION;
  run.slurm_job_id = env("SLURM_JOB_ID");
  run.slurm_nodelist = env("SLURM_JOB_NODELIST");
  run.command_line = a.command_line;
  run.spec_hash = plan.spec.hash;
  // The effective spec of this run (the file may have been edited since the archive began).
  run.spec_toml = plan.spec.text;
  run.overrides = join(a.sets, "\n");
  return run;
}

// [sweep] order = "longest_first": the expected cost of each task to run, from its point's cost
// parameter, or its point as the class whose durations are measured as the sweep runs.
void set_order(const sweep::Spec& spec, const std::vector<sweep::ResumePlan::Todo>& todo,
               runtime::SchedulerOptions& o) {
  if (!spec.longest_first) return;
  if (spec.cost == "measured") {
    o.cost_class.reserve(todo.size());
    for (const auto& t : todo) o.cost_class.push_back(spec.tasks[t.task].point);
    return;
  }
  const auto k = static_cast<std::size_t>(
      std::find(spec.param_names.begin(), spec.param_names.end(), spec.cost) -
      spec.param_names.begin());
  o.expected_seconds.reserve(todo.size());
  for (const auto& t : todo) {
    const Value& v = spec.points[spec.tasks[t.task].point].at(k);
    o.expected_seconds.push_back(std::holds_alternative<double>(v)
                                     ? std::get<double>(v)
                                     : static_cast<double>(std::get<std::int64_t>(v)));
  }
}

runtime::ProgressMode progress_mode(const RunArgs& a) {
  using runtime::ProgressMode;
  if (a.quiet || a.progress == "none") return ProgressMode::none;
  return a.progress == "bar"     ? ProgressMode::bar
         : a.progress == "lines" ? ProgressMode::lines
                                 : ProgressMode::automatic;
}

// The master's side of a run: the scheduler loop with the archive and the progress line watching.
int run_master_side(const RunArgs& a, MasterState& m, runtime::Transport& transport,
                    const std::vector<int>& workers) {
  const Plan& plan = *m.plan;
  const auto& todo = m.resume.todo;
  ArchiveObserver archive_observer(*m.writer, todo);
  const auto mode = progress_mode(a);
  runtime::ProgressObserver progress(m.resume.done + m.resume.failed + todo.size(), m.resume.done,
                                     m.resume.failed, mode);
  ArchiveProgress archive_progress(*m.writer, todo);
  std::vector<runtime::MasterObserver*> observers = {&archive_observer, &archive_progress};
  if (mode != runtime::ProgressMode::none) observers.push_back(&progress);
  runtime::MasterOptions mopt;
  mopt.scheduler.retries = plan.retries;
  if (m.deadline > 0) mopt.scheduler.deadline = m.deadline;
  mopt.grace_seconds = a.grace;
  mopt.lost_after_seconds = m.liveness.lost_after_seconds;
  mopt.task_timeout = plan.task_timeout;
  std::vector<std::int32_t> prior;
  prior.reserve(todo.size());
  for (const auto& t : todo) prior.push_back(t.attempts);
  set_order(plan.spec, todo, mopt.scheduler);
  auto make_task = [&](std::size_t i) { return sweep::task_record(plan.spec, todo[i].task); };
  auto code_of = [&](const runtime::MasterSummary& s) { return exit_code_of(s, m.resume.failed); };
  runtime::MasterSummary summary;
  try {
    summary = runtime::run_master(transport, workers, std::move(prior), make_task, observers, mopt,
                                  code_of);
  } catch (...) {
    // Whatever was recorded reaches the disk before the error guard reports and aborts.
    try {
      m.writer->flush();
    } catch (...) {
    }
    throw;
  }
  const int code = code_of(summary);
  m.writer->end_run(m.run_row, unix_now(), code);
  m.writer->close();
  for (const auto& w : summary.lost)
    std::fprintf(stderr,
                 "mpisweep: worker rank %d on %s was lost (%s); the archive is complete and "
                 "flushed; ending the job with exit 3 without waiting for that rank\n",
                 w.rank, w.host.c_str(), w.reason.c_str());
  m.end_job = !summary.lost.empty();
  if (summary.stopped && mode != runtime::ProgressMode::none)
    std::fprintf(stderr,
                 "mpisweep: stopped with %zu tasks not run; run the same command again to "
                 "resume\n",
                 summary.not_run);
  return code;
}

// Collective, before anything is created: more threads per task than a worker's node has cores
// is a typo (or a misread job script), never a speed-up. The cap is the online cores of the
// smallest worker node, not the cores a launcher binds a rank to: results do not depend on the
// thread count, and running 2 threads on one bound core is a legitimate check of exactly that.
int check_thread_cap(runtime::Context& ctx, int threads) {
  if (threads <= 0) return 0;
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  const int cores = static_cast<int>(std::max(1L, online));
  const bool master_only = ctx.rank() == 0 && ctx.size() > 1;
  const int cap = -ctx.max(master_only ? std::numeric_limits<int>::min() : -cores);
  if (threads <= cap) return 0;
  if (ctx.rank() == 0)
    std::fprintf(stderr,
                 "mpisweep: --threads-per-worker: %d is more than the %d cores of a worker's "
                 "node; use at most %d\n",
                 threads, cap, cap);
  return 2;
}

// Rank 0 gave up on a rank at start-up (a frozen rank, a hung node): the archive, if prepare()
// opened it, is closed as it is (no run recorded yet), the one line names the ranks, and the job
// ends with 3, since MPI cannot end it without them.
[[noreturn]] void end_start_up(runtime::Context& ctx, MasterState& m,
                               const runtime::startup_timeout& e) {
  try {
    if (m.writer) m.writer->close();
  } catch (const std::exception& close_error) {
    std::fprintf(stderr, "mpisweep: error: %s\n", close_error.what());
  }
  std::fprintf(stderr, "mpisweep: %s\n", e.what());
  std::fflush(stderr);
  ctx.abort(3);
  std::_Exit(3);  // not reached: GCC does not carry [[noreturn]] through a virtual call
}

int run_command(const RunArgs& a, int& argc, char**& argv) {
  auto ctx = runtime::make_mpi_context(argc, argv);
  runtime::install_stop_handlers();
  MasterState m;  // rank 0's state
  runtime::SweepConfig cfg;
  try {
    if (const int code = check_thread_cap(*ctx, a.threads)) return code;
    if (ctx->rank() == 0) cfg = prepare(a, m);
    cfg = runtime::broadcast(*ctx, cfg);
  } catch (const runtime::startup_timeout& e) {
    end_start_up(*ctx, m, e);
  }
  if (cfg.status == -1) return 0;
  if (cfg.status != 0) return cfg.status;

  return runtime::guarded(*ctx, [&] {
    int threads = 0, threads_recorded = 0;
    std::string hosts;
    try {
      threads = cfg.threads_per_worker > 0 ? cfg.threads_per_worker : ctx->default_worker_threads();
      // Collective, so the /runs row can say where the sweep ran and with how many threads.
      hosts = runtime::gather_hosts(*ctx);
      threads_recorded = runtime::max_over_workers(*ctx, threads);
    } catch (const runtime::startup_timeout& e) {
      end_start_up(*ctx, m, e);
    }
    if (ctx->rank() == 0) {
      m.run_row = m.writer->begin_run(run_record(a, *m.plan, *ctx, hosts, threads_recorded));
      m.writer->flush();
    }
    std::optional<Experiment> command_kind;
    if (cfg.experiment.rfind("command:", 0) == 0)
      command_kind = command::make_command_experiment(command::from_wire(cfg.experiment.substr(8)));
    const Experiment& declared = command_kind ? *command_kind : find_experiment(cfg.experiment);
    // Workers encode each series in the archive's chunks, which the master chose (planned_chunk)
    // or found in the archive it resumes.
    Experiment experiment = declared;
    for (std::size_t k = 0; k < experiment.series.size() && k < cfg.series_chunks.size(); ++k)
      experiment.series[k].chunk = cfg.series_chunks[k];
    runtime::WorkerOptions wopt{threads, cfg.task_timeout, ctx->host()};
    wopt.heartbeat_seconds = cfg.heartbeat_seconds;
    wopt.abort = [&ctx](int code) { ctx->abort(code); };
    std::optional<archive::series_files::BlockWriter> blocks;
    if (!cfg.series_folder.empty()) {
      // Worker rank w of W takes blocks first + (w - 1), then + W each (series_files.hpp); with
      // one process the worker is rank 1 of 1.
      const int workers = std::max(1, ctx->size() - 1), w = std::max(1, ctx->rank());
      blocks.emplace(cfg.series_folder, experiment.series, cfg.first_block + (w - 1), workers,
                     cfg.block_elements);
      wopt.place_series = [&blocks](Outcome& o) { return blocks->place(o); };
      wopt.flush_series = [&blocks] { blocks->flush(); };
    }
    return runtime::run_ranks(
        *ctx,
        [&](runtime::Transport& t, const std::vector<int>& workers) {
          const int code = run_master_side(a, m, t, workers);
          if (m.end_job) {
            std::fflush(stderr);
            ctx->abort(code);
          }
          return code;
        },
        [&](runtime::Transport& t) { return runtime::run_worker(t, experiment, wopt); });
  });
}

}  // namespace

void add_run(CLI::App& app, Action& action, int& argc, char**& argv) {
  auto a = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "run a sweep (resumes by default) into its HDF5 archive");
  cmd->add_option("SPEC", a->spec, "sweep file (TOML)")->required();
  cmd->add_option("--archive", a->archive,
                  "archive path (default: [sweep] archive, or results/<name>.h5)");
  cmd->add_option("--set", a->sets,
                  "override: PARAM=VALUE (a list makes a grid axis) or sweep.KEY=VALUE")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_option("--threads-per-worker", a->threads,
                  "threads each task may use (default: the cores each worker owns)")
      ->check(option::integer_at_least(1));
  cmd->add_option("--task-timeout", a->task_timeout,
                  "seconds after which a task is cancelled and recorded as timeout")
      ->check(option::positive_number());
  cmd->add_option("--retries", a->retries,
                  "extra attempts for failed or timed-out tasks (default 0)")
      ->check(option::integer_in(0, sweep::max_retries));
  cmd->add_option("--grace", a->grace,
                  "after a stop signal, seconds running tasks may take to finish (default 60)")
      ->check(option::non_negative_number());
  cmd->add_option("--deadline", a->deadline,
                  "do not start tasks that cannot end before this time (+SECONDS, +1h30m or "
                  "YYYY-MM-DDTHH:MM:SS; default under SLURM: the job's end)");
  cmd->add_flag("--fresh", a->fresh, "this must be a new sweep: refuse if the archive exists");
  auto* dry = cmd->add_flag("--dry-run", a->dry_run, "parse and expand only; print what would run");
  cmd->add_flag("--list", a->list,
                "with --dry-run: print every parameter point (random draws "
                "included) as a table")
      ->needs(dry);
  cmd->add_option("--progress", a->progress,
                  "auto (a live bar when a terminal watches, even through mpirun; else "
                  "timestamped lines), bar, lines or none")
      ->check(option::one_of({"auto", "bar", "lines", "none"}));
  cmd->add_flag("-q,--quiet", a->quiet, "no progress output (as --progress none)");
  cmd->callback([a, &action, &argc, &argv] {
    for (int i = 0; i < argc; ++i) a->command_line += (i ? " " : "") + std::string(argv[i]);
    action = [a, &argc, &argv] { return run_command(*a, argc, argv); };
  });
}

}  // namespace mpisweep::cli
