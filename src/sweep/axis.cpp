#include "axis.hpp"

#include <mpisweep/core/error.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace mpisweep::sweep::detail {

const char* const axis_rule_forms =
    "or a rule: { linspace = [start, stop, count] }, { logspace = [start_exp, stop_exp, count] } "
    "or { range = [start, stop, step] } (step 1 if left out)";

namespace {

struct Rule {
  std::string kind;             // linspace, logspace or range
  std::vector<double> numbers;  // the list as doubles
  bool all_integers = true;
  std::uint64_t count = 0;
};

Rule read_rule(const toml::table& t, const std::string& key, const std::string& where) {
  auto fail = [&](const std::string& what) -> Rule {
    throw input_error(where, "'" + key + "': " + what);
  };
  if (!is_axis_rule(t)) return fail(std::string("expected a list of values ") + axis_rule_forms);
  Rule r;
  r.kind = std::string(t.begin()->first.str());
  const toml::array* a = t.begin()->second.as_array();
  const std::string form = r.kind == "range" ? "range takes [start, stop] or [start, stop, step]"
                           : r.kind == "linspace" ? "linspace takes [start, stop, count]"
                                                  : "logspace takes [start_exp, stop_exp, count] "
                                                    "(10^start_exp ... 10^stop_exp)";
  if (!a) return fail(form);
  for (const auto& n : *a) {
    if (!n.is_number()) return fail(form + " (numbers)");
    r.all_integers = r.all_integers && n.is_integer();
    r.numbers.push_back(n.value<double>().value());
    if (!std::isfinite(r.numbers.back())) return fail(form + " (finite numbers)");
  }
  if (r.kind != "range") {
    if (r.numbers.size() != 3) return fail(form);
    if (!a->get(2)->is_integer() || r.numbers[2] < 2)
      return fail(r.kind + "'s count must be an integer, at least 2");
    r.count = static_cast<std::uint64_t>(a->get(2)->as_integer()->get());
    return r;
  }
  if (r.numbers.size() != 2 && r.numbers.size() != 3) return fail(form);
  const double start = r.numbers[0], stop = r.numbers[1];
  const double step = r.numbers.size() == 3 ? r.numbers[2] : 1.0;
  if (step == 0) return fail("range's step must not be 0");
  if ((stop - start) * step < 0)
    return fail("range's step points away from stop; count down with a negative step");
  // Both ends included when the steps land on stop (a relative slack of 1e-9 for reals).
  const double steps = (stop - start) / step;
  if (steps > 1e12) return fail("range gives more than 10^12 values");
  r.count = static_cast<std::uint64_t>(std::floor(steps * (1 + 1e-12) + 1e-9)) + 1;
  return r;
}

// The double a person gets by writing 1e<e> in the file: strtod rounds correctly, pow need not.
double power_of_ten(double e) {
  if (e == std::floor(e) && std::fabs(e) < 400) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "1e%d", static_cast<int>(e));
    return std::strtod(buf, nullptr);
  }
  return std::pow(10.0, e);
}

// The smallest k <= 12 for which every x is a decimal with k digits after the point, i.e. equals
// the double nearest to round(x 10^k) / 10^k (0.1 -> 1, 2.5e-3 -> 4), or -1 if there is none.
int decimal_scale(const std::vector<double>& xs) {
  for (int k = 0; k <= 12; ++k) {
    const double p = power_of_ten(k);
    bool ok = true;
    for (double x : xs) {
      const double scaled = std::round(x * p);
      ok = ok && std::fabs(scaled) < 0x1p50 && scaled / p == x;
    }
    if (ok) return k;
  }
  return -1;
}

}  // namespace

bool is_axis_rule(const toml::table& t) {
  if (t.size() != 1) return false;
  const auto k = t.begin()->first.str();
  return k == "linspace" || k == "logspace" || k == "range";
}

std::uint64_t axis_rule_count(const toml::table& t, const std::string& key,
                              const std::string& where) {
  return read_rule(t, key, where).count;
}

std::vector<Value> axis_rule_values(const toml::table& t, const std::string& key,
                                    const std::string& where) {
  const Rule r = read_rule(t, key, where);
  std::vector<Value> out;
  out.reserve(r.count);
  const double start = r.numbers[0];
  if (r.kind == "range" && r.all_integers) {
    const auto s = static_cast<std::int64_t>(start);
    const auto step = r.numbers.size() == 3 ? static_cast<std::int64_t>(r.numbers[2]) : 1;
    for (std::uint64_t i = 0; i < r.count; ++i)
      out.emplace_back(std::in_place_type<std::int64_t>, s + static_cast<std::int64_t>(i) * step);
    return out;
  }
  // The values are rationals: linspace x_i = (start (n-1-i) + stop i) / (n-1), range
  // x_i = start + i step. Written over the common decimal scale 10^k of the ends as
  // N_i / (D 10^k) with N_i and D exact integers, one correctly rounded division gives the double
  // nearest x_i: exactly the double of the decimal a person would write (linspace(0, 1, 11)
  // gives 0.3, where start + i step gives 0.30000000000000004), so a rule names the same tasks
  // as the written-out list. Without a short common decimal form the same formula in plain
  // doubles is used, and the last value is still stop itself.
  const bool lin = r.kind != "range";
  const double step = lin ? 0 : r.numbers[2];
  const double stop = lin ? r.numbers[1] : start + double(r.count - 1) * step;
  const bool lands = lin || std::fabs(stop - r.numbers[1]) <= 1e-9 * std::fabs(step);
  const int k = decimal_scale(r.numbers);
  const double p = k >= 0 ? power_of_ten(k) : 1.0;
  const double a = k >= 0 ? std::round(start * p) : start;
  const double b = k >= 0 ? std::round((lin ? stop : step) * p) : (lin ? stop : step);
  const double n1 = double(r.count - 1);
  const bool exact = k >= 0 && std::fabs(a) * n1 < 0x1p52 && std::fabs(b) * n1 < 0x1p52;
  for (std::uint64_t i = 0; i < r.count; ++i) {
    const double di = double(i);
    double x = 0;
    if (i == 0)
      x = start;
    else if (i + 1 == r.count && lands)
      x = lin ? stop : r.numbers[1];
    else if (lin)
      x = exact ? (a * (n1 - di) + b * di) / (n1 * p) : (start * (n1 - di) + stop * di) / n1;
    else
      x = exact ? (a + b * di) / p : start + di * step;
    out.emplace_back(std::in_place_type<double>, r.kind == "logspace" ? power_of_ten(x) : x);
  }
  return out;
}

}  // namespace mpisweep::sweep::detail
