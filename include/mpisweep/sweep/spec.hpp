#pragma once
// A sweep file (design.md "Sweep file") parsed, checked against its experiment's schema, and
// expanded into tasks. Nothing here runs anything or touches the archive.
#include <mpisweep/core/rng.hpp>
#include <mpisweep/core/value.hpp>
#include <mpisweep/experiments/command/command.hpp>
#include <mpisweep/experiments/experiment.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mpisweep::sweep {

// One task: a parameter point run with one seed. Tasks are compact (points are shared), so a
// million-task sweep costs the master tens of megabytes.
struct Task {
  std::uint64_t id = 0;  // stable hash of (experiment, canonical parameter values, seed)
  std::uint64_t seed = 0;
  std::uint32_t point = 0;  // index into Spec::points
};

// The most tasks one sweep may expand to. The master holds every task (24 bytes) and the archive
// a row of a few dozen bytes per task, so 10^8 tasks are some gigabytes: beyond that a sweep
// should be split. Counted before anything is expanded, so a typo fails at once.
inline constexpr std::uint64_t max_tasks = 100'000'000;
// The longest sweep name: it names the default archive results/<name>.h5, and a file name has at
// most 255 bytes on the usual file systems.
inline constexpr std::size_t max_name_length = 128;
// The most extra attempts [sweep] retries or --retries may ask for.
inline constexpr std::int64_t max_retries = 1000;

struct Spec {
  std::string path;        // as given on the command line
  std::string text;        // exact file contents
  std::uint64_t hash = 0;  // of the text and the --set overrides
  std::string name;
  std::string experiment;
  std::string archive;  // default results/<name>.h5
  std::vector<std::uint64_t> seeds;
  std::optional<double> task_timeout;  // seconds, [sweep] task_timeout
  std::optional<int> retries;          // [sweep] retries
  // [sweep] order = "longest_first": tasks start in descending expected cost, from the numeric
  // parameter named by [sweep] cost (proportional to a task's time), or, with cost = "measured"
  // (the default), from the durations measured so far in the sweep, per parameter point.
  bool longest_first = false;
  std::string cost;  // a parameter's name, or "measured"
  // [sweep] series_files = "per_rank": each worker rank writes the series of its tasks into
  // block files beside the archive, which /series/<name>/values maps (a virtual dataset); the
  // default "archive" has rank 0 write every value into the archive (docs/archive.md).
  bool series_files = false;
  std::vector<std::string> param_names;    // the experiment's schema order
  std::vector<std::vector<Value>> points;  // resolved values in param_names order
  std::vector<Task> tasks;                 // seed-major: every point with the first seed, ...
  // experiment = "command": the file's own [command] (the kind is not in the registry).
  std::optional<command::CommandSpec> command;
};

// Reads, checks and expands `path`. `overrides` are --set KEY=VALUE strings: KEY is a parameter
// (replacing whatever the file says of it; a TOML list makes it a grid axis) or sweep.KEY.
// Throws input_error naming file:line (or the --set option) and what was expected.
Spec load_spec(const std::string& path, const std::vector<std::string>& overrides = {});
// The same from text already in memory; `path` only names it in messages.
Spec parse_spec(const std::string& text, const std::string& path,
                const std::vector<std::string>& overrides = {});

// The id of a task: FNV-1a 64 over "experiment\0name=canonical\0..." (names sorted), mixed with
// the seed through SplitMix64. Stable across versions, platforms and rank counts.
std::uint64_t point_hash(const std::string& experiment, const std::vector<std::string>& names,
                         const std::vector<Value>& values);
std::uint64_t task_id(std::uint64_t point_hash, std::uint64_t seed);

using mpisweep::fnv1a64;  // core/rng.hpp

}  // namespace mpisweep::sweep
