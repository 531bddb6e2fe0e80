#pragma once
// One task record and one outcome, shared by every layer: the sweep expands a file into
// TaskRecords, the archive stores each as a row, the master hands it to a worker (only its index
// and what the experiment needs cross the wire), and every attempt comes back as an Outcome that
// the archive records in the same row.
#include <mpisweep/core/chunk_codec.hpp>
#include <mpisweep/core/text.hpp>
#include <mpisweep/core/value.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mpisweep {

enum class TaskStatus : std::int8_t {
  pending = 0,
  done = 1,
  failed = 2,
  timeout = 3,
  returned = 4,  // never started or interrupted by a stop: still pending, not an attempt
};
std::string_view to_string(TaskStatus s);

// A task id as people and programs see it: 16 lowercase hex digits ({task_id}, MPISWEEP_TASK_ID,
// status, plot --task).
std::string task_id_hex(std::uint64_t id);

// A task as the sweep defines it.
struct TaskRecord {
  std::uint64_t id = 0;  // stable hash of (experiment, parameter values, seed); never 0
  std::uint64_t seed = 0;
  std::vector<Value> params;  // in the experiment's schema order, already checked
};

// What one attempt at a task produced.
struct Outcome {
  TaskStatus status = TaskStatus::done;
  std::int32_t attempts = 1;  // including this one
  std::int32_t worker = 0;    // MPI rank that ran it
  std::string host;
  double started = 0;  // unix time, seconds
  double wall_seconds = 0;
  std::string error;                        // empty when done
  std::vector<double> metrics;              // the declared order; NaN where absent
  std::vector<std::vector<double>> series;  // the declared order; empty where absent
  // The same series as the archive stores them, encoded by the worker that ran the task
  // (chunk_codec, the series' declared storage), so the master only copies bytes (issue 18). In
  // the declared order, null where absent; when it is empty, the archive encodes `series` itself
  // (library callers; the runtime always encodes on the worker). Shared so that handing an
  // Outcome to observers copies no series bytes.
  std::vector<std::shared_ptr<const chunk_codec::Encoded>> encoded;
  // [sweep] series_files = "per_rank": where the worker stored each series itself (a block file
  // beside the archive, docs/archive.md), in the declared order; offset -1 where absent. Empty
  // in the default mode. Only these two numbers travel to the master.
  struct Placed {
    std::int64_t offset = -1;  // into the archive's virtual /series/<name>/values
    std::int64_t length = 0;
  };
  std::vector<Placed> placed;
};

// Where a task stands in an archive (its row's id, status and attempts), for resume.
struct RowState {
  std::uint64_t id = 0;
  TaskStatus status = TaskStatus::pending;
  std::int32_t attempts = 0;
};

// The retry rule, in one place for resume and the scheduler: a failed or timed-out task runs
// again while the attempts made so far do not exceed `retries` (so retries=1 allows 2 attempts).
inline bool should_retry(TaskStatus status, std::int32_t attempts_made, int retries) {
  return (status == TaskStatus::failed || status == TaskStatus::timeout) &&
         attempts_made <= retries;
}

}  // namespace mpisweep
