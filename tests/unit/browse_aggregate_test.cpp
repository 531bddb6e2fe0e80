// Golden values of the browse aggregation: an archive written with known numbers, then exact
// means, standard errors, counts, grouping and --where filters.
#include <mpisweep/archive/archive.hpp>
#include <mpisweep/cli/aggregate.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <unistd.h>

using namespace mpisweep;
using namespace mpisweep::cli;
using archive::TaskStatus;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path d =
      fs::temp_directory_path() / ("mpisweep_browse_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Grid M in {1, 4, 8} x gating in {false, true}, mode "a", lr 0.5, three seeds each: 18 rows.
// err = M + s (s = 0, 1, 2 the seed's index), so each point has mean M + 1 and sd 1;
// acc = 10 * gating + s.
// Exceptions: (M=8, gating=true) seed 2 failed and (M=8, gating=false) seed 2 is still pending;
// (M=4, gating=false) seed 1 is done but has no acc (NaN).
std::string write_golden(const fs::path& dir) {
  archive::Layout l;
  l.sweep_name = "golden";
  l.experiment = "golden_unregistered";
  l.spec_toml = "[sweep]\nname = \"golden\"\n";
  l.params = {
      {.name = "M",
       .type = ParamType::integer,
       .default_value = std::int64_t{1},
       .help = "experts"},
      {.name = "gating", .type = ParamType::boolean, .default_value = false, .help = "gate"},
      {.name = "mode",
       .type = ParamType::choice,
       .default_value = std::string("a"),
       .help = "mode",
       .choices = {"a", "b"}},
      {.name = "lr", .type = ParamType::real, .default_value = 0.5, .help = "rate"},
  };
  l.metrics = {{"err", "an error", "nats"}, {"acc", "an accuracy", ""}};
  l.series = {{"curve", "a curve", "m", "iteration"}};
  const std::string path = (dir / "golden.h5").string();
  archive::Writer w = archive::Writer::create(path, l);
  std::vector<archive::TaskDef> tasks;
  std::uint64_t id = 1;
  for (std::int64_t M : {1, 4, 8})
    for (bool gating : {false, true})
      for (std::uint64_t s = 0; s < 3; ++s)
        tasks.push_back({.id = id++,
                         .seed = s,
                         .params = {Value{M}, Value{gating}, Value{std::string("a")}, Value{0.5}}});
  w.add_tasks(tasks);
  for (std::size_t row = 0; row < tasks.size(); ++row) {
    const auto M = std::get<std::int64_t>(tasks[row].params[0]);
    const bool gating = std::get<bool>(tasks[row].params[1]);
    const auto s = static_cast<double>(tasks[row].seed);
    if (M == 8 && tasks[row].seed == 2) {
      if (gating) w.record(row, {.status = TaskStatus::failed, .error = "boom"});
      continue;  // pending
    }
    double acc = 10.0 * gating + s;
    if (M == 4 && !gating && tasks[row].seed == 1) acc = std::nan("");
    w.record(row, {.status = TaskStatus::done,
                   .metrics = {double(M) + s, acc},
                   .series = {{s, 2 * s, 3 * s}}});
  }
  w.close();
  return path;
}

const std::vector<ParamInfo> where_params = {
    {"M", ParamType::integer, "", {}},
    {"gating", ParamType::boolean, "", {}},
    {"mode", ParamType::choice, "", {"a", "b"}},
    {"lr", ParamType::real, "", {}},
};

std::string where_error(const std::string& text) {
  try {
    Where::parse(text, where_params);
  } catch (const input_error& e) {
    EXPECT_EQ(e.where(), "--where");
    return e.what();
  }
  ADD_FAILURE() << "no error for " << text;
  return "";
}

}  // namespace

