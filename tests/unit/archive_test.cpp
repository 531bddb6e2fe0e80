#include "archive_support.hpp"

using namespace mpisweep;
using namespace mpisweep::archive;
using namespace mpisweep::archive::test_support;

TEST(Archive, RoundTrip) {
  auto dir = temp_dir("roundtrip");
  auto path = (dir / "a.h5").string();
  {
    Writer w = Writer::create(path, make_layout());
    std::vector<TaskDef> tasks;
    for (std::size_t i = 0; i < 5; ++i) tasks.push_back(make_task(i));
    EXPECT_EQ(w.add_tasks(tasks), 0u);
    auto run = w.begin_run({.start = 10, .ranks = 4, .threads_per_worker = 2, .hosts = "a,b"});
    w.record(1, {.status = TaskStatus::done,
                 .attempts = 1,
                 .worker = 2,
                 .host = "node1",
                 .started = 5.0,
                 .wall_seconds = 1.5,
                 .metrics = {0.25, NAN},
                 .series = {{1.0, 2.0, 3.0}}});
    w.record(3, {.status = TaskStatus::failed,
                 .attempts = 2,
                 .worker = 1,
                 .host = "node2",
                 .error = "boom",
                 .metrics = {},
                 .series = {}});
    w.flush();
    w.record(4, {.status = TaskStatus::done,
                 .worker = 1,
                 .host = "node1",
                 .metrics = {1, 2},
                 .series = {{4.0}}});
    w.end_run(run, 20, 0);
    w.close();
  }
  Reader r = Reader::open(path);
  EXPECT_EQ(r.info().name, "demo");
  EXPECT_EQ(r.info().spec_hash, 0x1234abcd5678ef00ULL);
  EXPECT_EQ(r.info().spec_toml, "[sweep]\nname = \"demo\"\n");
  ASSERT_EQ(r.rows(), 5u);
  EXPECT_EQ(r.ids()[4], 1004u);
  EXPECT_EQ(r.status()[1], TaskStatus::done);
  EXPECT_EQ(r.status()[3], TaskStatus::failed);
  EXPECT_EQ(r.status()[0], TaskStatus::pending);
  EXPECT_EQ(r.errors()[3], "boom");
  // A pending row never written after add_tasks reads as the datasets' fill values.
  EXPECT_EQ(r.workers()[0], -1);
  EXPECT_TRUE(std::isnan(r.started()[0]));
  EXPECT_TRUE(std::isnan(r.wall_seconds()[0]));
  EXPECT_EQ(r.attempts()[0], 0);
  EXPECT_EQ(r.errors()[0], "");
  EXPECT_TRUE(r.series("curve", 0).empty());
  EXPECT_EQ(r.seeds()[2], 15u);
  EXPECT_EQ(r.hosts()[1], "node1");
  EXPECT_EQ(r.hosts()[0], "");
  auto v = r.metric("value");
  EXPECT_EQ(v[1], 0.25);
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_TRUE(std::isnan(r.metric("loss")[1]));
  EXPECT_EQ(r.series("curve", 1), (std::vector<double>{1, 2, 3}));
  EXPECT_TRUE(r.series("curve", 3).empty());
  EXPECT_EQ(r.series("curve", 4), (std::vector<double>{4}));
  EXPECT_EQ(r.param("mode").at(0), Value{std::string("extension")});
  EXPECT_EQ(r.param("flag").at(0), Value{true});
  EXPECT_EQ(r.param("n").at(3), Value{std::int64_t{3}});
  EXPECT_EQ(r.param("lr").at(3), Value{1.5});
  auto runs = r.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].hosts, "a,b");
  EXPECT_EQ(runs[0].exit_status, 0);
  EXPECT_EQ(runs[0].end, 20);
  EXPECT_EQ(h5dump_exit(path), 0);
  fs::remove_all(dir);
}

TEST(Archive, CreateRefusesExistingPath) {
  auto dir = temp_dir("exists");
  auto path = (dir / "sub" / "a.h5").string();  // parent created on demand
  Writer::create(path, make_layout()).close();
  EXPECT_THROW(Writer::create(path, make_layout()), input_error);
  // No temporary files are left behind.
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir / "sub")) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
  fs::remove_all(dir);
}

// The rows given to create() are in the file when it appears, before any flush(): a kill right
// after creation leaves them all. A failure while adding them leaves nothing behind.
TEST(Archive, CreateWritesTheGivenRowsBeforeTheArchiveAppears) {
  auto dir = temp_dir("create_rows");
  auto path = (dir / "a.h5").string();
  {
    Writer w = Writer::create(path, make_layout(), [&](Writer& fresh) {
      EXPECT_FALSE(fs::exists(path)) << "the archive appeared before its rows were written";
      std::vector<TaskDef> tasks;
      for (std::size_t i = 0; i < 5; ++i) tasks.push_back(make_task(i));
      fresh.add_tasks(tasks);
    });
    EXPECT_EQ(w.rows().size(), 5u);
    Reader r = Reader::open(path);  // while the writer holds it, never flushed by hand
    ASSERT_EQ(r.rows(), 5u);
    EXPECT_EQ(r.ids()[0], 1000u);
    EXPECT_EQ(r.ids()[4], 1004u);
    for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(r.status()[i], TaskStatus::pending);
  }
  auto failing = (dir / "sub" / "b.h5").string();
  EXPECT_THROW(Writer::create(failing, make_layout(),
                              [](Writer&) { throw archive_error("made-up failure"); }),
               archive_error);
  EXPECT_FALSE(fs::exists(dir / "sub")) << "the folder create() made is removed again";
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u) << "only a.h5, no temporary file";
  fs::remove_all(dir);
}

