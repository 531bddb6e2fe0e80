// Series as the runtime stores them (issue 18): arrays of a chunk or more encoded on the worker
// (chunk_codec), copied into /series/<name>/values with H5Dwrite_chunk at chunk-aligned offsets,
// shorter ones packed back to back, in each series' declared storage. Checked through the real
// Writer and Reader and HDF5's own view of the datasets: every value reads back (float32 rounded
// as HDF5 converts), padding reads 0, resume continues after the last array, compaction copies
// chunks unchanged, and an archive stored otherwise is refused untouched.
#include "archive_support.hpp"

#include <mpisweep/core/chunk_codec.hpp>
#include <mpisweep/runtime/worker.hpp>

#include "runtime/protocol.hpp"

#include <hdf5.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <utility>

namespace mpisweep::archive {
namespace {

using namespace test_support;
namespace cc = chunk_codec;
using C = SeriesStorage::Compression;

Layout storage_layout() {
  Layout l = make_layout();
  l.series = {
      {.name = "plain"},  // default: shuffle + deflate 1, float64
      {.name = "raw", .storage = {.compression = C::none}},
      {.name = "f32", .storage = {.compression = C::shuffle_deflate, .level = 3, .float32 = true}},
      {.name = "field",
       .shape = {3, 5000},
       .axes = {"row", "col"},
       .storage = {.compression = C::deflate, .level = 6}},
  };
  return l;
}

// Task i's array of series k: lengths around the chunk sizes (0, 1, c - 1, c, c + 1, 2c + 3) and
// kinds that deflate does and does not shrink.
std::vector<double> values_of(std::size_t i, std::size_t k) {
  if (k == 3) {  // the field: its shape, a repetitive pattern
    std::vector<double> v(15000);
    for (std::size_t j = 0; j < v.size(); ++j) v[j] = double((j / 100 + i) % 5);
    return v;
  }
  const std::size_t c = k == 2 ? 16384 : 8192;
  const std::size_t lengths[] = {0, 1, c - 1, c, c + 1, 2 * c + 3};
  std::vector<double> v(lengths[(i + k) % 6]);
  std::uint64_t s = 0x9E3779B97F4A7C15ull * (i * 4 + k + 1);
  for (std::size_t j = 0; j < v.size(); ++j) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;  // xorshift64 (Marsaglia 2003)
    v[j] = i % 2 ? double(s >> 11) * 0x1p-53 : std::sin(1e-3 * double(j)) * 1e40;
  }
  return v;
}

// What a reader must see: float32 series rounded as HDF5's conversion does (beyond FLT_MAX: inf).
double stored(double x, bool float32) {
  if (!float32) return x;
  constexpr double max = std::numeric_limits<float>::max();
  if (x > max) return INFINITY;
  if (x < -max) return -INFINITY;
  return double(static_cast<float>(x));
}

// Task i's outcome: even tasks as a worker sends them (long arrays encoded), odd ones all values
// (the archive encodes the long ones itself).
TaskOutcome outcome_of(const Layout& l, std::size_t i) {
  TaskOutcome o = make_outcome(i);
  o.series.clear();
  for (std::size_t k = 0; k < l.series.size(); ++k) {
    auto v = values_of(i, k);
    const bool encode = i % 2 == 0 && std::int64_t(v.size()) >= cc::chunk_elements(l.series[k]);
    o.encoded.push_back(
        encode ? std::make_shared<const cc::Encoded>(cc::encode_series(v, l.series[k])) : nullptr);
    o.series.push_back(encode ? std::vector<double>{} : std::move(v));
  }
  return o;
}

void expect_series(const std::string& path, const Layout& l, std::size_t n) {
  Reader r = Reader::open(path);
  ASSERT_EQ(r.rows(), n);
  for (std::size_t k = 0; k < l.series.size(); ++k) {
    const auto& spec = l.series[k];
    for (std::size_t i = 0; i < n; ++i) {
      const auto want = values_of(i, k);
      const auto got = r.series(spec.name, i);
      ASSERT_EQ(got.size(), want.size()) << spec.name << " row " << i;
      for (std::size_t j = 0; j < want.size(); ++j) {
        const double e = stored(want[j], spec.storage.float32);
        ASSERT_EQ(std::memcmp(&got[j], &e, 8), 0) << spec.name << " row " << i << " [" << j << "]";
      }
    }
  }
  // HDF5's view: type, chunk and filters as declared; offsets on chunk boundaries; padding 0.
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  for (const auto& spec : l.series) {
    hid_t d = H5Dopen2(f, ("series/" + spec.name + "/values").c_str(), H5P_DEFAULT);
    hid_t t = H5Dget_type(d), dcpl = H5Dget_create_plist(d);
    EXPECT_EQ(H5Tget_size(t), spec.storage.float32 ? 4u : 8u) << spec.name;
    hsize_t chunk = 0;
    ASSERT_EQ(H5Pget_chunk(dcpl, 1, &chunk), 1);
    EXPECT_EQ(chunk, hsize_t(cc::chunk_elements(spec))) << spec.name;
    EXPECT_EQ(H5Pget_nfilters(dcpl), int(cc::filters(spec.storage).size())) << spec.name;
    hid_t space = H5Dget_space(d);
    hsize_t extent = 0;
    H5Sget_simple_extent_dims(space, &extent, nullptr);
    std::vector<double> all(extent);
    H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, all.data());
    hid_t off = H5Dopen2(f, ("series/" + spec.name + "/offset").c_str(), H5P_DEFAULT);
    hid_t len = H5Dopen2(f, ("series/" + spec.name + "/length").c_str(), H5P_DEFAULT);
    std::vector<std::int64_t> offset(n), length(n);
    H5Dread(off, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, offset.data());
    H5Dread(len, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, length.data());
    std::vector<bool> used(extent, false);
    for (std::size_t i = 0; i < n; ++i) {
      if (length[i] == 0) continue;
      if (length[i] >= std::int64_t(chunk)) {  // long arrays start on a chunk, short ones packed
        EXPECT_EQ(offset[i] % std::int64_t(chunk), 0) << spec.name << " row " << i;
      }
      for (std::int64_t j = 0; j < length[i]; ++j) used[std::size_t(offset[i] + j)] = true;
    }
    for (std::size_t j = 0; j < extent; ++j) {
      if (!used[j]) {
        ASSERT_EQ(all[j], 0.0) << spec.name << " padding at " << j;
      }
    }
    for (hid_t h : {off, len, d}) H5Dclose(h);
    H5Sclose(space), H5Tclose(t), H5Pclose(dcpl);
  }
  H5Fclose(f);
}

