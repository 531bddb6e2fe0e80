#pragma once
// What the archive tests share: a layout with one column of each kind, deterministic tasks and
// outcomes, and checks of what a reader sees.
#include <mpisweep/archive/archive.hpp>

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace mpisweep::archive::test_support {

namespace fs = std::filesystem;

inline fs::path temp_dir(const std::string& name) {
  fs::path d =
      fs::temp_directory_path() / ("mpisweep_archive_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline Layout make_layout() {
  Layout l;
  l.sweep_name = "demo";
  l.experiment = "noop";
  l.spec_toml = "[sweep]\nname = \"demo\"\n";
  l.command_line = "mpisweep run demo.toml";
  l.spec_hash = 0x1234abcd5678ef00ULL;
  l.params = {
      {.name = "flag", .type = ParamType::boolean, .default_value = false, .help = "a flag"},
      {.name = "n",
       .type = ParamType::integer,
       .default_value = std::int64_t{3},
       .help = "count",
       .unit = "1"},
      {.name = "lr", .type = ParamType::real, .default_value = 0.1, .help = "rate"},
      {.name = "mode",
       .type = ParamType::choice,
       .default_value = std::string("shear"),
       .help = "flow",
       .choices = {"shear", "extension"}},
  };
  l.metrics = {{"value", "a value", ""}, {"loss", "the loss", "nats"}};
  l.series = {{"curve", "a curve", "m", "iteration"}};
  return l;
}

inline TaskDef make_task(std::size_t i) {
  return {.id = 1000 + i,
          .seed = 7 * i + 1,
          .params = {Value{i % 2 == 0}, Value{std::int64_t(i)}, Value{0.5 * double(i)},
                     Value{std::string(i % 3 == 0 ? "extension" : "shear")}}};
}

inline TaskOutcome make_outcome(std::size_t i) {
  TaskOutcome o;
  o.status = TaskStatus::done;
  o.worker = static_cast<std::int32_t>(1 + i % 3);
  o.host = "node" + std::to_string(i % 4);
  o.started = 1e9 + double(i);
  o.wall_seconds = 0.001 * double(i);
  o.metrics = {double(i), i % 5 == 0 ? NAN : -double(i)};
  if (i % 2 == 0) o.series = {std::vector<double>(i % 7, double(i))};
  return o;
}

// Exit status of `h5dump -H` (header only; any HDF5 tool refuses a file with status flags set).
inline int h5dump_exit(const std::string& path) {
  std::string cmd = "h5dump -H '" + path + "' > /dev/null 2>&1";
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

inline void check_rows(const Reader& r, std::size_t n) {
  auto ids = r.ids();
  auto status = r.status();
  auto value = r.metric("value");
  auto loss = r.metric("loss");
  ASSERT_GE(ids.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(ids[i], 1000 + i) << i;
    ASSERT_EQ(status[i], TaskStatus::done) << i;
    ASSERT_EQ(value[i], double(i)) << i;
    if (i % 5 == 0)
      ASSERT_TRUE(std::isnan(loss[i]));
    else
      ASSERT_EQ(loss[i], -double(i));
    auto s = r.series("curve", i);
    ASSERT_EQ(s.size(), i % 2 == 0 ? i % 7 : 0u) << i;
    for (double x : s) ASSERT_EQ(x, double(i));
  }
}

}  // namespace mpisweep::archive::test_support