TEST(Archive, OpenChecksSweepAndColumns) {
  auto dir = temp_dir("mismatch");
  auto path = (dir / "a.h5").string();
  Writer::create(path, make_layout()).close();
  auto expect_input_error = [&](Layout l) {
    try {
      Writer::open(path, l);
      ADD_FAILURE() << "open accepted a mismatched layout";
    } catch (const input_error& e) {
      EXPECT_EQ(e.where(), path);
    }
  };
  Layout l = make_layout();
  l.sweep_name = "other";
  expect_input_error(l);
  l = make_layout();
  l.experiment = "moe_cl";
  expect_input_error(l);
  l = make_layout();
  l.metrics.push_back({"extra", "", ""});
  expect_input_error(l);
  l = make_layout();
  l.params[1].type = ParamType::real;
  expect_input_error(l);
  l = make_layout();
  l.series.clear();
  expect_input_error(l);
  EXPECT_THROW(Writer::open((dir / "missing.h5").string(), make_layout()), input_error);
  Writer::open(path, make_layout()).close();  // the right layout still opens
  EXPECT_EQ(h5dump_exit(path), 0);
  fs::remove_all(dir);
}

TEST(Archive, ResumeKeepsRowsInOrder) {
  auto dir = temp_dir("resume");
  auto path = (dir / "a.h5").string();
  {
    Writer w = Writer::create(path, make_layout());
    std::vector<TaskDef> tasks;
    for (std::size_t i = 0; i < 10; ++i) tasks.push_back(make_task(i));
    w.add_tasks(tasks);
    for (std::size_t i = 0; i < 10; ++i) w.record(i, make_outcome(i));
    w.begin_run({.start = 1});
    w.close();
  }
  {
    Writer w = Writer::open(path, make_layout());
    ASSERT_EQ(w.rows().size(), 10u);
    EXPECT_EQ(w.rows()[3].id, 1003u);
    EXPECT_EQ(w.rows()[3].status, TaskStatus::done);
    EXPECT_EQ(w.rows()[3].attempts, 1);
    std::vector<TaskDef> tasks;
    for (std::size_t i = 10; i < 20; ++i) tasks.push_back(make_task(i));
    EXPECT_EQ(w.add_tasks(tasks), 10u);
    for (std::size_t i = 10; i < 20; ++i) w.record(i, make_outcome(i));
    EXPECT_EQ(w.begin_run({.start = 2}), 1u);
    // Writer destructor closes.
  }
  Reader r = Reader::open(path);
  ASSERT_EQ(r.rows(), 20u);
  check_rows(r, 20);
  EXPECT_EQ(r.hosts()[13], "node1");
  EXPECT_EQ(r.param("mode").at(12), Value{std::string("extension")});
  EXPECT_EQ(r.runs().size(), 2u);
  EXPECT_EQ(h5dump_exit(path), 0);
  fs::remove_all(dir);
}

TEST(Archive, ForeignFilesAreInputErrors) {
  auto dir = temp_dir("foreign");
  auto text = (dir / "text.h5").string();
  std::ofstream(text) << "not hdf5 at all\n";
  EXPECT_THROW(Reader::open(text), input_error);
  EXPECT_THROW(Writer::open(text, make_layout()), input_error);
  // An HDF5 file without our format attribute (another tool's).
  auto plain = (dir / "plain.h5").string();
  ASSERT_EQ(std::system(("h5mkgrp '" + plain + "' results > /dev/null 2>&1").c_str()), 0);
  EXPECT_THROW(Reader::open(plain), input_error);
  EXPECT_THROW(Writer::open(plain, make_layout()), input_error);
  // A truncated archive: corrupt.
  auto cut = (dir / "cut.h5").string();
  Writer::create(cut, make_layout()).close();
  fs::resize_file(cut, fs::file_size(cut) / 2);
  EXPECT_THROW(Reader::open(cut), input_error);
  EXPECT_THROW(Writer::open(cut, make_layout()), input_error);
  try {
    Reader::open(text);
  } catch (const input_error& e) {
    EXPECT_EQ(e.where(), text);
  }
  fs::remove_all(dir);
}

