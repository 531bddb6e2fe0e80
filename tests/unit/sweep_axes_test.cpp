// Issue 16 "Running": several zip groups ([zip.a], [zip.b], crossed with each other and the grid;
// plain [zip] still works) and grid/zip axes written as rules (linspace, logspace, range), with
// their values checked against hand-written lists and the errors against their exact text.
#include <mpisweep/core/error.hpp>
#include <mpisweep/sweep/spec.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <tuple>

using namespace mpisweep;
using sweep::parse_spec;

namespace {
const std::string head = "[sweep]\nname = \"t\"\nexperiment = \"noop\"\n";  // lines 1-3

std::string error_of(const std::string& text, std::vector<std::string> sets = {}) {
  try {
    parse_spec(text, "f.toml", sets);
  } catch (const input_error& e) {
    return e.what();
  }
  return "no error";
}

// The values of parameter `name` (noop: work_us, payload, fail_rate) over the points, in order.
std::vector<Value> column(const sweep::Spec& s, const std::string& name) {
  std::size_t k = 0;
  while (s.param_names[k] != name) ++k;
  std::vector<Value> out;
  for (const auto& p : s.points) out.push_back(p[k]);
  return out;
}

std::set<std::uint64_t> ids(const sweep::Spec& s) {
  std::set<std::uint64_t> out;
  for (const auto& t : s.tasks) out.insert(t.id);
  return out;
}
}  // namespace

TEST(SweepAxes, ZipGroupsAreZippedInsideAndCrossedWithEachOther) {
  auto s = parse_spec(head +
                          "[zip.a]\nwork_us = [1, 2]\npayload = [10, 20]\n"
                          "[zip.b]\nfail_rate = [0.0, 0.5, 0.25]\n",
                      "f.toml");
  ASSERT_EQ(s.points.size(), 6u);
  std::set<std::tuple<std::int64_t, std::int64_t, double>> seen;
  for (std::size_t i = 0; i < 6; ++i) {
    const auto w = std::get<std::int64_t>(column(s, "work_us")[i]);
    const auto p = std::get<std::int64_t>(column(s, "payload")[i]);
    EXPECT_EQ(p, 10 * w) << "work_us and payload vary together in [zip.a]";
    seen.insert({w, p, std::get<double>(column(s, "fail_rate")[i])});
  }
  EXPECT_EQ(seen.size(), 6u) << "every pair of [zip.a] meets every value of [zip.b]";

  // Plain [zip] next to a named group and a grid axis: 2 × 2 × 3 points.
  auto m = parse_spec(head +
                          "[grid]\nfail_rate = [0.0, 0.1, 0.2]\n[zip]\nwork_us = [1, 2]\n"
                          "[zip.g]\npayload = [5, 6]\n",
                      "f.toml");
  EXPECT_EQ(m.points.size(), 12u);
  // Plain [zip] alone is as before: the lists pair up.
  auto z = parse_spec(head + "[zip]\nwork_us = [1, 2]\npayload = [3, 4]\n", "f.toml");
  EXPECT_EQ(column(z, "payload"), (std::vector<Value>{std::int64_t{3}, std::int64_t{4}}));
  EXPECT_EQ(column(z, "work_us"), (std::vector<Value>{std::int64_t{1}, std::int64_t{2}}));

  // --set on a zipped parameter takes it out of its group (an emptied group goes).
  auto o = parse_spec(head + "[zip.a]\nwork_us = [1, 2]\n[zip.b]\npayload = [1, 2, 3]\n", "f.toml",
                      {"work_us=7"});
  EXPECT_EQ(o.points.size(), 3u);
  for (const auto& v : column(o, "work_us")) EXPECT_EQ(std::get<std::int64_t>(v), 7);
}

