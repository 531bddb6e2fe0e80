// The archive after kills, concurrent writers and many small flushes.
#include "archive_support.hpp"

using namespace mpisweep;
using namespace mpisweep::archive;
using namespace mpisweep::archive::test_support;

TEST(Archive, SurvivesKill9AndResumes) {
  auto dir = temp_dir("kill9");
  auto path = (dir / "a.h5").string();
  auto progress = (dir / "flushed").string();
  const std::size_t total = 200000, step = 5000;
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      Writer w = Writer::create(path, make_layout());
      std::vector<TaskDef> tasks;
      for (std::size_t i = 0; i < total; ++i) tasks.push_back(make_task(i));
      w.add_tasks(tasks);
      w.flush();
      for (std::size_t i = 0; i < total; ++i) {
        w.record(i, make_outcome(i));
        if ((i + 1) % step == 0) {
          w.flush();
          // Written after the flush returned: rows below this are durable.
          std::ofstream(progress + ".tmp") << (i + 1);
          fs::rename(progress + ".tmp", progress);
        }
      }
      // Never finishes: wait to be killed.
      for (;;) pause();
    } catch (...) {
      _exit(1);
    }
  }
  std::size_t flushed = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (flushed < 3 * step && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::ifstream in(progress);
    if (in) in >> flushed;
  }
  ASSERT_GE(flushed, 3 * step);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  {
    std::ifstream in(progress);
    in >> flushed;
  }

  EXPECT_NE(h5dump_exit(path), 0);  // status flags set: plain opens fail
  {
    Reader r = Reader::open(path);
    EXPECT_EQ(r.rows(), total);
    check_rows(r, flushed);
  }
  {
    Writer w = Writer::open(path, make_layout());
    ASSERT_EQ(w.rows().size(), total);
    for (std::size_t i = 0; i < flushed; ++i) ASSERT_EQ(w.rows()[i].status, TaskStatus::done);
    for (std::size_t i = 0; i < total; ++i)
      if (w.rows()[i].status != TaskStatus::done) w.record(i, make_outcome(i));
    std::vector<TaskDef> more = {make_task(total)};
    w.add_tasks(more);
    w.record(total, make_outcome(total));
    w.close();
  }
  EXPECT_EQ(h5dump_exit(path), 0);
  Reader r = Reader::open(path);
  ASSERT_EQ(r.rows(), total + 1);
  check_rows(r, total + 1);
  fs::remove_all(dir);
}

// SWMR never reuses freed file space, so a slow sweep that flushes after every task leaks the old
// copy of each rewritten chunk; close() then rewrites the archive compactly.
TEST(Archive, CloseCompactsAfterManySmallFlushes) {
  auto dir = temp_dir("compact");
  auto path = (dir / "a.h5").string();
  const std::size_t n = 1500;
  Writer w = Writer::create(path, make_layout());
  std::vector<TaskDef> tasks;
  for (std::size_t i = 0; i < n; ++i) tasks.push_back(make_task(i));
  w.add_tasks(tasks);
  auto run = w.begin_run({.start = 1, .hosts = "h1,h2"});
  for (std::size_t i = 0; i < n; ++i) {
    TaskOutcome o = make_outcome(i);
    o.metrics[0] = double(i);
    o.metrics[1] = std::sin(double(i)) * 1e6;  // incompressible
    w.record(i, o);
    w.flush();
  }
  w.end_run(run, 2, 0);
  auto before = fs::file_size(path);
  w.close();
  auto after = fs::file_size(path);
  std::printf("[archive] %zu flushes: %.2f MiB before close, %.2f MiB after compaction\n", n,
              double(before) / 1048576.0, double(after) / 1048576.0);
  EXPECT_LT(after * 2, before);
  EXPECT_EQ(h5dump_exit(path), 0);
  {
    Reader r = Reader::open(path);
    ASSERT_EQ(r.rows(), n);
    auto value = r.metric("value");
    auto loss = r.metric("loss");
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(value[i], double(i));
      ASSERT_EQ(loss[i], std::sin(double(i)) * 1e6);
      ASSERT_EQ(r.series("curve", i).size(), i % 2 == 0 ? i % 7 : 0u);
    }
    EXPECT_EQ(r.param("mode").at(3), Value{std::string("extension")});
    EXPECT_EQ(r.info().spec_toml, make_layout().spec_toml);
    ASSERT_EQ(r.runs().size(), 1u);
    EXPECT_EQ(r.runs()[0].hosts, "h1,h2");
    EXPECT_EQ(r.runs()[0].exit_status, 0);
  }
  // Still resumable (a Reader of the same file must be closed first: HDF5 shares one open file
  // per process and refuses to reopen it read-write).
  Writer::open(path, make_layout()).close();
  fs::remove_all(dir);
}