// A reader in another process sees rows appear while the writer flushes. Fork before any HDF5
// handle exists, so no handle is shared across the fork.
TEST(Archive, ReaderSeesRowsWhileWriting) {
  auto dir = temp_dir("swmr");
  auto path = (dir / "a.h5").string();
  auto ready = (dir / "ready").string();
  const std::size_t total = 40000, step = 4000;
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int rc = 0;
    try {
      Writer w = Writer::create(path, make_layout());
      std::vector<TaskDef> tasks;
      for (std::size_t i = 0; i < total; ++i) tasks.push_back(make_task(i));
      w.add_tasks(tasks);
      w.flush();
      std::ofstream(ready) << "1";
      for (std::size_t i = 0; i < total; ++i) {
        w.record(i, make_outcome(i));
        if ((i + 1) % step == 0) {
          w.flush();
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
      w.close();
    } catch (...) {
      rc = 1;
    }
    _exit(rc);
  }
  for (int i = 0; i < 6000 && !fs::exists(ready); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (!fs::exists(ready)) kill(child, SIGKILL);
  ASSERT_TRUE(fs::exists(ready)) << "the writer process did not start";
  Reader r = Reader::open(path);
  std::size_t seen_max = 0, observations = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    r.refresh();
    ASSERT_EQ(r.rows(), total);
    auto status = r.status();
    std::size_t done = 0;
    while (done < status.size() && status[done] == TaskStatus::done) ++done;
    EXPECT_GE(done, seen_max);  // never goes backwards
    if (done > seen_max) ++observations;
    seen_max = done;
    if (done == total) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  r.refresh();
  check_rows(r, total);
  EXPECT_GT(observations, 1u);  // saw intermediate states, not just the end
  fs::remove_all(dir);
}

// kill -9 of a SWMR writer: the file stays readable with every flushed row, resume clears the
// status flags, and a finished archive opens in h5dump.
TEST(Archive, RetryReplacesOutcomeAndClearsError) {
  auto dir = temp_dir("retry");
  auto path = (dir / "a.h5").string();
  {
    Writer w = Writer::create(path, make_layout());
    std::vector<TaskDef> tasks = {make_task(0), make_task(1)};
    w.add_tasks(tasks);
    w.record(
        1,
        {.status = TaskStatus::timeout, .attempts = 1, .error = "too slow", .series = {{9, 9, 9}}});
    w.flush();
    w.record(1, make_outcome(1));  // second attempt succeeds, no series
    w.close();
  }
  Reader r = Reader::open(path);
  EXPECT_EQ(r.status()[1], TaskStatus::done);
  EXPECT_EQ(r.errors()[1], "");
  EXPECT_TRUE(r.series("curve", 1).empty());
  EXPECT_EQ(r.metric("value")[1], 1.0);
  fs::remove_all(dir);
}

// What browsing needs is stored, so show/plot/report work without the kind compiled in: metric
// timing flags, series x scales and field shapes, the standard figures. An older archive without
// these attributes reads as the defaults.
TEST(Archive, StoresTheDeclaredSchema) {
  fs::path dir = temp_dir("schema");
  const std::string path = (dir / "a.h5").string();
  Layout l = make_layout();
  l.metrics[1].timing = true;
  l.series = {{.name = "curve",
               .help = "a curve",
               .unit = "m",
               .axis = "round",
               .x_start = 10,
               .x_step = 5,
               .x_scale_param = "every"},
              {.name = "policy",
               .help = "greedy action",
               .unit = "",
               .axis = "",
               .shape = {3, 4},
               .axes = {"position", "velocity"}}};
  l.plots = {{.title = "loss vs n", .x = "n", .y = "loss", .group_by = "mode", .logy = true},
             {.title = "policy", .series = "policy", .heatmap = true}};
  {
    Writer w = Writer::create(path, l);
    w.close();
  }
  Reader r = Reader::open(path);
  auto m = r.metric_specs();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_FALSE(m[0].timing);
  EXPECT_TRUE(m[1].timing);
  EXPECT_EQ(m[1].unit, "nats");
  auto s = r.series_specs();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].axis, "round");
  EXPECT_EQ(s[0].x_start, 10);
  EXPECT_EQ(s[0].x_step, 5);
  EXPECT_EQ(s[0].x_scale_param, "every");
  EXPECT_EQ(s[1].x_scale_param, "");  // not declared: no attribute, read as none
  EXPECT_TRUE(s[0].shape.empty());
  EXPECT_EQ(s[1].shape, (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(s[1].axes, (std::vector<std::string>{"position", "velocity"}));
  EXPECT_EQ(s[1].x_step, 1);
  auto p = r.plots();
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].title, "loss vs n");
  EXPECT_EQ(p[0].group_by, "mode");
  EXPECT_TRUE(p[0].logy);
  EXPECT_FALSE(p[0].logx);
  EXPECT_EQ(p[1].series, "policy");
  EXPECT_TRUE(p[1].heatmap);
  // Plain HDF5 tools see them as ordinary attributes.
  std::string cmd = "h5dump -a /series/policy/shape '" + path + "' | grep -q '3, 4'";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  fs::remove_all(dir);
}
