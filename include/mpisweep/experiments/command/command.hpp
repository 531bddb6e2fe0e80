#pragma once
// The `command` kind: any executable as an experiment, run once per task (design.md "Your own
// experiments"). This is the one kind that starts processes and touches files — by design: the
// user's program is the numerics, and it lives outside our process. Results stay a function of
// (parameters, seed) as far as the program is: it gets nothing else that varies between runs
// except {task_id}, itself a function of them, and the thread budget, which the user controls.
#include <mpisweep/core/schema.hpp>
#include <mpisweep/core/task.hpp>
#include <mpisweep/core/value.hpp>
#include <mpisweep/experiments/experiment.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mpisweep::command {

// What a sweep file's [command] table declares, plus the parameters its values declare.
struct CommandSpec {
  std::vector<std::string> run;  // argv template; run[0] found on PATH unless it has a '/'
  std::vector<MetricSpec> metrics;
  std::vector<SeriesSpec> series;
  std::string workdir;  // template; empty: the worker's current directory
  std::vector<std::pair<std::string, std::string>> env;  // values are templates
  std::vector<ParamSpec> params;  // declared by the values the sweep file gives them
  double kill_grace = 2.0;        // seconds between SIGTERM and SIGKILL of the process group
};

// The names a template may use besides the parameters.
inline constexpr const char* builtin_placeholders[] = {"seed", "task_id", "threads"};

// The `{name}` placeholders of one template, in order; "{{" and "}}" are literal braces. Throws
// mpisweep::error on an unclosed '{' or a stray '}'.
std::vector<std::string> placeholders(const std::string& templ);

// Values for one task's placeholders.
struct Expansion {
  const Params* params = nullptr;
  std::uint64_t seed = 0;
  std::uint64_t task_id = 0;
  int threads = 1;
};
// `templ` with every placeholder replaced: parameters in their human form (0.001, true, 3),
// {task_id} as 16 lower-case hex digits. Throws mpisweep::error on an unknown name.
std::string expand(const std::string& templ, const Expansion& x);
using mpisweep::task_id_hex;  // core/task.hpp

// The parameters as one JSON object, keys sorted (the process's stdin and MPISWEEP_PARAMS).
std::string params_json(const Params& params);

// What of the spec decides a task's numbers (argv template, env, metric and series names) in a
// canonical text. Mixed into every task id, so editing `run` gives new ids (old rows stay).
std::string identity(const CommandSpec& spec);

// The whole spec as JSON and back: how rank 0 hands it to the workers.
std::string to_wire(const CommandSpec& spec);
CommandSpec from_wire(const std::string& text);

// Checks a result object against the declared outputs: every declared metric present and a
// number, nothing undeclared, series arrays of numbers. Throws mpisweep::error with one line.
Result parse_result(const std::string& json_text, const CommandSpec& spec);

// The experiment that runs `spec.run` once per task. Its run() throws mpisweep::error (one-line
// reason, then the last lines of the program's stderr) for any failure, task_cancelled when the
// runtime cancels it; either way the process group is gone when it returns.
Experiment make_command_experiment(const CommandSpec& spec);

}  // namespace mpisweep::command
