#include <mpisweep/sweep/resume.hpp>

#include <unordered_map>

namespace mpisweep::sweep {

TaskRecord task_record(const Spec& spec, std::size_t index) {
  const Task& t = spec.tasks.at(index);
  return {t.id, t.seed, spec.points.at(t.point)};
}

ResumePlan reconcile(const Spec& spec, std::span<const RowState> rows, int retries) {
  std::unordered_map<std::uint64_t, std::size_t> row_of;
  row_of.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) row_of.emplace(rows[r].id, r);
  ResumePlan plan;
  std::vector<std::uint32_t> fresh;
  for (std::uint32_t i = 0; i < spec.tasks.size(); ++i) {
    auto it = row_of.find(spec.tasks[i].id);
    if (it == row_of.end()) {
      fresh.push_back(i);
      continue;
    }
    const RowState& st = rows[it->second];
    if (st.status == TaskStatus::done)
      ++plan.done;
    else if (st.status == TaskStatus::pending || should_retry(st.status, st.attempts, retries))
      plan.todo.push_back({it->second, i, st.attempts});
    else
      ++plan.failed;
  }
  plan.new_rows = fresh.size();
  plan.todo.reserve(plan.todo.size() + fresh.size());
  for (std::size_t k = 0; k < fresh.size(); ++k)
    plan.todo.push_back({rows.size() + k, fresh[k], 0});
  return plan;
}

}  // namespace mpisweep::sweep
