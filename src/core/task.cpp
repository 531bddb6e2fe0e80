#include <mpisweep/core/task.hpp>

namespace mpisweep {

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