// A live SWMR writer's status flags look like a killed one's (and HDF5 drops its own lock once
// SWMR starts): a second writer must be refused, not clear the flags. Readers still work.
TEST(Archive, SecondWriterRefusedWhileFirstIsAlive) {
  auto dir = temp_dir("live");
  auto path = (dir / "a.h5").string();
  auto ready = (dir / "ready").string();
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      Writer w = Writer::create(path, make_layout());
      std::vector<TaskDef> tasks = {make_task(0), make_task(1)};
      w.add_tasks(tasks);
      w.record(0, make_outcome(0));
      w.flush();
      std::ofstream(ready) << "1";
      for (;;) pause();
    } catch (...) {
      _exit(1);
    }
  }
  for (int i = 0; i < 6000 && !fs::exists(ready); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (!fs::exists(ready)) kill(child, SIGKILL);
  ASSERT_TRUE(fs::exists(ready)) << "the writer process did not start";
  EXPECT_THROW(Writer::open(path, make_layout()), archive_error);
  {
    Reader r = Reader::open(path);
    EXPECT_EQ(r.rows(), 2u);
    EXPECT_EQ(r.status()[0], TaskStatus::done);
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  Writer w = Writer::open(path, make_layout());  // dead now: flags cleared, resumes
  EXPECT_EQ(w.rows().size(), 2u);
  w.close();
  EXPECT_EQ(h5dump_exit(path), 0);
  fs::remove_all(dir);
}

// The flags of a killed writer are cleared in-process through the "clear_status_flags" file-access
// property (what h5clear uses); `h5clear -s` is only the fallback. Hide the tool to prove it.
TEST(Archive, ClearsStatusFlagsWithoutTheH5clearTool) {
  auto dir = temp_dir("clear");
  auto path = (dir / "a.h5").string();
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      Writer w = Writer::create(path, make_layout());
      std::vector<TaskDef> tasks = {make_task(0)};
      w.add_tasks(tasks);
      w.record(0, make_outcome(0));
      w.flush();
      kill(getpid(), SIGKILL);
    } catch (...) {
    }
    _exit(1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_NE(h5dump_exit(path), 0);
  const std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  setenv("PATH", dir.c_str(), 1);
  try {
    Writer w = Writer::open(path, make_layout());
    EXPECT_EQ(w.rows().size(), 1u);
    EXPECT_EQ(w.rows()[0].status, TaskStatus::done);
    w.close();
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
  setenv("PATH", old_path.c_str(), 1);
  EXPECT_EQ(h5dump_exit(path), 0);
  fs::remove_all(dir);
}

// kill -9 at random moments (during create, the first big flush, records, flushes, close): the
// next writer always opens the archive, and every row that says done carries its own results.
TEST(Archive, RandomKillsNeverCorrupt) {
  auto dir = temp_dir("random_kill");
  auto path = (dir / "a.h5").string();
  const std::size_t total = 30000;
  std::srand(12345);
  for (int round = 0; round < 12; ++round) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      try {
        Writer w = fs::exists(path) ? Writer::open(path, make_layout())
                                    : Writer::create(path, make_layout());
        if (w.rows().empty()) {
          std::vector<TaskDef> tasks;
          for (std::size_t i = 0; i < total; ++i) tasks.push_back(make_task(i));
          w.add_tasks(tasks);
        }
        auto run = w.begin_run({.start = double(round)});
        for (std::size_t i = 0; i < total; ++i) {
          if (w.rows()[i].status == TaskStatus::done) continue;
          w.record(i, make_outcome(i));
          if (i % 997 == 0) w.flush();
        }
        w.end_run(run, 1, 0);
        w.close();
        _exit(0);
      } catch (...) {
        _exit(1);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::rand() % 400));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
        << "round " << round << ": the writer failed";
    if (!fs::exists(path)) continue;  // killed before the archive was renamed into place
    {
      Reader r = Reader::open(path);
      auto ids = r.ids();
      auto st = r.status();
      auto value = r.metric("value");
      for (std::size_t i = 0; i < ids.size(); ++i) {
        ASSERT_EQ(ids[i], 1000 + i) << "round " << round;
        if (st[i] == TaskStatus::done) {
          ASSERT_EQ(value[i], double(i)) << "round " << round << " row " << i;
          ASSERT_EQ(r.series("curve", i).size(), i % 2 == 0 ? i % 7 : 0u);
        }
      }
    }
  }
  // Finish the sweep: the result is a complete archive every tool opens.
  if (fs::exists(path)) {
    Writer w = Writer::open(path, make_layout());
    for (std::size_t i = 0; i < w.rows().size(); ++i)
      if (w.rows()[i].status != TaskStatus::done) w.record(i, make_outcome(i));
    w.close();
    EXPECT_EQ(h5dump_exit(path), 0);
    Reader r = Reader::open(path);
    if (r.rows() == total) check_rows(r, total);
  }
  fs::remove_all(dir);
}
