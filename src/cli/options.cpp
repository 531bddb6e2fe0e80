#include "options.hpp"

#include <mpisweep/core/error.hpp>

#include <charconv>
#include <cstdio>
#include <cmath>
#include <cstdlib>

namespace mpisweep::cli::option {

namespace {

bool parse_integer(const std::string& s, long long& v) {
  const char* b = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
  auto [end, ec] = std::from_chars(b, s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() && b != end;
}

bool parse_real(const std::string& s, double& v) {
  const char* b = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
  auto [end, ec] = std::from_chars(b, s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() && b != end && std::isfinite(v);
}

CLI::Validator real_check(bool strict) {
  return CLI::Validator(
      [strict](std::string& s) -> std::string {
        double v = 0;
        if (!parse_real(s, v)) return "expects a number, found '" + s + "'";
        if (strict ? v <= 0 : v < 0)
          return std::string(strict ? "must be > 0" : "must be ≥ 0") + ", found " + s;
        return {};
      },
      strict ? "NUMBER>0" : "NUMBER≥0");
}

}  // namespace

CLI::Validator integer_at_least(long long min) {
  return CLI::Validator(
      [min](std::string& s) -> std::string {
        long long v = 0;
        if (!parse_integer(s, v)) return "expects a whole number, found '" + s + "'";
        if (v < min) return "must be ≥ " + std::to_string(min) + ", found " + s;
        return {};
      },
      "INT≥" + std::to_string(min));
}

CLI::Validator integer_in(long long min, long long max) {
  return CLI::Validator(
      [min, max](std::string& s) -> std::string {
        long long v = 0;
        if (!parse_integer(s, v)) return "expects a whole number, found '" + s + "'";
        if (v < min) return "must be ≥ " + std::to_string(min) + ", found " + s;
        if (v > max) return "must be ≤ " + std::to_string(max) + ", found " + s;
        return {};
      },
      "INT in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
}

CLI::Validator positive_number() { return real_check(true); }
CLI::Validator non_negative_number() { return real_check(false); }

CLI::Validator one_of(std::vector<std::string> values) {
  std::string list;
  for (const auto& v : values) list += (list.empty() ? "" : ", ") + v;
  return CLI::Validator(
      [values, list](std::string& s) -> std::string {
        for (const auto& v : values)
          if (v == s) return {};
        return "expects one of " + list + ", found '" + s + "'";
      },
      "{" + list + "}");
}

bool first_rank() {
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"})
    if (const char* v = std::getenv(var); v && *v) return std::atoi(v) == 0;
  return true;
}

PixelSize pixel_size(const std::string& text, const std::string& option) {
  PixelSize p;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%dx%d%c", &p.width, &p.height, &tail) != 2 || p.width < 100 ||
      p.height < 100 || p.width > 10000 || p.height > 10000)
    throw input_error(option,
                      "expected WIDTHxHEIGHT in pixels, e.g. 900x600, found '" + text + "'");
  return p;
}

}  // namespace mpisweep::cli::option