TEST(BrowseAggregate, MeanAndStandardError) {
  std::vector<double> v{1, 2, 3, 4};
  Stat s = mean_se(v);
  EXPECT_EQ(s.n, 4u);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  // sample sd = sqrt(5/3), se = sd / 2
  EXPECT_DOUBLE_EQ(s.se, std::sqrt(5.0 / 3.0) / 2.0);
  std::vector<double> with_nan{1, std::nan(""), 3};
  s = mean_se(with_nan);
  EXPECT_EQ(s.n, 2u);
  EXPECT_DOUBLE_EQ(s.mean, 2.0);
  EXPECT_DOUBLE_EQ(s.se, 1.0);
  std::vector<double> one{7};
  s = mean_se(one);
  EXPECT_EQ(s.n, 1u);
  EXPECT_EQ(s.mean, 7.0);
  EXPECT_TRUE(std::isnan(s.se));
  s = mean_se(std::span<const double>{});
  EXPECT_EQ(s.n, 0u);
  EXPECT_TRUE(std::isnan(s.mean));
}

TEST(BrowseAggregate, GoldenArchivePerPoint) {
  auto dir = temp_dir("golden");
  archive::Reader r = archive::Reader::open(write_golden(dir));
  TaskTable t = load_table(r);
  ASSERT_EQ(t.rows(), 18u);
  ASSERT_EQ(t.params.size(), 4u);
  ASSERT_NE(t.metric_index("err"), TaskTable::npos);
  EXPECT_EQ(t.metrics[t.metric_index("err")].unit, "nats");

  std::vector<std::size_t> all(t.params.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  const std::vector<std::string> metric_names{"err", "acc"};
  auto metrics = resolve_metrics(t, metric_names, "--metric");
  Summary s = summarize(t, all, metrics, Where{});
  ASSERT_EQ(s.groups.size(), 6u);
  EXPECT_EQ(s.total.done, 16u);
  EXPECT_EQ(s.total.failed, 1u);
  EXPECT_EQ(s.total.pending, 1u);
  EXPECT_EQ(s.total.timeout, 0u);

  const std::size_t M = t.param_index("M"), gating = t.param_index("gating");
  const double se3 = 1.0 / std::sqrt(3.0);
  std::int64_t last_M = 0;
  for (const Group& g : s.groups) {
    // Sorted: M ascending, then false before true.
    const auto m = std::get<std::int64_t>(g.key[M]);
    const bool gate = std::get<bool>(g.key[gating]);
    EXPECT_GE(m, last_M);
    last_M = m;
    const Stat& err = g.stats[0];
    const Stat& acc = g.stats[1];
    if (m == 8) {
      // Two done tasks: values M and M + 1.
      EXPECT_EQ(g.counts.done, 2u);
      EXPECT_EQ(gate ? g.counts.failed : g.counts.pending, 1u);
      EXPECT_EQ(err.n, 2u);
      EXPECT_DOUBLE_EQ(err.mean, 8.5);
      EXPECT_DOUBLE_EQ(err.se, 0.5);
    } else {
      EXPECT_EQ(g.counts.done, 3u);
      EXPECT_EQ(err.n, 3u);
      EXPECT_DOUBLE_EQ(err.mean, double(m) + 1);
      EXPECT_NEAR(err.se, se3, 1e-15);
    }
    if (m == 4 && !gate) {
      // acc 0 and 2 (seed 1 has none).
      EXPECT_EQ(acc.n, 2u);
      EXPECT_DOUBLE_EQ(acc.mean, 1.0);
      EXPECT_DOUBLE_EQ(acc.se, 1.0);
    } else if (m != 8) {
      EXPECT_DOUBLE_EQ(acc.mean, 10.0 * gate + 1);
    }
  }
  EXPECT_EQ(std::get<bool>(s.groups[0].key[gating]), false);
  EXPECT_EQ(std::get<bool>(s.groups[1].key[gating]), true);

  EXPECT_EQ(varying_params(t, Where{}), (std::vector<std::size_t>{M, gating}));
}

TEST(BrowseAggregate, GroupByAndFilter) {
  auto dir = temp_dir("groupby");
  archive::Reader r = archive::Reader::open(write_golden(dir));
  TaskTable t = load_table(r);
  const std::vector<std::string> by{"gating"};
  auto key = resolve_params(t, by, "--group-by");
  const std::vector<std::string> metric_names{"err"};
  auto metrics = resolve_metrics(t, metric_names, "--metric");

  // Pooled over M: gating=false has err values 1,2,3, 4,5,6, 8,9 (8 done, 1 pending).
  Summary s = summarize(t, key, metrics, Where{});
  ASSERT_EQ(s.groups.size(), 2u);
  const std::vector<double> pooled{1, 2, 3, 4, 5, 6, 8, 9};
  Stat expect = mean_se(pooled);
  EXPECT_DOUBLE_EQ(s.groups[0].stats[0].mean, 38.0 / 8.0);
  EXPECT_DOUBLE_EQ(s.groups[0].stats[0].se, expect.se);
  EXPECT_EQ(s.groups[0].counts.pending, 1u);
  EXPECT_EQ(s.groups[1].counts.failed, 1u);

  // M >= 4 && gating: two points, one group.
  Where w = Where::parse("M>=4 && gating", t.params);
  s = summarize(t, key, metrics, w);
  ASSERT_EQ(s.groups.size(), 1u);
  EXPECT_EQ(std::get<bool>(s.groups[0].key[0]), true);
  EXPECT_EQ(s.total.total(), 6u);
  EXPECT_EQ(s.filtered_out, 12u);
  EXPECT_EQ(s.total.done, 5u);
  EXPECT_EQ(s.total.failed, 1u);
  // err values 4,5,6,8,9
  EXPECT_DOUBLE_EQ(s.groups[0].stats[0].mean, 32.0 / 5.0);

  EXPECT_EQ(varying_params(t, w), (std::vector<std::size_t>{t.param_index("M")}));

  // Unknown names list the valid ones.
  const std::vector<std::string> bad{"nope"};
  try {
    resolve_metrics(t, bad, "--metric");
    FAIL();
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("err, acc"), std::string::npos) << e.what();
  }
  EXPECT_THROW(resolve_params(t, bad, "--group-by"), input_error);
}

