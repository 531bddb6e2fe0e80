// The flat records of the hot messages (src/runtime/protocol.hpp, wire.hpp): sizes as the
// layout says, torn messages refused, and one reused result record carrying nothing over.
#include "runtime/protocol.hpp"

#include <gtest/gtest.h>

#include <cmath>

using namespace mpisweep;
using runtime::ResultMessage;
using runtime::TaskMessage;

namespace {
ResultMessage big_result() {
  ResultMessage r;
  r.index = 12;
  r.outcome.status = TaskStatus::failed;
  r.outcome.worker = 3;
  r.outcome.started = 1.7e9;
  r.outcome.wall_seconds = 0.25;
  r.outcome.error = "went wrong";
  r.outcome.metrics = {1, 2, 3};
  r.outcome.series = {{4, 5}, {}, {6}};
  r.outcome.placed = {{7 << 24, 11}, {}};  // series_files: where a worker stored its series
  return r;
}
}  // namespace

TEST(Wire, TaskRecordsAreAHeaderAndNineBytesANumber) {
  // noop's three params (two integers, one real): 3 x (type byte + 8 bytes) after the header.
  const std::vector<TaskMessage> tasks = {
      {1, 2, 3, {Value{std::int64_t{5}}, Value{std::int64_t{0}}, Value{0.5}}},
      {4, 5, 6, {Value{true}, Value{std::string("ab")}}}};
  const std::string bytes = runtime::pack(tasks);
  const std::size_t header = sizeof(runtime::TaskHeader);
  EXPECT_EQ(header, 32u);
  EXPECT_EQ(bytes.size(), header + 27 + header + (1 + 1) + (1 + 4 + 2));
  const auto back = runtime::unpack<std::vector<TaskMessage>>(bytes);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].index, 4u);
  EXPECT_EQ(back[1].params, tasks[1].params);
}

TEST(Wire, ResultRecordsHoldMetricsAsDoubles) {
  ResultMessage r;
  r.index = 7;
  r.outcome.metrics = {0.5, 2.0};
  const std::string bytes = runtime::pack(std::vector<ResultMessage>{r});
  // Header, no error characters, 2 doubles, a u32 count of series as values, one of encoded
  // series and one of series stored in block files (none of each).
  EXPECT_EQ(bytes.size(), sizeof(runtime::ResultHeader) + 16 + 4 + 4 + 4);
}

TEST(Wire, ATornMessageIsRefusedAtEveryLength) {
  const std::string tasks = runtime::pack(std::vector<TaskMessage>{
      {1, 2, 3, {Value{std::int64_t{5}}, Value{std::string("shear")}, Value{false}}}});
  for (std::size_t n = 1; n < tasks.size(); ++n)
    EXPECT_THROW(runtime::unpack<std::vector<TaskMessage>>(tasks.substr(0, n)), internal_error)
        << "tasks cut at " << n;
  const std::string results = runtime::pack(std::vector<ResultMessage>{big_result()});
  for (std::size_t n = 1; n < results.size(); ++n)
    EXPECT_THROW(runtime::unpack<std::vector<ResultMessage>>(results.substr(0, n)), internal_error)
        << "results cut at " << n;
  std::string bad = tasks;
  bad[sizeof(runtime::TaskHeader)] = 9;  // the first param's type byte
  EXPECT_THROW(runtime::unpack<std::vector<TaskMessage>>(bad), internal_error);
}

TEST(Wire, AReusedResultRecordCarriesNothingOver) {
  ResultMessage small;
  small.index = 13;
  small.outcome.metrics = {std::nan("")};
  const std::string bytes = runtime::pack(std::vector<ResultMessage>{big_result(), small});
  runtime::wire::Reader reader(bytes);
  ResultMessage m;  // the master decodes every result of a message into one record
  runtime::get_result(reader, m);
  EXPECT_EQ(m.outcome.error, "went wrong");
  EXPECT_EQ(m.outcome.series, big_result().outcome.series);
  ASSERT_EQ(m.outcome.placed.size(), 2u);
  EXPECT_EQ(m.outcome.placed[0].offset, 7 << 24);
  EXPECT_EQ(m.outcome.placed[0].length, 11);
  EXPECT_EQ(m.outcome.placed[1].offset, -1);
  m.outcome.host = "filled by the master";
  m.outcome.attempts = 3;
  runtime::get_result(reader, m);
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_EQ(m.index, 13u);
  EXPECT_EQ(m.outcome.status, TaskStatus::done);
  EXPECT_EQ(m.outcome.worker, 0);
  EXPECT_EQ(m.outcome.error, "");
  ASSERT_EQ(m.outcome.metrics.size(), 1u);
  EXPECT_TRUE(std::isnan(m.outcome.metrics[0]));
  EXPECT_TRUE(m.outcome.series.empty());
  EXPECT_TRUE(m.outcome.placed.empty());
  EXPECT_EQ(m.outcome.host, "");
  EXPECT_EQ(m.outcome.attempts, 1);
}
