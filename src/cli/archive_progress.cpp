#include "archive_progress.hpp"

#include <limits>

namespace mpisweep::cli {

ArchiveProgress::ArchiveProgress(archive::Writer& writer,
                                 const std::vector<sweep::ResumePlan::Todo>& todo)
    : writer_(writer), todo_(todo) {}

void ArchiveProgress::on_progress(std::size_t task, double fraction) {
  const std::size_t row = todo_.at(task).row;
  writer_.progress(row, fraction);
  rows_.insert(row);
}

void ArchiveProgress::on_result(std::size_t task, const Outcome&, bool) {
  rows_.erase(todo_.at(task).row);
}

void ArchiveProgress::on_finish(const runtime::MasterSummary&) {
  for (std::size_t row : rows_) writer_.progress(row, std::numeric_limits<double>::quiet_NaN());
  rows_.clear();
}

}  // namespace mpisweep::cli