TEST(BrowseAggregate, WhereGrammar) {
  TaskTable t;
  t.params = where_params;
  t.param_values = {
      {Value{std::int64_t{1}}, Value{std::int64_t{4}}, Value{std::int64_t{8}}},
      {Value{true}, Value{false}, Value{true}},
      {Value{std::string("a")}, Value{std::string("b")}, Value{std::string("a")}},
      {Value{0.1}, Value{0.01}, Value{1e-3}},
  };
  t.status.assign(3, TaskStatus::done);
  auto rows = [&](const std::string& text) {
    Where w = Where::parse(text, t.params);
    std::string out;
    for (std::size_t i = 0; i < t.rows(); ++i) out += w.matches(t, i) ? '1' : '0';
    return out;
  };
  EXPECT_EQ(rows("M>=4 && gating"), "001");
  EXPECT_EQ(rows("M >= 4 && gating"), "001");
  EXPECT_EQ(rows("!gating"), "010");
  EXPECT_EQ(rows("gating == false || M == 1"), "110");
  EXPECT_EQ(rows("!(M == 1) && (mode == 'a' || mode == \"b\")"), "011");
  EXPECT_EQ(rows("mode == a"), "101");
  EXPECT_EQ(rows("mode != a"), "010");
  EXPECT_EQ(rows("lr < 1e-2"), "001");
  EXPECT_EQ(rows("lr <= 1e-2"), "011");
  EXPECT_EQ(rows("M > 1 && M < 8"), "010");
  EXPECT_EQ(rows("M = 4"), "010");
  EXPECT_EQ(rows("M != 4"), "101");
  EXPECT_EQ(rows("lr > -1"), "111");
  EXPECT_EQ(rows("gating == 1"), "101");
  // && binds tighter than ||.
  EXPECT_EQ(rows("M == 1 || M == 8 && !gating"), "100");

  EXPECT_NE(where_error("M >= ").find("position 6"), std::string::npos);
  EXPECT_NE(where_error("M >= ").find("expected a value"), std::string::npos);
  EXPECT_NE(where_error("foo > 1").find("unknown name 'foo'"), std::string::npos);
  EXPECT_NE(where_error("foo > 1").find("M, gating, mode, lr"), std::string::npos);
  EXPECT_NE(where_error("M").find("not a boolean"), std::string::npos);
  EXPECT_NE(where_error("gating < true").find("position 8"), std::string::npos);
  EXPECT_NE(where_error("(M > 1").find("expected ')'"), std::string::npos);
  EXPECT_NE(where_error("M > 1)").find("position 6"), std::string::npos);
  EXPECT_NE(where_error("mode == c").find("choices are: a, b"), std::string::npos);
  EXPECT_NE(where_error("mode < a").find("only == and !="), std::string::npos);
  EXPECT_NE(where_error("M > x").find("expected a number"), std::string::npos);
  EXPECT_NE(where_error("M > 1 &&").find("position 9"), std::string::npos);
  EXPECT_NE(where_error("M > 1 gating").find("expected && or ||"), std::string::npos);
  EXPECT_NE(where_error("mode == 'a").find("unterminated"), std::string::npos);
  EXPECT_NE(where_error("").find("empty"), std::string::npos);
  EXPECT_NE(where_error("M # 1").find("position 3"), std::string::npos);
}

