#include <mpisweep/archive/archive.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <unistd.h>

using namespace mpisweep;
using namespace mpisweep::archive;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("mpisweep_archive_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

Layout make_layout() {
  Layout l;
  l.sweep_name = "demo";
  l.experiment = "noop";
  l.spec_toml = "[sweep]\nname = \"demo\"\n";
  l.command_line = "mpisweep run demo.toml";
  l.spec_hash = 0x1234abcd5678ef00ULL;
  l.params = {
      {.name = "flag", .type = ParamType::boolean, .default_value = false, .help = "a flag"},
      {.name = "n", .type = ParamType::integer, .default_value = std::int64_t{3}, .help = "count",
       .unit = "1"},
      {.name = "lr", .type = ParamType::real, .default_value = 0.1, .help = "rate"},
      {.name = "mode", .type = ParamType::choice, .default_value = std::string("shear"),
       .help = "flow", .choices = {"shear", "extension"}},
  };
  l.metrics = {{"value", "a value", ""}, {"loss", "the loss", "nats"}};
  l.series = {{"curve", "a curve", "m", "iteration"}};
  return l;
}

TaskDef make_task(std::size_t i) {
  return {.id = 1000 + i,
          .seed = 7 * i + 1,
          .params = {Value{i % 2 == 0}, Value{std::int64_t(i)}, Value{0.5 * double(i)},
                     Value{std::string(i % 3 == 0 ? "extension" : "shear")}}};
}

}  // namespace

TEST(Archive, RoundTrip) {
  auto dir = temp_dir("roundtrip");
  auto path = (dir / "a.h5").string();
  {
    Writer w = Writer::create(path, make_layout());
    std::vector<TaskDef> tasks;
    for (std::size_t i = 0; i < 5; ++i) tasks.push_back(make_task(i));
    EXPECT_EQ(w.add_tasks(tasks), 0u);
    auto run = w.begin_run({.start = 10, .ranks = 4, .threads_per_worker = 2, .hosts = "a,b"});
    w.record(1, {.status = TaskStatus::done, .attempts = 1, .worker = 2, .host = "node1",
                 .started = 5.0, .wall_seconds = 1.5, .metrics = {0.25, NAN},
                 .series = {{1.0, 2.0, 3.0}}});
    w.record(3, {.status = TaskStatus::failed, .attempts = 2, .worker = 1, .host = "node2",
                 .error = "boom", .metrics = {}, .series = {}});
    w.flush();
    w.record(4, {.status = TaskStatus::done, .worker = 1, .host = "node1", .metrics = {1, 2},
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
  fs::copy_file(path, "/tmp/arch_rt.h5", fs::copy_options::overwrite_existing);
  fs::remove_all(dir);
}
