// Throughput and memory of the archive writer at the scale design.md asks for: the master must
// sustain ~200,000 record() calls a second with a flush about every second, and hold 1,000,000
// rows in well under 1 GiB. Bounds are loose (shared CI machines); the numbers are printed.
#include <mpisweep/archive/archive.hpp>

#include <gtest/gtest.h>

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace mpisweep;
using namespace mpisweep::archive;
namespace fs = std::filesystem;

namespace {

// Heap in use (not resident size: freed temporaries such as the TaskDef vector stay resident).
double heap_mib() {
  struct mallinfo2 mi = mallinfo2();
  return double(mi.uordblks + mi.hblkhd) / (1024.0 * 1024.0);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST(ArchivePerf, MillionRowsRecordAndFlush) {
  fs::path dir = fs::temp_directory_path() / ("mpisweep_archive_perf_" + std::to_string(getpid()));
  fs::remove_all(dir);
  const std::string path = (dir / "perf.h5").string();
  // The noop experiment's shape plus a few more columns, as a mid-sized real experiment has.
  Layout layout;
  layout.sweep_name = "bench";
  layout.experiment = "noop";
  layout.params = {
      {.name = "work_us", .type = ParamType::integer, .default_value = std::int64_t{0}},
      {.name = "payload", .type = ParamType::integer, .default_value = std::int64_t{0}},
      {.name = "fail_rate", .type = ParamType::real, .default_value = 0.0},
      {.name = "flag", .type = ParamType::boolean, .default_value = false},
      {.name = "mode",
       .type = ParamType::choice,
       .default_value = std::string("a"),
       .choices = {"a", "bb", "ccc"}},
  };
  for (int k = 0; k < 8; ++k) layout.metrics.push_back({"m" + std::to_string(k), "", ""});
  layout.series = {{"payload", "", "", "index"}};

#if defined(__SANITIZE_ADDRESS__)
  const std::size_t n = 200'000;  // ASan is ~10x slower; the shape of the test is what matters
#else
  const std::size_t n = 1'000'000;
#endif
  const std::size_t per_flush = 200'000;  // one flush per "second" at 200k rows/s
  double rss0 = heap_mib();
  auto t0 = std::chrono::steady_clock::now();
  Writer w = Writer::create(path, layout);
  {
    std::vector<TaskDef> tasks(n);
    for (std::size_t i = 0; i < n; ++i)
      tasks[i] = {.id = i + 1,
                  .seed = i,
                  .params = {Value{std::int64_t(i % 100)}, Value{std::int64_t{4}}, Value{0.0},
                             Value{i % 2 == 0}, Value{std::string(i % 3 == 0 ? "a" : "bb")}}};
    w.add_tasks(tasks);
  }
  w.flush();
  double t_add = seconds_since(t0);

  TaskOutcome o;
  o.host = "node01";
  o.metrics.assign(8, 0.0);
  o.series = {std::vector<double>(4, 0.5)};
  double record_s = 0, flush_s = 0, flush_max = 0;
  auto t1 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    // Mostly in order, with stragglers finishing far behind the frontier.
    std::size_t row = (i % 1000 == 999 && i > n / 2) ? i - 2 * n / 5 : i;
    o.started = 1.7e9 + double(i) * 1e-5;
    o.wall_seconds = 1e-3;
    o.worker = int(i % 63) + 1;
    o.metrics[0] = double(i);
    if (i % 10'000 == 0)
      o.error = "failed: something";
    else
      o.error.clear();
    o.status = o.error.empty() ? TaskStatus::done : TaskStatus::failed;
    w.record(row, o);
    if ((i + 1) % per_flush == 0) {
      record_s += seconds_since(t1);
      auto tf = std::chrono::steady_clock::now();
      w.flush();
      double f = seconds_since(tf);
      flush_s += f;
      flush_max = std::max(flush_max, f);
      t1 = std::chrono::steady_clock::now();
    }
  }
  double rss1 = heap_mib();
  auto tc = std::chrono::steady_clock::now();
  w.close();
  double close_s = seconds_since(tc);
  double total = record_s + flush_s;
  double rate = double(n) / total;
  double file_mib = double(fs::file_size(path)) / (1024.0 * 1024.0);
  std::printf("[archive perf] add_tasks+first flush of %zu rows: %.2f s\n", n, t_add);
  std::printf(
      "[archive perf] record: %.3f s (%.0f rows/s alone); flush: %.3f s total, %.3f s max "
      "per 200k rows\n",
      record_s, double(n) / record_s, flush_s, flush_max);
  std::printf("[archive perf] record+flush: %.0f rows/s; close %.3f s\n", rate, close_s);
  std::printf(
      "[archive perf] memory: %.1f MiB heap growth = %.0f bytes/row; file %.1f MiB "
      "(%.0f bytes/row)\n",
      rss1 - rss0, (rss1 - rss0) * 1048576.0 / double(n), file_mib,
      file_mib * 1048576.0 / double(n));
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_GT(rate, 50'000.0);
#endif
  EXPECT_LT(rss1 - rss0, 512.0);

  Reader r = Reader::open(path);
  ASSERT_EQ(r.rows(), n);
  auto m0 = r.metric("m0");
  EXPECT_EQ(m0[123'456], 123'456.0);
  EXPECT_EQ(r.series("payload", 777).size(), 4u);
  fs::remove_all(dir);
}
