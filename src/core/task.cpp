#include <mpisweep/core/task.hpp>

#include <chrono>

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

double unix_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace mpisweep
