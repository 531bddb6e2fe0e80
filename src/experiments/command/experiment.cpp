// make_command_experiment: one task = one run of the user's program (design.md "Your own
// experiments"). Everything that touches processes and files is here and in process.cpp.
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/command/command.hpp>
#include <mpisweep/experiments/command/process.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

extern char** environ;

namespace mpisweep::command {

namespace {

namespace fs = std::filesystem;

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The worker's environment minus what we set and minus the variables that make an MPI program
// believe it is a rank of *this* job (Open MPI and PMIx): a task that is itself an MPI program
// then starts as a singleton instead of trying to join mpisweep's job. The user's own MCA
// settings (OMPI_MCA_btl, ...) and the run-as-root switches pass through.
bool inherited(std::string_view entry, const CommandSpec& spec) {
  const std::string_view name = entry.substr(0, entry.find('='));
  if (starts_with(name, "MPISWEEP_") || name == "OMP_NUM_THREADS") return false;
  for (const auto& [k, v] : spec.env)
    if (name == k) return false;
  if (starts_with(name, "PMIX_") || starts_with(name, "PMI_")) return false;
  if (starts_with(name, "OMPI_ALLOW_RUN_AS_ROOT")) return true;
  if (starts_with(name, "OMPI_MCA_")) {
    for (std::string_view job : {"OMPI_MCA_orte_", "OMPI_MCA_ess", "OMPI_MCA_pmix",
                                 "OMPI_MCA_initial_wdir", "OMPI_MCA_shmem_RUNTIME_QUERY_hint"})
      if (starts_with(name, job)) return false;
    return true;
  }
  return !starts_with(name, "OMPI_");
}

// A file for the program's result, removed when the task is over.
class ResultFile {
 public:
  ResultFile() {
    const char* tmp = std::getenv("TMPDIR");
    path_ = std::string(tmp && *tmp ? tmp : "/tmp") + "/mpisweep-result-XXXXXX.json";
    const int fd = ::mkostemps(path_.data(), 5, O_CLOEXEC);
    if (fd < 0) throw error("cannot create a result file " + path_ + ": " + std::strerror(errno));
    ::close(fd);
  }
  ~ResultFile() { ::unlink(path_.c_str()); }
  ResultFile(const ResultFile&) = delete;
  ResultFile& operator=(const ResultFile&) = delete;
  const std::string& path() const { return path_; }
  std::string read() const {
    std::ifstream in(path_, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::string path_;
};

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? "SIG" + std::string(abbrev) : "signal " + std::to_string(sig);
}

// The last non-empty line of stdout, where a program may print its result.
std::string last_line(const std::string& out) {
  const std::size_t end = out.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return {};
  const std::size_t nl = out.rfind('\n', end);
  const std::size_t begin = nl == std::string::npos ? 0 : nl + 1;
  return out.substr(begin, end + 1 - begin);
}

Result run_task(const CommandSpec& spec, const Params& params, const RunContext& ctx) {
  const Expansion x{&params, ctx.seed, ctx.task_id, ctx.threads};
  Launch l;
  for (const auto& a : spec.run) l.argv.push_back(expand(a, x));
  if (!spec.workdir.empty()) {
    // Relative paths in a sweep file are relative to where mpisweep was started (design.md), so
    // "./sim" and the "train.py" of ["python3", "train.py"] still mean the files there when the
    // task runs inside its workdir: a fixed argument (no placeholder, not an option) naming an
    // existing regular file there is passed as an absolute path. Folders and files that do not
    // exist (outputs) are left alone; the workdir is empty, so nothing there is shadowed.
    for (std::size_t i = 0; i < l.argv.size(); ++i) {
      const std::string& a = spec.run[i];
      if (a.empty() || a[0] == '/' || a[0] == '-' || a.find('{') != std::string::npos) continue;
      if (i == 0 && a.find('/') == std::string::npos) continue;  // a program found on PATH
      std::error_code ec;
      if (fs::is_regular_file(a, ec))
        l.argv[i] = (fs::current_path() / a).lexically_normal().string();
    }
    l.cwd = expand(spec.workdir, x);
    std::error_code ec;
    fs::remove_all(l.cwd, ec);  // "created fresh": a retry starts from an empty folder
    fs::create_directories(l.cwd, ec);
    if (ec) throw error("cannot create the workdir '" + l.cwd + "': " + ec.message());
  }
  ResultFile result_file;
  l.stdin_data = params_json(params);
  for (char** e = environ; *e; ++e)
    if (inherited(*e, spec)) l.env.emplace_back(*e);
  for (const auto& [k, v] : spec.env) l.env.push_back(k + "=" + expand(v, x));
  l.env.push_back("MPISWEEP_PARAMS=" + l.stdin_data);
  l.env.push_back("MPISWEEP_SEED=" + std::to_string(ctx.seed));
  l.env.push_back("MPISWEEP_TASK_ID=" + task_id_hex(ctx.task_id));
  l.env.push_back("MPISWEEP_THREADS=" + std::to_string(ctx.threads));
  l.env.push_back("OMP_NUM_THREADS=" + std::to_string(ctx.threads));
  l.env.push_back("MPISWEEP_RESULT=" + result_file.path());
  l.cancel = ctx.cancel_flag;
  l.kill_grace = spec.kill_grace;

  const Exit e = run_process(l);
  if (e.cancelled) throw task_cancelled();
  // The error column holds 256 bytes: the reason first, then as much of stderr as fits.
  auto fail = [&](const std::string& reason) {
    const std::string tail = tail_lines(e.stderr_tail, 3, 160);
    throw error(tail.empty() ? reason : reason + "; stderr: " + tail);
  };
  if (e.signal) fail("killed by " + signal_name(e.signal));
  if (e.exit_code != 0) fail("exit status " + std::to_string(e.exit_code));
  std::string text = result_file.read();
  const bool from_file = text.find_first_not_of(" \t\r\n") != std::string::npos;
  if (!from_file) text = last_line(e.stdout_tail);
  if (text.empty())
    fail("no result: nothing in $MPISWEEP_RESULT and no JSON object as the last line of stdout");
  try {
    return parse_result(text, spec);
  } catch (const error& err) {
    fail(std::string(from_file ? "result file: " : "stdout's last line: ") + err.what());
  }
  return {};
}

}  // namespace

Experiment make_command_experiment(const CommandSpec& spec) {
  if (spec.run.empty()) throw internal_error("make_command_experiment: empty run");
  auto shared = std::make_shared<const CommandSpec>(spec);
  Experiment e;
  e.name = "command";
  e.summary = "runs " + spec.run[0] + " once per task (experiment = \"command\")";
  e.params = spec.params;
  e.metrics = spec.metrics;
  e.series = spec.series;
  e.run = [shared](const Params& params, const RunContext& ctx) {
    return run_task(*shared, params, ctx);
  };
  return e;
}

}  // namespace mpisweep::command
