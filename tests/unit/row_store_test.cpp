// The writer's row store alone, without HDF5: what add and record keep, and which chunks of rows
// a flush must rewrite.
#include "archive/row_store.hpp"

#include <gtest/gtest.h>

#include <cmath>

using namespace mpisweep;
using archive::Dirty;
using archive::RowStore;

namespace {
archive::Layout layout() {
  archive::Layout l;
  l.params = {{.name = "flag", .type = ParamType::boolean, .default_value = false},
              {.name = "n", .type = ParamType::integer, .default_value = std::int64_t{0}},
              {.name = "x", .type = ParamType::real, .default_value = 0.0},
              {.name = "mode",
               .type = ParamType::choice,
               .default_value = std::string("ab"),
               .choices = {"ab", "cdef"}}};
  l.metrics = {{.name = "m0"}, {.name = "m1"}};
  l.series = {{.name = "s"}};
  return l;
}

TaskRecord task(std::uint64_t id) {
  return {id,
          id * 10,
          {Value{id % 2 == 0}, Value{std::int64_t(id)}, Value{std::int64_t{3}},
           Value{std::string(id % 2 ? "ab" : "cdef")}}};
}
}  // namespace

TEST(RowStore, AddAppendsTypedColumnsAndMarksTheNewChunks) {
  RowStore s(layout(), 4);
  std::vector<TaskRecord> tasks;
  for (std::uint64_t id = 1; id <= 10; ++id) tasks.push_back(task(id));
  EXPECT_EQ(s.add(tasks), 0u);
  ASSERT_EQ(s.size(), 10u);
  EXPECT_EQ(s.rows[3].id, 4u);
  EXPECT_EQ(s.rows[3].status, TaskStatus::pending);
  EXPECT_EQ(s.seeds[3], 40u);
  EXPECT_EQ(std::get<std::vector<std::int8_t>>(s.params[0].data)[3], 1);
  EXPECT_EQ(std::get<std::vector<std::int64_t>>(s.params[1].data)[3], 4);
  EXPECT_EQ(std::get<std::vector<double>>(s.params[2].data)[3], 3.0)
      << "an integer in a real column is stored as a real";
  EXPECT_EQ(s.params[3].type(), ParamType::choice);
  EXPECT_EQ(s.params[3].table.strings[std::get<std::vector<std::uint32_t>>(s.params[3].data)[3]],
            "cdef");
  EXPECT_EQ(s.params[3].str_size, 5u) << "longest choice plus the terminator";
  EXPECT_TRUE(std::isnan(s.metrics[1][9]));
  EXPECT_EQ(s.workers[0], -1);
  // 10 rows in chunks of 4: all three chunks hold new rows; nothing was recorded yet.
  using Ranges = std::vector<std::pair<std::size_t, std::size_t>>;
  EXPECT_EQ(s.dirty_ranges(Dirty::added, 10), (Ranges{{0, 10}}));
  EXPECT_TRUE(s.dirty_ranges(Dirty::recorded, 10).empty());
  s.clear_dirty();
  EXPECT_FALSE(s.any_dirty());
  EXPECT_EQ(s.add(std::vector<TaskRecord>{task(11)}), 10u);
  EXPECT_EQ(s.dirty_ranges(Dirty::added, 11), (Ranges{{8, 3}})) << "only the last chunk";
}

TEST(RowStore, BadTasksLeaveTheColumnsAligned) {
  RowStore s(layout(), 4);
  std::vector<TaskRecord> tasks = {task(1), task(2)};
  tasks[1].params[1] = Value{2.5};  // a real in an integer column
  EXPECT_THROW(s.add(tasks), internal_error);
  tasks[1] = task(2);
  tasks[1].params[3] = Value{std::string("much too long")};
  EXPECT_THROW(s.add(tasks), internal_error);
  tasks[1] = task(0);
  EXPECT_THROW(s.add(tasks), internal_error) << "id 0 marks a torn row";
  EXPECT_EQ(s.size(), 0u);
  EXPECT_TRUE(std::get<std::vector<std::int64_t>>(s.params[1].data).empty());
}

