#pragma once
// The HDF5 archive of a sweep (design.md "Archive"). Only this layer includes HDF5.
//
// Layout (one file per sweep):
//   /                   attrs format="mpisweep-archive", format_version, mpisweep_version, created
//   /sweep              attrs name, experiment, spec_hash; datasets spec_toml, command_line
//   /runs/<column>      one row per invocation (RunRecord)
//   /tasks/<column>     one row per task: id, seed, status, attempts, worker, host, started,
//                       wall_seconds, error, progress; /tasks/params/<name>; /tasks/metrics/<name>
//   /series/<name>/{values,offset,length}
// Rows of /tasks are in the order tasks were added (the sweep's expansion order), so archives of
// the same sweep from different rank counts line up row by row.
//
// Errors: input_error (naming the path) for a missing, foreign, corrupt or mismatched archive;
// archive_error for HDF5/I-O failures, including a file locked by another live writer. HDF5 locks
// files (flock) on open; on cluster file systems where flock fails every open fails with "unable
// to lock the file": set HDF5_USE_FILE_LOCKING=FALSE there (HDF5 reads it; nothing else changes).
// HDF5 opens a file once per process: do not hold a Reader and a Writer on the same file in one
// process (the second open fails). A Writer or Reader is used by one thread at a time (Debian's
// HDF5 serializes calls internally, so they do not run in parallel anyway). Writer::open refuses
// (archive_error) an archive whose writer is still alive in another process.
#include <mpisweep/core/error.hpp>
#include <mpisweep/core/task.hpp>
#include <mpisweep/core/value.hpp>
#include <mpisweep/core/schema.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace mpisweep::archive {

inline constexpr int format_version = 1;

// An HDF5 call failed (I/O, disk full, a lock held by another writer...). The message names the
// operation and carries HDF5's own error stack. Foreign or mismatched archives are input_error.
class archive_error : public error {
 public:
  using error::error;
};

// Stored as an HDF5 enum over int8 (h5dump prints the names pending, done, failed, timeout; the
// runtime's `returned` never reaches the archive).
using mpisweep::TaskStatus;

// What the archive holds columns for; fixed when the archive is created.
struct Layout {
  std::string sweep_name;
  std::string experiment;
  std::string spec_toml;  // exact text of the sweep file at creation
  std::string command_line;
  std::uint64_t spec_hash = 0;
  std::vector<ParamSpec> params;    // one typed column each, in this order
  std::vector<MetricSpec> metrics;  // one float64 column each, in this order
  std::vector<SeriesSpec> series;   // one ragged series each, in this order
  std::vector<PlotSpec> plots;      // the standard figures of `report`, stored in /sweep/plots
  // Non-empty ([sweep] series_files = "per_rank"): every series' values is a virtual dataset
  // over the block files in this folder, named relative to the archive's folder
  // (series_files.hpp). Fixed when the archive is created.
  std::string series_files;
};

// A row is a core TaskRecord (written as a pending row: params in Layout::params order) and
// each attempt's Outcome (metrics and series in Layout order). The older names stay as aliases.
using mpisweep::Outcome;
using mpisweep::RowState;
using mpisweep::TaskRecord;
using TaskDef = TaskRecord;
using TaskOutcome = Outcome;

struct RunRecord {
  double start = 0, end = 0;  // unix time; end 0 while running
  std::int32_t ranks = 0;
  std::int32_t threads_per_worker = 0;
  std::string hosts;  // comma-separated
  std::string git_commit;
  std::string mpisweep_version;
  std::string slurm_job_id;  // empty outside SLURM
  std::string slurm_nodelist;
  std::string command_line;
  std::uint64_t spec_hash = 0;
  std::int32_t exit_status = -1;  // -1 while running
  // The run's effective spec: the sweep file's text as this run read it (cut at 64 KiB; the hash
  // covers all of it) and its --set overrides, one per line. Empty in rows of archives written
  // before mpisweep recorded them.
  std::string spec_toml;
  std::string overrides;
};

// Single writer (the master). Every structural object (groups, datasets, attributes) is created
// before SWMR starts; afterwards it only extends and rewrites datasets, so the file stays valid
// if the process is killed at any moment, and readers may open it while it writes.
class Writer {
 public:
  // Creates a new archive. The file is built under a temporary name and renamed into place, so a
  // kill during creation leaves no half-made archive at `path`, and a failure (disk full) removes
  // the temporary file and any folder it created. Throws input_error if `path` exists,
  // archive_error on I/O failure, in the user's words for a full disk, a read-only file system or
  // a folder without write permission ("disk full writing results/x.h5"). The parent folder is
  // created if missing. `fill` adds the new sweep's rows (add_tasks) to the writer before the
  // file has its name: they are flushed into the temporary file, so the archive appears with all
  // its rows or not at all.
  static Writer create(const std::string& path, const Layout& layout,
                       const std::function<void(Writer&)>& fill = {});
  // Opens an existing archive to resume it: checks it is an mpisweep archive of the same sweep
  // (name and experiment) with the same columns (input_error naming the path otherwise), clears
  // the flags a killed SWMR writer leaves, and starts SWMR writing.
  static Writer open(const std::string& path, const Layout& layout);

