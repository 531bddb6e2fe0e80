#include <mpisweep/core/error.hpp>
#include <mpisweep/runtime/liveness.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

namespace mpisweep::runtime {

namespace {

// Seconds from `name`, or `fallback` when it is unset or empty.
double seconds_from(const char* name, double fallback) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end || !std::isfinite(v) || v <= 0 || v > 86400)
    throw input_error(name,
                      "expected seconds between 0 and 86400, got '" + std::string(text) + "'");
  return v;
}

}  // namespace

Liveness liveness_from_env() {
  Liveness l;
  l.heartbeat_seconds = seconds_from("MPISWEEP_HEARTBEAT", 1.0);
  l.lost_after_seconds =
      seconds_from("MPISWEEP_LOST_AFTER", std::max(10.0, 4 * l.heartbeat_seconds));
  if (l.lost_after_seconds < 2 * l.heartbeat_seconds)
    throw input_error("MPISWEEP_LOST_AFTER",
                      "must be at least two heartbeats (MPISWEEP_HEARTBEAT), or every quiet "
                      "worker is lost");
  return l;
}

}  // namespace mpisweep::runtime