TEST(BrowseAggregate, WhereMetricsStatusSeedAndDepth) {
  TaskTable t;
  t.params = {{"M", ParamType::integer, "", {}}};
  t.param_values = {{Value{std::int64_t{1}}, Value{std::int64_t{2}}, Value{std::int64_t{3}}}};
  t.metrics = {{"G_T", "", ""}};
  t.metric_values = {{0.2, std::nan(""), 0.7}};
  t.status = {TaskStatus::done, TaskStatus::failed, TaskStatus::done};
  t.seeds = {5, 6, 7};
  auto rows = [&](const std::string& text) {
    Where w = Where::parse(text, t);
    std::string out;
    for (std::size_t i = 0; i < t.rows(); ++i) out += w.matches(t, i) ? '1' : '0';
    return out;
  };
  EXPECT_EQ(rows("G_T < 0.5"), "100");
  EXPECT_EQ(rows("G_T != 0.2"), "011");  // a task without the value matches only !=
  EXPECT_EQ(rows("status == failed"), "010");
  EXPECT_EQ(rows("status != done && M > 1"), "010");
  EXPECT_EQ(rows("seed >= 6"), "011");
  // Nesting is bounded: deep input is one input_error, never a stack overflow.
  EXPECT_EQ(rows(std::string(63, '(') + "M > 1" + std::string(63, ')')), "011");
  for (const std::string& deep : {std::string(20000, '!') + "M > 1",
                                  std::string(20000, '(') + "M > 1" + std::string(20000, ')')}) {
    try {
      Where::parse(deep, t);
      ADD_FAILURE() << "no error for deep nesting";
    } catch (const input_error& e) {
      EXPECT_NE(std::string(e.what()).find("nested more than 64"), std::string::npos);
      EXPECT_LT(std::string(e.what()).size(), 200u);
    }
  }
}

TEST(BrowseAggregate, MeanSeColumnOnePlace) {
  // The example: "1 ± 0" beside "1.00533 ± 0.00089" becomes one decimal place.
  const std::vector<Stat> col{{1.0, 0.0, 3}, {1.00533, 0.00089, 3}, {115.0, std::nan(""), 1}};
  std::vector<std::string> m, se;
  format_mean_se_column(col, m, se);
  EXPECT_EQ(m, (std::vector<std::string>{"1.00000", "1.00533", "115.00000"}));
  EXPECT_EQ(se, (std::vector<std::string>{"0.00000", "0.00089", ""}));
  // A spread of rounding noise is none; exact means need no decimals.
  format_mean_se_column(std::vector<Stat>{{115.0, 1e-20, 2}, {300.0, 0.0, 2}}, m, se);
  EXPECT_EQ(m, (std::vector<std::string>{"115", "300"}));
  EXPECT_EQ(se, (std::vector<std::string>{"0", "0"}));
  EXPECT_EQ(display_value(Value{0.064605103759}, true), "0.064605");
  EXPECT_EQ(display_value(Value{0.064605103759}, false), "0.0646051");
}

