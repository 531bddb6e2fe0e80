#include <mpisweep/core/task.hpp>

#include <cstdio>

namespace mpisweep {

std::string task_id_hex(std::uint64_t id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

std::string_view to_string(TaskStatus s) {
  switch (s) {
    case TaskStatus::pending: return "pending";
    case TaskStatus::done: return "done";
    case TaskStatus::failed: return "failed";
    case TaskStatus::timeout: return "timeout";
    case TaskStatus::returned: return "returned";
  }
  return "?";
}

}  // namespace mpisweep
