#pragma once
// Resume: a sweep's tasks reconciled with the rows its archive already holds. Pure data in, data
// out (no HDF5), so every case is unit-tested without a file.
#include <mpisweep/core/task.hpp>
#include <mpisweep/sweep/spec.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace mpisweep::sweep {

// The task `index` of `spec` with its parameter values.
TaskRecord task_record(const Spec& spec, std::size_t index);

struct ResumePlan {
  // Tasks the archive lacks: the last `new_rows` entries of `todo`, in the sweep's order, to be
  // appended as rows rows.size(), rows.size()+1, ... (task_record() makes each; not made here,
  // as a 10^7-task sweep's records would take gigabytes at once).
  std::size_t new_rows = 0;
  // A task to run: its archive row, its index in Spec::tasks and the attempts already made.
  struct Todo {
    std::size_t row = 0;
    std::uint32_t task = 0;
    std::int32_t attempts = 0;
  };
  // Existing rows that are pending or may be retried first (sweep order), then the new rows.
  std::vector<Todo> todo;
  std::size_t done = 0;    // done in an earlier run
  std::size_t failed = 0;  // failed or timed out with no retry left (should_retry)
};

// `rows` are the archive's rows in file order (ids unique). Rows whose id the sweep no longer
// lists (the file changed) are left alone.
ResumePlan reconcile(const Spec& spec, std::span<const RowState> rows, int retries);

}  // namespace mpisweep::sweep
