#pragma once
// The running tasks' progress in the archive (/tasks/progress), so `status` can show it while a
// sweep runs: the master's RunContext::progress values go into their task's row and are written
// by the archive observer's flush, about once a second.
#include <mpisweep/archive/archive.hpp>
#include <mpisweep/runtime/master.hpp>
#include <mpisweep/sweep/resume.hpp>

#include <unordered_set>
#include <vector>

namespace mpisweep::cli {

class ArchiveProgress final : public runtime::MasterObserver {
 public:
  // `todo[i].row`: the archive row of the master's task i.
  ArchiveProgress(archive::Writer& writer, const std::vector<sweep::ResumePlan::Todo>& todo);
  void on_progress(std::size_t task, double fraction) override;
  // A result clears its row's progress itself (Writer::record); this forgets the row.
  void on_result(std::size_t task, const Outcome& outcome, bool final) override;
  // Tasks stopped without a result (a stop signal) are not running any more.
  void on_finish(const runtime::MasterSummary& summary) override;

 private:
  archive::Writer& writer_;
  const std::vector<sweep::ResumePlan::Todo>& todo_;
  std::unordered_set<std::size_t> rows_;  // rows with a progress value in the writer
};

}  // namespace mpisweep::cli
