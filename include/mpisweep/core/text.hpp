#pragma once
// The string and time helpers every layer needs, in one place. All of them are thread-safe.
#include <string>
#include <string_view>
#include <vector>

namespace mpisweep {

// "a, b, c" (or with another separator); "" for none.
std::string join(const std::vector<std::string>& parts, std::string_view sep = ", ");
// The inverse of join: "" gives no parts.
std::vector<std::string> split(std::string_view text, std::string_view sep = ", ");

// `s` as a JSON string literal, quotes included, control characters escaped (RFC 8259 §7).
std::string json_quote(std::string_view s);

// Unix time in seconds (wall clock, for the archive; durations use steady_clock).
double unix_now();
// "2026-11-27T14:05:09Z": UTC, ISO 8601, for what the archive stores.
std::string utc_iso_time(double unix_seconds);
// "2026-11-27 15:05:09": local time, for people (localtime_r, never the shared-buffer localtime).
std::string local_time_text(double unix_seconds);
// "42s", "3m05s", "2h10m"; "?" for a negative or non-finite duration.
std::string format_duration(double seconds);

}  // namespace mpisweep