TEST(SeriesStorage, EncodedChunksReadBackInEveryStorageAndResumeAligned) {
  auto dir = temp_dir("series_storage");
  auto path = (dir / "a.h5").string();
  const Layout l = storage_layout();
  const std::size_t n = 24;
  {
    Writer w = Writer::create(path, l);
    std::vector<TaskDef> tasks;
    for (std::size_t i = 0; i < n; ++i) tasks.push_back(make_task(i));
    w.add_tasks(tasks);
    for (std::size_t i = 0; i < n / 2; ++i) {
      w.record(i, outcome_of(l, i));
      if (i % 4 == 3) w.flush();
    }
    w.close();
  }
  {
    // Resume: the next arrays start on the chunk boundary after the last one on disk.
    Writer w = Writer::open(path, l);
    for (std::size_t i = n / 2; i < n; ++i) w.record(i, outcome_of(l, i));
    w.close();
  }
  expect_series(path, l, n);
  EXPECT_EQ(h5dump_exit(path), 0);
  fs::remove_all(dir);
}

// Many small flushes leave dead space, so close() compacts: chunks are copied as stored (a raw
// random chunk stays raw, a deflated one deflated) and every value reads the same.
TEST(SeriesStorage, CompactionCopiesChunksUnchanged) {
  auto dir = temp_dir("series_compact");
  auto path = (dir / "a.h5").string();
  const Layout l = storage_layout();
  const std::size_t n = 600;
  Writer w = Writer::create(path, l);
  std::vector<TaskDef> tasks;
  for (std::size_t i = 0; i < n; ++i) tasks.push_back(make_task(i));
  w.add_tasks(tasks);
  for (std::size_t i = 0; i < n; ++i) {
    TaskOutcome o = make_outcome(i);
    o.series.clear();
    // Incompressible in a deflated column (metrics are stored unfiltered), so rewrites leak space.
    o.started = 1e9 + std::sin(double(i)) * 1e6;
    o.host = std::to_string(std::uint64_t(i) * 0x9e3779b97f4a7c15ULL);
    if (i % 100 == 0) o = outcome_of(l, i);
    w.record(i, o);
    w.flush();
  }
  const auto before = fs::file_size(path);
  w.close();
  EXPECT_LT(fs::file_size(path) * 2, before) << "compacted";
  Reader r = Reader::open(path);
  for (std::size_t k = 0; k < l.series.size(); ++k)
    for (std::size_t i = 0; i < n; i += 100) {
      const auto want = values_of(i, k);
      const auto got = r.series(l.series[k].name, i);
      ASSERT_EQ(got.size(), want.size());
      for (std::size_t j = 0; j < want.size(); ++j)
        ASSERT_EQ(got[j], stored(want[j], l.series[k].storage.float32)) << k << " " << i;
    }
  fs::remove_all(dir);
}

