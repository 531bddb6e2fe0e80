#include <mpisweep/core/error.hpp>
#include <mpisweep/sweep/spec.hpp>

#include <gtest/gtest.h>

#include <set>

using namespace mpisweep;
using sweep::parse_spec;

namespace {
const char* head = "[sweep]\nname = \"t\"\nexperiment = \"noop\"\n";

std::string error_of(const std::string& text, std::vector<std::string> sets = {}) {
  try {
    parse_spec(text, "f.toml", sets);
  } catch (const input_error& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(Sweep, GridZipAndSeedsExpandInOrder) {
  auto s = parse_spec(std::string(head) +
                          "seeds = 2\nbase_seed = 7\n[params]\npayload = 3\n"
                          "[grid]\nwork_us = [1, 2, 3]\n[zip]\nfail_rate = [0.0, 0.5]\n",
                      "f.toml");
  EXPECT_EQ(s.points.size(), 6u);
  EXPECT_EQ(s.tasks.size(), 12u);
  EXPECT_EQ(s.seeds, (std::vector<std::uint64_t>{7, 8}));
  EXPECT_EQ(s.archive, "results/t.h5");
  // Schema order: work_us, payload, fail_rate. First factor varies slowest.
  EXPECT_EQ(std::get<std::int64_t>(s.points[0][0]), 1);
  EXPECT_EQ(std::get<double>(s.points[1][2]), 0.5);
  EXPECT_EQ(std::get<std::int64_t>(s.points[2][0]), 2);
  EXPECT_EQ(std::get<std::int64_t>(s.points[5][1]), 3);
  // Seed-major: the first six tasks use seed 7.
  EXPECT_EQ(s.tasks[5].seed, 7u);
  EXPECT_EQ(s.tasks[6].seed, 8u);
  std::set<std::uint64_t> ids;
  for (auto& t : s.tasks) ids.insert(t.id);
  EXPECT_EQ(ids.size(), 12u);
}

TEST(Sweep, TaskIdsAreStableAndIgnoreHowAValueIsWritten) {
  // The same task written as a default, a [params] entry or a grid value has the same id, and
  // adding grid values keeps every old id.
  auto a = parse_spec(std::string(head) + "[grid]\nwork_us = [0, 5]\n", "a.toml");
  auto b = parse_spec(std::string(head) + "[grid]\nwork_us = [5, 0, 9]\n[params]\nfail_rate = 0\n",
                      "b.toml");
  EXPECT_EQ(a.tasks[0].id, b.tasks[1].id);
  EXPECT_EQ(a.tasks[1].id, b.tasks[0].id);
  // Pinned value: changing the hash function would orphan every existing archive.
  EXPECT_EQ(sweep::task_id(sweep::point_hash("noop", {"a"}, {Value{std::int64_t{1}}}), 1),
            sweep::task_id(sweep::point_hash("noop", {"a"}, {Value{std::int64_t{1}}}), 1));
  EXPECT_NE(sweep::task_id(sweep::point_hash("noop", {"a"}, {Value{std::int64_t{1}}}), 1),
            sweep::task_id(sweep::point_hash("noop", {"a"}, {Value{1.0}}), 1));
  EXPECT_EQ(sweep::fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
}

TEST(Sweep, RandomPointsAreReproducibleAndInRange) {
  const std::string text =
      std::string(head) +
      "base_seed = 3\n[random]\ncount = 50\nfail_rate = { log_uniform = [1e-3, 1e-1] }\n"
      "work_us = { int_uniform = [2, 4] }\n";
  auto a = parse_spec(text, "f.toml"), b = parse_spec(text, "f.toml");
  ASSERT_EQ(a.points.size(), 50u);
  EXPECT_EQ(a.points, b.points);
  std::set<std::int64_t> seen;
  for (auto& p : a.points) {
    const double fr = std::get<double>(p[2]);
    EXPECT_GE(fr, 1e-3);
    EXPECT_LT(fr, 1e-1);
    seen.insert(std::get<std::int64_t>(p[0]));
  }
  EXPECT_EQ(seen, (std::set<std::int64_t>{2, 3, 4}));
}

TEST(Sweep, OverridesReplaceOrAddAxes) {
  auto s = parse_spec(std::string(head) + "[grid]\nwork_us = [1, 2]\n", "f.toml",
                      {"work_us=7", "payload=[1,2,3]", "sweep.seeds=2", "sweep.archive=x.h5"});
  EXPECT_EQ(s.points.size(), 3u);
  EXPECT_EQ(s.tasks.size(), 6u);
  EXPECT_EQ(s.archive, "x.h5");
  EXPECT_EQ(std::get<std::int64_t>(s.points[2][0]), 7);
  EXPECT_NE(s.hash, parse_spec(std::string(head) + "[grid]\nwork_us = [1, 2]\n", "f.toml").hash);
}

TEST(Sweep, ErrorsNameFileLineAndWhat) {
  EXPECT_EQ(error_of(std::string(head) + "[params]\nwork_us = -1\n"),
            "f.toml:5: parameter 'work_us': -1 is out of range >= 0");
  EXPECT_EQ(error_of(std::string(head) + "seeds = [1, 1]\n"),
            "f.toml:4: 'seeds': seed 1 is listed twice");
  EXPECT_EQ(error_of(std::string(head) + "seeds = 0\n"), "f.toml:4: 'seeds': expected at least 1");
  EXPECT_EQ(
      error_of(std::string(head) + "[grid]\nwork_us = [1, 1]\n"),
      "f.toml: the sweep lists the same parameter point twice (work_us=1, payload=0, fail_rate=0)");
  EXPECT_EQ(error_of(std::string(head) + "[params]\nwork_us = [1]\n"),
            "f.toml:5: 'work_us': [params] takes single values; put lists under [grid]");
  EXPECT_EQ(error_of(head, {"payload=-2"}),
            "--set payload=-2: parameter 'payload': -2 is out of range [0, 1e+08]");
  EXPECT_EQ(error_of(std::string(head) + "[random]\nfail_rate = { uniform = [0, 1] }\n"),
            "f.toml:4: [random] needs count = N");
  EXPECT_EQ(error_of("[sweep]\nname = \"a b\"\nexperiment = \"noop\"\n"),
            "f.toml:2: 'name': use letters, digits, '-', '_' and '.' only");
}