TEST(SweepAxes, RulesGiveTheValuesAPersonWouldWrite) {
  // linspace(0, 1, 11) is 0, 0.1, ..., 1 as the literals parse (start + i*step would give
  // 0.30000000000000004), so the tasks are the very ones of the written-out list.
  auto lin = parse_spec(head + "[grid]\nfail_rate = { linspace = [0, 1, 11] }\n", "f.toml");
  auto list = parse_spec(head +
                             "[grid]\nfail_rate = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, "
                             "0.8, 0.9, 1.0]\n",
                         "f.toml");
  EXPECT_EQ(column(lin, "fail_rate"), column(list, "fail_rate"));
  EXPECT_EQ(ids(lin), ids(list));
  // A third: reals that no decimal writes exactly; the ends are exact.
  auto third =
      column(parse_spec(head + "[grid]\nfail_rate = { linspace = [0, 1, 4] }\n", "f"), "fail_rate");
  EXPECT_EQ(std::get<double>(third[1]), 1.0 / 3);
  EXPECT_EQ(std::get<double>(third[2]), 2.0 / 3);
  EXPECT_EQ(std::get<double>(third[3]), 1.0);

  // logspace [-4, -1, 4]: 1e-4 ... 1e-1 exactly as written in a file.
  auto log = column(parse_spec(head + "[grid]\nfail_rate = { logspace = [-4, -1, 4] }\n", "f.toml"),
                    "fail_rate");
  EXPECT_EQ(log, (std::vector<Value>{1e-4, 1e-3, 1e-2, 1e-1}));
  auto half = column(parse_spec(head + "[grid]\nfail_rate = { logspace = [-1, 0, 3] }\n", "f.toml"),
                     "fail_rate");
  EXPECT_EQ(std::get<double>(half[0]), 0.1);
  EXPECT_DOUBLE_EQ(std::get<double>(half[1]), 1 / std::sqrt(10.0));
  EXPECT_EQ(std::get<double>(half[2]), 1.0);

  // range: integers stay integers (an integer parameter takes them), both ends included.
  auto r = column(parse_spec(head + "[grid]\nwork_us = { range = [1, 9, 2] }\n", "f"), "work_us");
  EXPECT_EQ(r, (std::vector<Value>{std::int64_t{1}, std::int64_t{3}, std::int64_t{5},
                                   std::int64_t{7}, std::int64_t{9}}));
  auto down =
      column(parse_spec(head + "[grid]\nwork_us = { range = [9, 0, -4] }\n", "f"), "work_us");
  EXPECT_EQ(down, (std::vector<Value>{std::int64_t{9}, std::int64_t{5}, std::int64_t{1}}));
  auto unit = column(parse_spec(head + "[grid]\npayload = { range = [2, 4] }\n", "f"), "payload");
  EXPECT_EQ(unit, (std::vector<Value>{std::int64_t{2}, std::int64_t{3}, std::int64_t{4}}));
  // Real steps land on the literals too, the last on stop itself.
  auto tenth = column(parse_spec(head + "[grid]\nfail_rate = { range = [0, 0.3, 0.1] }\n", "f"),
                      "fail_rate");
  EXPECT_EQ(tenth, (std::vector<Value>{0.0, 0.1, 0.2, 0.3}));
  auto odd = column(parse_spec(head + "[grid]\nfail_rate = { range = [0.05, 0.95, 0.15] }\n", "f"),
                    "fail_rate");
  EXPECT_EQ(odd, (std::vector<Value>{0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95}));
  auto fine =
      column(parse_spec(head + "[grid]\nfail_rate = { linspace = [0.001, 0.009, 5] }\n", "f"),
             "fail_rate");
  EXPECT_EQ(fine, (std::vector<Value>{0.001, 0.003, 0.005, 0.007, 0.009}));

  // Rules in a zip group count as lists of that length; --set takes a rule as a grid axis.
  auto zipped = parse_spec(head +
                               "[zip.a]\nwork_us = { range = [0, 20, 10] }\n"
                               "fail_rate = { linspace = [0, 0.5, 3] }\n",
                           "f.toml");
  EXPECT_EQ(column(zipped, "fail_rate"), (std::vector<Value>{0.0, 0.25, 0.5}));
  EXPECT_EQ(zipped.points.size(), 3u);
  auto set = parse_spec(head, "f.toml", {"payload={range=[1,3]}"});
  EXPECT_EQ(set.points.size(), 3u);
}