  Writer(Writer&&) noexcept;
  Writer& operator=(Writer&&) noexcept;
  ~Writer();  // closes; never throws

  const std::vector<RowState>& rows() const;  // every row, in file order
  // The layout it writes: the one given, each series' chunk the file's when it was opened.
  const Layout& layout() const;
  // Appends pending rows; returns the index of the first. Visible to readers after flush(). Ids
  // must be non-zero (0 is the fill value that marks a torn tail after a kill).
  std::size_t add_tasks(std::span<const TaskRecord> tasks);
  // Room for `rows` rows in all, so that tasks added block by block grow no column twice.
  void reserve_tasks(std::size_t rows);
  // Records an attempt's outcome for `row`. Cheap (buffers); written by the next flush().
  void record(std::size_t row, const Outcome& outcome);
  // A running task's own estimate of how far it is (RunContext::progress), in [0, 1], for
  // /tasks/progress; NaN clears it. Written by the next flush(); record() clears it.
  void progress(std::size_t row, double fraction);
  // Writes everything buffered and flushes it to disk. The master calls this about every second.
  // A write that fails (disk full) throws archive_error in the user's words, and nothing more is
  // written afterwards: the file keeps every earlier flush, as after a kill -9, and resumes.
  void flush();

  // Layout::series_files: the first block index this run's workers may use (SweepConfig); -1
  // when series are stored in the archive.
  std::int64_t series_first_block() const;
  // Layout::series_files: the archive's block size (values per block file); 0 otherwise.
  std::int64_t series_block_elements() const;
  // Layout::series_files: the block files' folder (the archive's folder joined); empty otherwise.
  std::string series_folder() const;

  std::size_t begin_run(const RunRecord& run);  // appends a /runs row
  void end_run(std::size_t run, double end, std::int32_t exit_status);

  // Flushes, ends SWMR and closes: afterwards h5dump and every HDF5 tool open the file. If the
  // run's many small flushes left much dead space (SWMR never reuses freed space), the file is
  // rewritten compactly under a temporary name and renamed into place (about a second per 1M rows),
  // beside the file a symlinked path points to; the live-writer lock is held until the copy is in
  // place. Every handle is closed even when a write fails; then the failure is thrown.
  // Calls after close() are internal_error; the destructor closes if close() was not called.
  void close();

  struct Impl;

 private:
  explicit Writer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct SweepInfo {
  std::string name, experiment, spec_toml, command_line, mpisweep_version, created;
  std::uint64_t spec_hash = 0;
  int format_version = 0;
};

struct ColumnInfo {
  std::string name, unit, help;
};

// A parameter column: its type and one value a row (booleans, integers, reals or choices).
struct ParamColumn {
  std::string name;
  ParamType type = ParamType::real;
  std::vector<Value> values;
  const Value& at(std::size_t row) const { return values.at(row); }
};

// Reader, opened in SWMR-read mode: works while a writer appends, and on an archive whose writer
// was killed (before h5clear). Throws input_error naming the path for a file that is not an
// mpisweep archive or is corrupt.
class Reader {
 public:
  static Reader open(const std::string& path);
  Reader(Reader&&) noexcept;
  Reader& operator=(Reader&&) noexcept;
  ~Reader();

  void refresh();  // sees rows a running writer flushed since open
  const SweepInfo& info() const;
  std::vector<RunRecord> runs() const;
  std::size_t rows() const;

  std::vector<std::uint64_t> ids() const;
  std::vector<std::uint64_t> seeds() const;
  std::vector<TaskStatus> status() const;
  std::vector<std::int32_t> attempts() const;
  std::vector<std::int32_t> workers() const;
  std::vector<double> started() const;
  std::vector<double> wall_seconds() const;
  std::vector<std::string> errors() const;
  std::vector<std::string> hosts() const;
  // Each running task's last progress estimate in [0, 1]; NaN for tasks not running, tasks that
  // gave none, and every row of an archive written before /tasks/progress existed.
  std::vector<double> progress() const;

  std::vector<ColumnInfo> params() const;  // in column order
  ParamColumn param(const std::string& name) const;
  std::vector<ColumnInfo> metrics() const;
  std::vector<double> metric(const std::string& name) const;
  std::vector<ColumnInfo> series() const;
  std::vector<double> series(const std::string& name, std::size_t row) const;  // empty if absent
  // What the experiment declared, as stored, so browsing needs no compiled-in kind. Archives
  // written before these were stored read as the defaults (not timing, x = index, 1-D, no plots).
  std::vector<MetricSpec> metric_specs() const;
  std::vector<SeriesSpec> series_specs() const;
  std::vector<PlotSpec> plots() const;

  struct Impl;

 private:
  explicit Reader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mpisweep::archive
