// The /tasks columns carry the filters the column table chose for them (issue 15 part 2), in a
// fresh archive and in one that close() compacted, and their values read back through them.
#include "archive_support.hpp"

#include "archive/columns.hpp"

#include <hdf5.h>

#include <map>

namespace mpisweep::archive {
namespace {

using namespace test_support;

// The filter ids of dataset `path` in `file`, in pipeline order, read from the file itself.
std::vector<H5Z_filter_t> pipeline(hid_t file, const std::string& path) {
  hid_t d = H5Dopen2(file, path.c_str(), H5P_DEFAULT);
  EXPECT_GE(d, 0) << path;
  hid_t dcpl = H5Dget_create_plist(d);
  std::vector<H5Z_filter_t> out;
  const int n = H5Pget_nfilters(dcpl);
  for (int i = 0; i < n; ++i) {
    unsigned flags = 0, cd[4] = {};
    std::size_t ncd = 4;
    out.push_back(
        H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &ncd, cd, 0, nullptr, nullptr));
    if (out.back() == H5Z_FILTER_DEFLATE) {
      EXPECT_EQ(cd[0], 1u) << path << ": deflate level";
    }
  }
  H5Pclose(dcpl);
  H5Dclose(d);
  return out;
}

void expect_table_filters(const std::string& path, const Layout& l) {
  const RowStore store(l, fmt::task_chunk);
  const auto columns = task_columns(store);
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  std::map<std::string, std::vector<H5Z_filter_t>> got;
  for (const auto& c : columns) {
    got[c.path] = pipeline(f, c.path);
    EXPECT_EQ(got[c.path], h5::filter_ids(c.filter)) << c.path;
  }
  H5Fclose(f);
  // The measured choice, spelled out rather than read back from the table.
  const std::vector<H5Z_filter_t> none, deflate{H5Z_FILTER_DEFLATE},
      shuffled{H5Z_FILTER_SHUFFLE, H5Z_FILTER_DEFLATE};
  EXPECT_EQ(got["tasks/id"], none);
  EXPECT_EQ(got["tasks/wall_seconds"], none);
  EXPECT_EQ(got["tasks/metrics/value"], none);
  EXPECT_EQ(got["tasks/metrics/loss"], none);
  EXPECT_EQ(got["tasks/seed"], shuffled);
  EXPECT_EQ(got["tasks/started"], shuffled);
  EXPECT_EQ(got["tasks/worker"], shuffled);
  EXPECT_EQ(got["tasks/params/n"], shuffled);
  EXPECT_EQ(got["tasks/host"], deflate);
  EXPECT_EQ(got["tasks/error"], deflate);
  EXPECT_EQ(got["tasks/status"], deflate);
  EXPECT_EQ(got["tasks/params/mode"], deflate);
}

// Every row of the filtered and unfiltered columns reads back as written.
void expect_rows(const std::string& path, std::size_t n) {
  Reader r = Reader::open(path);
  ASSERT_EQ(r.rows(), n);
  const auto ids = r.ids(), seeds = r.seeds();
  const auto wall = r.wall_seconds(), started = r.started();
  const auto hosts = r.hosts();
  const auto value = r.metric("value");
  for (std::size_t i = 0; i < n; ++i) {
    const TaskOutcome o = make_outcome(i);
    ASSERT_EQ(ids[i], 1000 + i);
    ASSERT_EQ(seeds[i], 7 * i + 1);
    ASSERT_EQ(wall[i], o.wall_seconds);
    ASSERT_EQ(started[i], o.started);
    ASSERT_EQ(hosts[i], o.host);
    ASSERT_EQ(value[i], o.metrics[0]);
  }
}

TEST(ColumnFilters, FreshArchiveHasTheTablesChoice) {
  auto dir = temp_dir("filters_fresh");
  const auto path = (dir / "a.h5").string();
  const Layout l = make_layout();
  const std::size_t n = 3000;
  Writer w = Writer::create(path, l);
  std::vector<TaskDef> tasks;
  for (std::size_t i = 0; i < n; ++i) tasks.push_back(make_task(i));
  w.add_tasks(tasks);
  for (std::size_t i = 0; i < n; ++i) w.record(i, make_outcome(i));
  w.close();
  expect_table_filters(path, l);
  expect_rows(path, n);
  fs::remove_all(dir);
}

TEST(ColumnFilters, CompactedArchiveKeepsTheTablesChoice) {
  auto dir = temp_dir("filters_compact");
  const auto path = (dir / "a.h5").string();
  const Layout l = make_layout();
  const std::size_t n = 2000;
  Writer w = Writer::create(path, l);
  std::vector<TaskDef> tasks;
  for (std::size_t i = 0; i < n; ++i) tasks.push_back(make_task(i));
  w.add_tasks(tasks);
  // A flush a row rewrites the same chunks again and again: the dead space makes close() compact.
  for (std::size_t i = 0; i < n; ++i) {
    w.record(i, make_outcome(i));
    w.flush();
  }
  const auto before = fs::file_size(path);
  w.close();
  ASSERT_LT(fs::file_size(path) * 2, before) << "not compacted: the test proves nothing";
  expect_table_filters(path, l);
  expect_rows(path, n);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mpisweep::archive
