#pragma once
// What an experiment declares about its outputs: scalar metrics, per-task series and the standard
// figures of `mpisweep report`. These live in core so that the archive (which stores them, so
// that browsing works without the kind compiled in) depends on core, never on experiments.
#include <cstdint>
#include <string>
#include <vector>

namespace mpisweep {

struct MetricSpec {
  std::string name;
  std::string help;
  std::string unit;
  // A wall-clock measurement (seconds of a phase, evaluations per second): reported, but outside
  // the determinism contract, so comparisons of archives across rank or thread counts skip it.
  bool timing = false;
};

// How a series is stored. The archive honours these per series; readers see float64 values
// whatever is stored (HDF5 converts on read).
struct SeriesStorage {
  enum class Compression { none, deflate, shuffle_deflate };
  Compression compression = Compression::shuffle_deflate;
  int level = 1;         // deflate level 1..9 where compression uses deflate
  bool float32 = false;  // values need no more than float32 precision
};

// A per-task array (a curve, a field), stored ragged in the archive.
struct SeriesSpec {
  std::string name;
  std::string help;
  std::string unit;  // of the values
  std::string axis;  // what the index means, e.g. "iteration" or "round"
  // The x value of element i of a 1-D series is x_start + i * x_step (e.g. the real round when
  // a curve is recorded every 10 rounds).
  double x_start = 0.0;
  double x_step = 1.0;
  // When set, a task parameter whose value is the unit of that scale: element i of a task's
  // series sits at (x_start + i * x_step) * value, e.g. "record_every" for a curve recorded
  // every record_every rounds, so tasks recording at different rates share one round axis.
  std::string x_scale_param;
  // A field: each task's array is a row-major array of this shape (empty: a 1-D curve of any
  // length), with one name per dimension, slowest first, e.g. {"position", "velocity"}.
  std::vector<std::int64_t> shape;
  std::vector<std::string> axes;
  SeriesStorage storage;
  // A curve (no shape) whose length a task parameter gives, e.g. "payload": the archive's chunks
  // follow the sweep's smallest value of it (chunk_codec::chunk_elements), so a 10 MB array is
  // stored in 1 MiB chunks rather than a curve of unknown length's 64 KiB (issue 18).
  std::string length_param;
  // Elements per chunk of the archive's values dataset once known: the planner's choice for a
  // new archive, the file's own when one is resumed, what workers are told. 0: the rule.
  std::int64_t chunk = 0;
};

// A standard figure of the kind, drawn by `mpisweep report`: metric `y` against parameter `x`
// (or, when `series` is set, that series against its x scale averaged over seeds), one line per
// value of `group_by`. With `heatmap`, `series` names a 2-D field drawn as a heatmap of its seed
// mean.
struct PlotSpec {
  std::string title;
  std::string x;
  std::string y;
  std::string group_by;
  std::string series;
  bool logx = false;
  bool logy = false;
  bool heatmap = false;
};

}  // namespace mpisweep