TEST(SeriesStorage, ArchiveStoredOtherwiseIsRefused) {
  auto dir = temp_dir("series_refused");
  auto path = (dir / "a.h5").string();
  Layout l = storage_layout();
  Writer::create(path, l).close();
  const auto before = fs::file_size(path);
  const auto stamp = fs::last_write_time(path);
  l.series[1].storage.float32 = true;
  try {
    Writer::open(path, l);
    FAIL() << "opened an archive whose values are float64 as float32";
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("/series/raw/values is stored otherwise"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(fs::file_size(path), before) << "refused before anything is written";
  EXPECT_EQ(fs::last_write_time(path), stamp);
  fs::remove_all(dir);
}

// The worker's side: a series of a chunk or more leaves encoded with its declared storage, a
// shorter one as values; both cross the wire (put_series/get_series in the result message)
// unchanged, and a message cut short is refused.
TEST(SeriesStorage, WorkerEncodesLongArraysAndTheWireCarriesThem) {
  Experiment e;
  e.series = {{.name = "long", .storage = {.compression = C::none, .float32 = true}},
              {.name = "short"},
              {.name = "absent"}};
  Result r;
  r.series["long"] = values_of(1, 2);  // 16,384 values: one float32 chunk
  r.series["short"] = {1, 2, 3};
  runtime::ResultMessage m;
  ASSERT_EQ(runtime::to_columns(e, std::move(r), m.outcome), "");
  const auto& o = m.outcome;
  ASSERT_EQ(o.encoded.size(), 3u);
  ASSERT_TRUE(o.encoded[0]);
  EXPECT_EQ(*o.encoded[0], cc::encode_series(values_of(1, 2), e.series[0]));
  EXPECT_EQ(o.encoded[0]->chunk_elements, 16384);
  EXPECT_FALSE(o.encoded[1] || o.encoded[2]);
  EXPECT_TRUE(o.series[0].empty());
  EXPECT_EQ(o.series[1], (std::vector<double>{1, 2, 3}));
  const std::string bytes = runtime::pack(std::vector<runtime::ResultMessage>{m});
  const auto all = runtime::unpack<std::vector<runtime::ResultMessage>>(bytes);
  ASSERT_EQ(all.size(), 1u);
  const auto& back = all[0];
  ASSERT_EQ(back.outcome.encoded.size(), 3u);
  ASSERT_TRUE(back.outcome.encoded[0]);
  EXPECT_EQ(*back.outcome.encoded[0], *o.encoded[0]);
  EXPECT_FALSE(back.outcome.encoded[1] || back.outcome.encoded[2]);
  EXPECT_EQ(back.outcome.series, o.series);
  // Cut anywhere, the message is refused (the series come last in a result record).
  for (std::size_t cut : {bytes.size() - 1, bytes.size() / 2, bytes.size() - 9}) {
    EXPECT_THROW(runtime::unpack<std::vector<runtime::ResultMessage>>(bytes.substr(0, cut)),
                 internal_error)
        << cut;
  }
}

// The worker's way: long series left as values by to_columns, encoded straight into the record
// by pack_record (into a reused buffer holding stale bytes), give the very bytes of the other way
// (encoded apart, then copied in by put_result), and pack sends a packed record as it is.
TEST(SeriesStorage, PackRecordEncodesIntoTheMessageAsPutResultDoes) {
  Experiment e;
  e.series = {{.name = "long", .storage = {.compression = C::shuffle_deflate, .level = 1}},
              {.name = "short"},
              {.name = "raw", .storage = {.compression = C::none, .float32 = true}},
              {.name = "absent"}};
  auto results = [&] {
    Result r;
    r.series["long"] = values_of(1, 3);  // 15,000 values: 2 chunks of 64 KiB, smooth at first
    for (std::size_t i = 0; i < 10000; ++i) r.series["long"][i] = std::sin(1e-3 * double(i));
    r.series["short"] = {1, 2, 3};
    r.series["raw"] = values_of(2, 3);
    r.metrics = {};
    return r;
  };
  runtime::ResultMessage apart{7, {}}, direct{7, {}};
  ASSERT_EQ(runtime::to_columns(e, results(), apart.outcome), "");
  ASSERT_EQ(runtime::to_columns(e, results(), direct.outcome, false), "");
  EXPECT_FALSE(direct.outcome.encoded[0]);
  EXPECT_EQ(direct.outcome.series[0].size(), values_of(1, 3).size());
  // Where a per-rank worker put a series (series_files): it travels in both forms.
  apart.outcome.placed = direct.outcome.placed = {{1234, 56}, {}, {}, {}};
  std::string stale(400000, 'x');  // a buffer from an earlier message: reused, not appended to
  const char* storage = stale.data();
  runtime::pack_record(direct, e.series, std::move(stale));
  EXPECT_EQ(direct.wire.data(), storage) << "the buffer given is the one written";
  std::vector<runtime::ResultMessage> one{apart};
  const std::string expected = runtime::pack(std::as_const(one));
  EXPECT_EQ(direct.wire, expected);
  EXPECT_TRUE(direct.outcome.series[0].empty()) << "encoded values are released";
  std::vector<runtime::ResultMessage> batch{direct};
  EXPECT_EQ(runtime::pack(batch), expected);
  std::vector<runtime::ResultMessage> two{direct, apart};
  EXPECT_EQ(runtime::pack(two), expected + expected);
  const auto back = runtime::unpack<std::vector<runtime::ResultMessage>>(expected);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(*back[0].outcome.encoded[0], *apart.outcome.encoded[0]);
  EXPECT_EQ(back[0].outcome.encoded[0]->masks, (std::vector<std::uint32_t>{0, 0}));
  ASSERT_EQ(back[0].outcome.placed.size(), 4u);
  EXPECT_EQ(back[0].outcome.placed[0].offset, 1234);
  EXPECT_EQ(back[0].outcome.placed[0].length, 56);
  EXPECT_EQ(back[0].outcome.placed[1].offset, -1);
}

// Received messages come back to the pool once their last holder lets go, and the next receive
// of the same size reuses that buffer (no zero-fill, no new pages).
TEST(SeriesStorage, BufferPoolReusesReceivedMessages) {
  auto pool = std::make_shared<runtime::BufferPool>();
  std::string first = pool->for_receive(1 << 20);
  const char* storage = first.data();
  {
    auto held = runtime::shared_message(std::move(first), pool);
    auto copy = held;  // an encoded series pointing into it
    held.reset();
    EXPECT_EQ(pool->for_receive(1 << 20).size(), 1u << 20) << "still held: a new buffer";
  }
  std::string again = pool->for_receive(1 << 20);
  EXPECT_EQ(again.data(), storage);
  EXPECT_EQ(again.size(), 1u << 20);
  pool->give(std::move(again));
  pool->give(std::string(300000, 'y'));
  EXPECT_EQ(pool->for_receive(100).capacity() < 300000, true) << "small: a new buffer";
  EXPECT_EQ(pool->for_receive(200000).size(), 200000u);  // the best fit: the 300 KB one
  std::string send = pool->for_send();
  EXPECT_TRUE(send.empty());
  EXPECT_GE(send.capacity(), 1u << 20);
  // Bounded by bytes, not by count: a batch of 100 KB results the master holds until it writes
  // them comes back whole, up to max_kept_bytes, the largest kept first.
  const std::size_t many = runtime::BufferPool::max_kept_bytes / 100000 + 50;
  for (std::size_t i = 0; i < many; ++i) pool->give(std::string(100000 + i, 'x'));
  std::size_t kept = 0, bytes = 0, last = SIZE_MAX;
  for (;; ++kept) {
    const std::string b = pool->for_send();  // a fresh string: one assigned to keeps its buffer
    if (b.capacity() < 100000) break;
    EXPECT_LE(b.capacity(), last) << "the largest first";
    last = b.capacity();
    bytes += b.capacity();
  }
  EXPECT_LE(bytes, runtime::BufferPool::max_kept_bytes);
  EXPECT_GT(bytes + 100000 + many, runtime::BufferPool::max_kept_bytes) << "no more dropped";
  EXPECT_EQ(last, 100000 + many - kept) << "the smallest were dropped";
}

}  // namespace
}  // namespace mpisweep::archive