TEST(BrowseAggregate, CurvesOfDifferentLengths) {
  std::vector<std::vector<double>> curves{{1, 2, 3}, {3, 4}, {}};
  Curve c = mean_curve(curves);
  ASSERT_EQ(c.mean.size(), 3u);
  EXPECT_DOUBLE_EQ(c.mean[0], 2);
  EXPECT_DOUBLE_EQ(c.se[0], 1);
  EXPECT_DOUBLE_EQ(c.mean[2], 3);
  EXPECT_EQ(c.n[2], 1u);
  EXPECT_TRUE(std::isnan(c.se[2]));
}

TEST(BrowseAggregate, SortOrder) {
  EXPECT_LT(compare_values(Value{false}, Value{true}), 0);
  EXPECT_LT(compare_values(Value{std::int64_t{2}}, Value{10.0}), 0);
  EXPECT_GT(compare_values(Value{std::int64_t{10}}, Value{2.5}), 0);
  EXPECT_LT(compare_values(Value{std::string("a")}, Value{std::string("b")}), 0);
  EXPECT_EQ(compare_values(Value{1.5}, Value{1.5}), 0);
}

TEST(BrowseAggregate, MeanSeText) {
  std::string m, se;
  format_mean_se({0.51234, 0.0131, 5}, m, se);
  EXPECT_EQ(m, "0.512");
  EXPECT_EQ(se, "0.013");
  format_mean_se({12.0, 1.0 / std::sqrt(3.0), 3}, m, se);
  EXPECT_EQ(m, "12.00");
  EXPECT_EQ(se, "0.58");
  format_mean_se({1.5e-7, 2e-9, 3}, m, se);
  EXPECT_EQ(m, "1.500e-07");
  EXPECT_EQ(se, "2.0e-09");
  format_mean_se({7, std::nan(""), 1}, m, se);
  EXPECT_EQ(m, "7");
  EXPECT_EQ(se, "");
  format_mean_se({std::nan(""), std::nan(""), 0}, m, se);
  EXPECT_EQ(m, "-");
}

TEST(BrowseAggregate, RenderedForms) {
  auto dir = temp_dir("render");
  archive::Reader r = archive::Reader::open(write_golden(dir));
  TaskTable t = load_table(r);
  const std::vector<std::string> by{"M"}, metric_names{"err"};
  auto key = resolve_params(t, by, "--group-by");
  auto metrics = resolve_metrics(t, metric_names, "--metric");
  Summary s = summarize(t, key, metrics, Where{});
  // M=1: err 1,2,3,1,2,3 -> mean 2, sample variance 0.8, se sqrt(0.8/6) = 0.365.
  const std::string csv = render_summary(t, s, key, TableFormat::csv);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "M,done,failed,timeout,pending,err_mean,err_se,err_n");
  EXPECT_NE(csv.find("\n1,6,0,0,0,2,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\n8,4,1,0,1,"), std::string::npos) << csv;
  const std::string md = render_summary(t, s, key, TableFormat::markdown);
  EXPECT_NE(md.find("| M | done | failed | pending | err [nats] |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1 | 6 | 0 | 0 | 2.00 ± 0.37 |"), std::string::npos) << md;
  const std::string json = render_summary(t, s, key, TableFormat::json);
  EXPECT_NE(json.find("\"params\": {\"M\": 1}"), std::string::npos) << json;
  EXPECT_NE(json.find("\"failed\": 1"), std::string::npos) << json;
  // A narrow terminal hides trailing metric columns and names them.
  const std::vector<std::string> both{"err", "acc"};
  s = summarize(t, key, resolve_metrics(t, both, "--metric"), Where{});
  std::vector<std::string> hidden;
  render_summary(t, s, key, TableFormat::table, 30, &hidden);
  EXPECT_EQ(hidden, std::vector<std::string>{"acc"});
}
