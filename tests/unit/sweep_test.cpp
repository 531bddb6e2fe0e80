#include <mpisweep/core/error.hpp>
#include <mpisweep/sweep/spec.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
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
  EXPECT_EQ(error_of(std::string(head) + "seeds = 0\n"),
            "f.toml:4: 'seeds': expected at least 1, found 0");
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

// Issue 11, item 6: counts are checked before anything is expanded, so these fail at once (a
// bad_alloc after gigabytes before) and name the line and the limit.
TEST(Sweep, HugeTaskCountsAreRefusedBeforeExpansion) {
  const std::string limit =
      "more than 100000000 tasks, the most one sweep may have; split it into several sweeps";
  EXPECT_EQ(sweep::max_tasks, 100'000'000u);
  EXPECT_EQ(error_of(std::string(head) + "seeds = 10000000000\n"),
            "f.toml:4: 'seeds': " + limit + " (10000000000 seeds alone)");
  EXPECT_EQ(error_of(std::string(head) + "[random]\ncount = 1000000000000\n"
                                         "fail_rate = { uniform = [0, 1] }\n"),
            "f.toml:5: 'count': the sweep would have " + limit);
  // 1000 seeds × 100001 points: each factor alone is small, the product is not.
  EXPECT_EQ(error_of(std::string(head) + "seeds = 1000\n[random]\ncount = 100001\n"),
            "f.toml:6: 'count': the sweep would have " + limit);
  // Grid axes multiply: 10^5 seeds × 1000 values is the limit itself; the next axis crosses it
  // and is named (the product is never formed, so no axis count can overflow it).
  std::string grid = std::string(head) + "seeds = 100000\n[grid]\nwork_us = [";
  for (int i = 0; i < 1000; ++i) grid += (i ? ", " : "") + std::to_string(i);
  grid += "]\npayload = [1, 2]\n";
  EXPECT_EQ(error_of(grid), "f.toml:7: 'payload': the sweep would have " + limit);
  EXPECT_EQ(error_of(std::string(head) + "[zip]\nwork_us = [1, 2]\npayload = [1, 2]\n",
                     {"sweep.seeds=60000000"}),
            "f.toml:5: 'work_us': the sweep would have " + limit);
}

// Issue 11, item 11: values are refused, never truncated or overflowed.
TEST(Sweep, OutOfRangeValuesAreRefusedNotMangled) {
  EXPECT_EQ(error_of(std::string(head) + "retries = 4294967298\n"),
            "f.toml:4: 'retries': expected at most 1000, found 4294967298");
  EXPECT_EQ(error_of(std::string(head) + "retries = -3\n"),
            "f.toml:4: 'retries': expected at least 0, found -3");
  EXPECT_EQ(error_of(std::string(head) + "retries = 99999999999999999999\n").rfind("f.toml:4: ", 0),
            0u);
  EXPECT_EQ(parse_spec(std::string(head) + "retries = 1000\n", "f.toml").retries, 1000);
  // base_seed + seeds - 1 must stay an int64 (the seeds are TOML integers in the archive's file).
  EXPECT_EQ(error_of(std::string(head) + "base_seed = 9223372036854775807\nseeds = 2\n"),
            "f.toml:4: 'base_seed': base_seed + seeds - 1 must be at most 9223372036854775807; "
            "lower base_seed");
  auto top = parse_spec(std::string(head) + "base_seed = 9223372036854775806\nseeds = 2\n", "f");
  EXPECT_EQ(top.seeds, (std::vector<std::uint64_t>{9223372036854775806u, 9223372036854775807u}));
  // The name becomes results/<name>.h5: a file name has at most 255 bytes.
  EXPECT_EQ(error_of("[sweep]\nname = \"" + std::string(300, 'a') + "\"\nexperiment = \"noop\"\n"),
            "f.toml:2: 'name': 300 characters; a sweep name has at most 128 (it names the "
            "archive file)");
  EXPECT_EQ(
      parse_spec("[sweep]\nname = \"" + std::string(128, 'a') + "\"\nexperiment = \"noop\"\n", "f")
          .archive,
      "results/" + std::string(128, 'a') + ".h5");
  EXPECT_EQ(error_of("[sweep]\nname = \"a/b\"\nexperiment = \"noop\"\n"),
            "f.toml:2: 'name': use letters, digits, '-', '_' and '.' only");
}

// Issue 11, item 12: a directory or a file that cannot be read says so, in one line.
TEST(Sweep, UnreadableSweepFilesSaySo) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("mpisweep_sweep_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "jobs");
  auto message = [](const std::string& path) {
    try {
      sweep::load_spec(path);
    } catch (const input_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string jobs = (dir / "jobs").string() + "/";
  EXPECT_EQ(message(jobs), jobs + ": is a directory, not a sweep file");
  EXPECT_EQ(
      message((dir / "none.toml").string()),
      (dir / "none.toml").string() + ": cannot read the sweep file: No such file or directory");
  const auto locked = dir / "locked.toml";
  std::ofstream(locked) << head;
  std::filesystem::permissions(locked, std::filesystem::perms::none);
  if (::geteuid() != 0) {  // root reads it anyway
    EXPECT_EQ(message(locked.string()),
              locked.string() + ": cannot read the sweep file: Permission denied");
  }
  std::filesystem::remove_all(dir);
}