TEST(SweepAxes, BadFormsSayWhereAndWhat) {
  const std::string forms =
      "or a rule: { linspace = [start, stop, count] }, { logspace = [start_exp, stop_exp, "
      "count] } or { range = [start, stop, step] } (step 1 if left out)";
  EXPECT_EQ(error_of(head + "[grid]\nfail_rate = { linspace = [0, 1] }\n"),
            "f.toml:5: 'fail_rate': linspace takes [start, stop, count]");
  EXPECT_EQ(error_of(head + "[grid]\nfail_rate = { linspace = [0, 1, 1] }\n"),
            "f.toml:5: 'fail_rate': linspace's count must be an integer, at least 2");
  EXPECT_EQ(error_of(head + "[grid]\nfail_rate = { logspace = [0, \"1\", 3] }\n"),
            "f.toml:5: 'fail_rate': logspace takes [start_exp, stop_exp, count] (10^start_exp ... "
            "10^stop_exp) (numbers)");
  EXPECT_EQ(error_of(head + "[grid]\nwork_us = { range = [0, 10, 0] }\n"),
            "f.toml:5: 'work_us': range's step must not be 0");
  EXPECT_EQ(error_of(head + "[grid]\nwork_us = { range = [10, 0] }\n"),
            "f.toml:5: 'work_us': range's step points away from stop; count down with a negative "
            "step");
  EXPECT_EQ(error_of(head + "[grid]\nwork_us = { lnspace = [0, 1, 3] }\n"),
            "f.toml:5: 'work_us': expected a list of values " + forms);
  EXPECT_EQ(error_of(head + "[grid]\nwork_us = 3\n"),
            "f.toml:5: 'work_us': [grid] takes a list of values, e.g. [1, 2], " + forms);
  // The experiment's own checks still apply to what a rule gives (linspace gives reals).
  EXPECT_EQ(error_of(head + "[grid]\nwork_us = { linspace = [0, 10, 3] }\n"),
            "f.toml:5: parameter 'work_us': expected an integer, got a real number");
  // A huge range fails on the sweep's task limit before anything is built.
  EXPECT_EQ(error_of(head + "[grid]\nwork_us = { range = [0, 100000000000] }\n"),
            "f.toml:5: 'work_us': the sweep would have more than 100000000 tasks, the most one "
            "sweep may have; split it into several sweeps");
  EXPECT_EQ(error_of(head + "[zip.g]\nwork_us = [1, 2]\npayload = [1, 2, 3]\n"),
            "f.toml:6: 'payload' has 3 values but 'work_us' has 2; lists in [zip.g] must have "
            "equal lengths");
  EXPECT_EQ(error_of(head + "[zip.a]\nwork_us = [1, 2]\n[zip.b]\nwork_us = [3, 4]\n"),
            "f.toml:7: parameter 'work_us' is also given at f.toml:5");
  EXPECT_EQ(error_of(head + "[zip.a]\n[zip.b]\nwork_us = [3, 4]\n"),
            "f.toml:4: [zip.a] is empty; give it lists of equal length");
}

// The command kind declares its parameters by the values the file gives them: rules and zip
// groups declare them too (a range of integers an integer parameter, linspace a real one).
TEST(SweepAxes, CommandKindReadsRulesAndGroups) {
  auto s = parse_spec(
      "[sweep]\nname = \"c\"\nexperiment = \"command\"\n[command]\n"
      "run = [\"echo\", \"{x}\", \"{n}\", \"{m}\"]\n[grid]\n"
      "x = { linspace = [0, 1, 3] }\n[zip.a]\nn = { range = [1, 3] }\n"
      "m = [\"a\", \"b\", \"c\"]\n",
      "c.toml");
  ASSERT_EQ(s.points.size(), 9u);
  EXPECT_EQ(column(s, "x")[4], Value{0.5});
  EXPECT_EQ(column(s, "n")[4], Value{std::int64_t{2}});
  EXPECT_EQ(column(s, "m")[4], Value{std::string("b")});
}