TEST(RowStore, RecordKeepsOutcomesErrorsAndSeriesOffsets) {
  RowStore s(layout(), 4);
  std::vector<TaskRecord> tasks;
  for (std::uint64_t id = 1; id <= 9; ++id) tasks.push_back(task(id));
  s.add(tasks);
  s.clear_dirty();
  Outcome o;
  o.status = TaskStatus::done;
  o.attempts = 2;
  o.worker = 3;
  o.host = std::string(100, 'h');
  o.wall_seconds = 1.5;
  o.metrics = {0.25};  // m1 absent: NaN
  o.series = {{1, 2, 3}};
  s.record(5, o);
  o.series = {{4, 5}};
  s.record(1, o);
  EXPECT_EQ(s.rows[5].status, TaskStatus::done);
  EXPECT_EQ(s.rows[5].attempts, 2);
  EXPECT_EQ(s.workers[5], 3);
  EXPECT_EQ(s.hosts.strings[s.host_index[5]].size(), archive::fmt::host_size - 1)
      << "hosts are cut to fit their column";
  EXPECT_EQ(s.metrics[0][5], 0.25);
  EXPECT_TRUE(std::isnan(s.metrics[1][5]));
  EXPECT_EQ(s.series[0].offset[5], 0);
  EXPECT_EQ(s.series[0].length[5], 3);
  EXPECT_EQ(s.series[0].offset[1], 3) << "short arrays are packed after the pending ones";
  EXPECT_EQ(s.series[0].raw, (std::vector<double>{1, 2, 3, 4, 5}));
  // An array of a chunk or more (a 1-D series of unknown length: 64 KiB) starts on the next
  // chunk boundary, encoded; the next short one after its last chunk.
  const std::int64_t c = s.series[0].chunk;
  EXPECT_EQ(c, 8192);
  o.series = {std::vector<double>(std::size_t(c) + 1, 0.5)};
  s.record(2, o);
  EXPECT_EQ(s.series[0].offset[2], c);
  ASSERT_EQ(s.series[0].pending.size(), 3u);
  ASSERT_TRUE(s.series[0].pending[2].chunks);
  EXPECT_EQ(s.series[0].pending[2].chunks->length, c + 1);
  o.series = {{6}};
  s.record(3, o);
  EXPECT_EQ(s.series[0].offset[3], 3 * c);
  using Ranges = std::vector<std::pair<std::size_t, std::size_t>>;
  EXPECT_EQ(s.dirty_ranges(Dirty::recorded, 9), (Ranges{{0, 8}})) << "chunks 0 and 1";
  EXPECT_TRUE(s.dirty_ranges(Dirty::errored, 9).empty()) << "no error set or cleared";
  // A failure sets the error; a later success on the same row clears it (and dirties it).
  Outcome bad;
  bad.status = TaskStatus::failed;
  bad.error = std::string(1000, 'e');
  s.record(8, bad);
  EXPECT_EQ(s.errors.at(8).size(), archive::fmt::error_size);
  EXPECT_EQ(s.series[0].length[8], 0);
  s.clear_dirty();
  s.record(8, o);
  EXPECT_TRUE(s.errors.empty());
  EXPECT_EQ(s.dirty_ranges(Dirty::errored, 9), (Ranges{{8, 1}}));
  EXPECT_THROW(s.record(9, o), internal_error);
}

TEST(RowStore, ProgressDirtiesOnlyItsChunkAndEndsWithTheAttempt) {
  using Ranges = std::vector<std::pair<std::size_t, std::size_t>>;
  RowStore s(layout(), 4);
  std::vector<TaskRecord> tasks;
  for (std::uint64_t id = 1; id <= 9; ++id) tasks.push_back(task(id));
  s.add(tasks);
  // The reader's view of a row (ParamRows::value): the task's values with their types.
  EXPECT_EQ(s.params[0].value(3), Value{true});
  EXPECT_EQ(s.params[2].value(3), Value{3.0});
  EXPECT_EQ(s.params[3].value(3), Value{std::string("cdef")});
  EXPECT_TRUE(std::isnan(s.progress[5])) << "a new row is not running";
  s.clear_dirty();
  s.set_progress(5, 0.25f);
  EXPECT_EQ(s.progress[5], 0.25f);
  EXPECT_EQ(s.dirty_ranges(Dirty::progressed, 9), (Ranges{{4, 4}})) << "chunk 1 only";
  EXPECT_TRUE(s.dirty_ranges(Dirty::recorded, 9).empty()) << "no outcome column rewritten";
  s.clear_dirty();
  Outcome o;
  o.status = TaskStatus::done;
  o.attempts = 1;
  s.record(5, o);
  EXPECT_TRUE(std::isnan(s.progress[5])) << "an ended attempt is not running";
  EXPECT_EQ(s.dirty_ranges(Dirty::progressed, 9), (Ranges{{4, 4}})) << "the clear is written";
  s.clear_dirty();
  s.record(6, o);
  EXPECT_TRUE(s.dirty_ranges(Dirty::progressed, 9).empty()) << "nothing to clear on row 6";
  s.set_progress(0, 0.5f);
  s.set_progress(8, 0.75f);
  s.clear_dirty();
  s.clear_progress();
  EXPECT_TRUE(std::isnan(s.progress[0]) && std::isnan(s.progress[8]));
  EXPECT_EQ(s.dirty_ranges(Dirty::progressed, 9), (Ranges{{0, 4}, {8, 1}}));
  s.resize(12);
  EXPECT_TRUE(std::isnan(s.progress[11])) << "rows loaded later start not running";
}
