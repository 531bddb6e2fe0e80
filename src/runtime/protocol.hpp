#pragma once
// Messages between master and workers. The hot ones (tasks, results: one record per task) are
// flat records copied with memcpy (wire.hpp); the rare ones (hello, progress, stop, the sweep
// configuration) go through Boost.Serialization, whose per-message set-up and per-object type
// lookups cost more than the task itself for tiny tasks (docs/performance.md, issue 15).
#include <mpisweep/core/task.hpp>
#include <mpisweep/runtime/context.hpp>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include "wire.hpp"

#include <span>
#include <algorithm>
#include <cstring>
#include <memory>
#include <sstream>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>
#include <string>

namespace boost::serialization {

template <class Archive>
void serialize(Archive& ar, mpisweep::runtime::SweepConfig& c, unsigned) {
  ar& c.status& c.experiment& c.threads_per_worker& c.task_timeout& c.heartbeat_seconds;
  ar& c.series_folder& c.first_block& c.block_elements& c.series_chunks;
}

}  // namespace boost::serialization

namespace mpisweep::runtime {

// One task for a worker: the master's index (the worker answers with it; the archive row stays
// with the master) and what the experiment needs: the seed, the params, and the task id, which
// the command kind hands its program ({task_id}, MPISWEEP_TASK_ID).
struct TaskMessage {
  std::uint64_t index = 0;
  std::uint64_t seed = 0;
  std::uint64_t task_id = 0;
  std::vector<Value> params;  // the experiment's schema order
};

struct ResultMessage {
  std::uint64_t index = 0;
  Outcome outcome;  // status `returned`: handed back unrun, not an attempt
  // Set by pack_record: the record already packed (put_result's bytes), sent as it is.
  std::string wire;
};

// A running task's own estimate of how far it is (RunContext::progress), throttled by the worker.
struct ProgressMessage {
  std::uint64_t index = 0;
  double fraction = 0;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& index& fraction;
  }
};

// Sent once by every worker when it starts.
struct Hello {
  std::string host;
  std::int32_t threads = 0;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& host& threads;
  }
};

// The hot messages as flat records (wire.hpp), read until the message ends. A task: TaskHeader,
// then its params, each a type byte (the Value alternative) and its bytes (a bool 1, an integer
// or a real 8, a string a u32 length and the characters). A result: ResultHeader, the error's
// characters, the metrics as doubles (the experiment's schema order), then the series.
struct TaskHeader {
  std::uint64_t index, seed, task_id;
  std::uint32_t params, unused;
};
struct ResultHeader {
  std::uint64_t index;
  double started, wall_seconds;
  std::int32_t status, worker;
  std::uint32_t error_bytes, metrics;
};

inline void put_task(wire::Writer& w, std::uint64_t index, std::uint64_t seed,
                     std::uint64_t task_id, std::span<const Value> params) {
  w.put(TaskHeader{index, seed, task_id, static_cast<std::uint32_t>(params.size()), 0});
  for (const Value& v : params) {
    w.put(static_cast<std::uint8_t>(v.index()));
    if (const auto* b = std::get_if<bool>(&v)) {
      w.put(static_cast<std::uint8_t>(*b));
    } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
      w.put(*i);
    } else if (const auto* x = std::get_if<double>(&v)) {
      w.put(*x);
    } else {
      const auto& s = std::get<std::string>(v);
      w.put(static_cast<std::uint32_t>(s.size()));
      w.put_bytes(s.data(), s.size());
    }
  }
}

inline TaskMessage get_task(wire::Reader& r) {
  const auto h = r.get<TaskHeader>();
  TaskMessage t{h.index, h.seed, h.task_id, {}};
  t.params.reserve(h.params);
  for (std::uint32_t k = 0; k < h.params; ++k) {
    switch (r.get<std::uint8_t>()) {
      case 0: t.params.emplace_back(r.get<std::uint8_t>() != 0); break;
      case 1: t.params.emplace_back(r.get<std::int64_t>()); break;
      case 2: t.params.emplace_back(r.get<double>()); break;
      case 3: t.params.emplace_back(std::string(r.get_bytes(r.get<std::uint32_t>()))); break;
      default: throw internal_error("protocol: unknown parameter type in a task message");
    }
  }
  return t;
}

// A result's series, in one place. Arrays shorter than a chunk travel as values: a u32 count,
// then per series a u64 length and the doubles. Longer ones travel as the worker encoded them
// (issue 18; chunk_codec, the series' declared storage), so the master only copies bytes: a u32
// count, then per declared series a presence byte and, when present, chunk_elements, length, the
// chunk count, the masks, the chunk ends and the bytes.
inline void put_series(wire::Writer& w, const std::vector<std::vector<double>>& series,
                       const std::vector<std::shared_ptr<const chunk_codec::Encoded>>& encoded) {
  w.put(static_cast<std::uint32_t>(series.size()));
  for (const auto& s : series) {
    w.put(static_cast<std::uint64_t>(s.size()));
    w.put_array(std::span<const double>(s));
  }
  w.put(static_cast<std::uint32_t>(encoded.size()));
  for (const auto& e : encoded) {
    w.put(static_cast<std::uint8_t>(e ? 1 : 0));
    if (!e) continue;
    w.put(static_cast<std::int64_t>(e->chunk_elements));
    w.put(static_cast<std::int64_t>(e->length));
    w.put(static_cast<std::uint64_t>(e->masks.size()));
    w.put_array(std::span<const std::uint32_t>(e->masks));
    w.put_array(std::span<const std::uint64_t>(e->ends));
    w.put_array(std::span<const unsigned char>(e->bytes));
  }
}

// Reads what put_series wrote; internal_error when the message is cut short or inconsistent.
// With `owner` (the message `r` reads, kept alive by it) the chunks stay in the message: each
// Encoded points into it and shares its ownership instead of copying its bytes out.
inline void get_series(wire::Reader& r, std::vector<std::vector<double>>& series,
                       std::vector<std::shared_ptr<const chunk_codec::Encoded>>& encoded,
                       const std::shared_ptr<const std::string>& owner = nullptr) {
  series.resize(r.get<std::uint32_t>());
  for (auto& s : series) r.get_array(s, r.get<std::uint64_t>());
  encoded.assign(r.get<std::uint32_t>(), nullptr);
  for (auto& slot : encoded) {
    if (r.get<std::uint8_t>() == 0) continue;
    auto e = std::make_shared<chunk_codec::Encoded>();
    e->chunk_elements = r.get<std::int64_t>();
    e->length = r.get<std::int64_t>();
    const auto chunks = r.get<std::uint64_t>();
    r.get_array(e->masks, chunks);
    r.get_array(e->ends, chunks);
    if (!std::is_sorted(e->ends.begin(), e->ends.end()))
      throw internal_error("protocol: series chunk ends out of order");
    const std::size_t n = chunks ? e->ends.back() : 0;
    if (owner) {
      const auto in = r.get_bytes(n);
      e->view = {reinterpret_cast<const unsigned char*>(in.data()), n};
      e->owner = owner;
    } else {
      r.get_array(e->bytes, n);
    }
    slot = std::move(e);
  }
}

// Series a worker stored in its block file (series_files = "per_rank"): a u32 count, then the
// (offset, length) pairs.
static_assert(std::is_trivially_copyable_v<Outcome::Placed>);
inline void put_placed(wire::Writer& w, const std::vector<Outcome::Placed>& placed) {
  w.put(static_cast<std::uint32_t>(placed.size()));
  w.put_array(std::span<const Outcome::Placed>(placed));
}
inline void get_placed(wire::Reader& r, std::vector<Outcome::Placed>& placed) {
  r.get_array(placed, r.get<std::uint32_t>());
}

// A result record: its head (header, error text, metrics), its series, its placed pairs. Both
// writers of it, put_result and pack_record, share the head and its size.
inline void put_result_head(wire::Writer& w, const ResultMessage& m) {
  const Outcome& o = m.outcome;
  w.put(ResultHeader{m.index, o.started, o.wall_seconds, static_cast<std::int32_t>(o.status),
                     o.worker, static_cast<std::uint32_t>(o.error.size()),
                     static_cast<std::uint32_t>(o.metrics.size())});
  w.put_bytes(o.error.data(), o.error.size());
  w.put_array(std::span<const double>(o.metrics));
}
// The head's bytes, the two series counts and the placed pairs: all but the series themselves.
inline std::size_t result_frame_bytes(const Outcome& o) {
  return sizeof(ResultHeader) + o.error.size() + o.metrics.size() * sizeof(double) +
         3 * sizeof(std::uint32_t) + o.placed.size() * sizeof(Outcome::Placed);
}

inline void put_result(wire::Writer& w, const ResultMessage& m) {
  put_result_head(w, m);
  put_series(w, m.outcome.series, m.outcome.encoded);
  put_placed(w, m.outcome.placed);
}

// Reads into `m`, reusing its strings and vectors: the master decodes every result into one.
// `owner`: as for get_series.
// Host and attempts are the master's to fill: they are reset here, not sent.
inline void get_result(wire::Reader& r, ResultMessage& m,
                       const std::shared_ptr<const std::string>& owner = nullptr) {
  const auto h = r.get<ResultHeader>();
  Outcome& o = m.outcome;
  m.index = h.index;
  o.status = static_cast<TaskStatus>(h.status);
  o.worker = h.worker;
  o.started = h.started;
  o.wall_seconds = h.wall_seconds;
  o.attempts = 1;
  o.host.clear();
  o.error.assign(r.get_bytes(h.error_bytes));
  r.get_array(o.metrics, h.metrics);
  get_series(r, o.series, o.encoded, owner);
  get_placed(r, o.placed);
}

// put_result's bytes for `m` into `out` (a reused buffer, emptied), with each series of at least
// one chunk (chunk_codec::chunk_elements(specs[i])) encoded straight into the record rather than
// into a buffer of its own and then copied (issue 18): the worker's runner thread packs a done
// result so, right after the task, and the main thread sends the record as it is. Those series'
// values are released. Same bytes as put_result of the same series encoded by encode_series.
inline void pack_record(ResultMessage& m, const std::vector<SeriesSpec>& specs, std::string out) {
  Outcome& o = m.outcome;
  if (o.series.size() > specs.size())
    throw internal_error("protocol: a result has more series than the experiment declares");
  std::vector<std::int64_t> chunk(o.series.size(), 0);  // 0: goes as values
  // An upper bound (a deflated chunk is kept only if smaller): the chunks are not encoded yet.
  std::size_t size = result_frame_bytes(o);
  for (std::size_t i = 0; i < o.series.size(); ++i) {
    const auto n = static_cast<std::int64_t>(o.series[i].size());
    if (n > 0 && n >= chunk_codec::chunk_elements(specs[i]))
      chunk[i] = chunk_codec::chunk_elements(specs[i]);
    const std::size_t chunks = chunk_codec::chunk_count(n, chunk[i]);
    size += sizeof(std::uint64_t) + 1 +
            (chunk[i] ? 3 * sizeof(std::uint64_t) + chunks * 12 +
                            chunk_codec::max_encoded_bytes(n, specs[i].storage, chunk[i])
                      : o.series[i].size() * sizeof(double));
  }
  out.clear();
  wire::Writer w(std::move(out), size);
  put_result_head(w, m);
  w.put(static_cast<std::uint32_t>(o.series.size()));
  for (std::size_t i = 0; i < o.series.size(); ++i) {
    const std::size_t n = chunk[i] ? 0 : o.series[i].size();
    w.put(static_cast<std::uint64_t>(n));
    w.put_array(std::span<const double>(o.series[i].data(), n));
  }
  w.put(static_cast<std::uint32_t>(o.series.size()));
  std::vector<std::uint32_t> masks;
  std::vector<std::uint64_t> ends;
  for (std::size_t i = 0; i < o.series.size(); ++i) {
    w.put(static_cast<std::uint8_t>(chunk[i] ? 1 : 0));
    if (!chunk[i]) continue;
    const auto n = static_cast<std::int64_t>(o.series[i].size());
    const std::size_t chunks = chunk_codec::chunk_count(n, chunk[i]);
    w.put(chunk[i]);
    w.put(n);
    w.put(static_cast<std::uint64_t>(chunks));
    // Masks and ends are known once the chunks are encoded: their places are kept, then filled.
    const std::size_t at = w.bytes().size();
    w.bytes().append(chunks * (sizeof(std::uint32_t) + sizeof(std::uint64_t)), '\0');
    const bool deflates = specs[i].storage.compression != SeriesStorage::Compression::none;
    chunk_codec::encode_append(o.series[i], specs[i].storage, chunk[i],
                               deflates ? chunk_codec::default_min_ratio : 1.0, w.bytes(), masks,
                               ends);
    std::memcpy(w.bytes().data() + at, masks.data(), chunks * sizeof(std::uint32_t));
    std::memcpy(w.bytes().data() + at + chunks * sizeof(std::uint32_t), ends.data(),
                chunks * sizeof(std::uint64_t));
    o.series[i] = {};
  }
  put_placed(w, o.placed);
  m.wire = w.take();
}

// A received message shared by the records decoded from it (get_result's `owner`); when the last
// holder lets go (the archive has copied its chunks), its buffer goes back to `pool` for a later
// receive instead of being freed (BufferPool).
inline std::shared_ptr<const std::string> shared_message(std::string bytes,
                                                         std::shared_ptr<BufferPool> pool) {
  return std::shared_ptr<const std::string>(new std::string(std::move(bytes)),
                                            [pool = std::move(pool)](std::string* s) {
                                              pool->give(std::move(*s));
                                              delete s;
                                            });
}

// Sent by a worker's main thread when it has sent nothing else for a heartbeat interval, and
// every interval while a task runs past its timeout: the master's proof that the process runs
// (SIGSTOP or a stuck node silence it) and its view of a task that ignores cancellation.
struct Heartbeat {
  std::int64_t running = -1;   // the master's index of the running task; -1: none
  double running_seconds = 0;  // how long it has run
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& running& running_seconds;
  }
};

// A worker's last word before it fails outside a task (its error guard): the master names it,
// settles its tasks and ends the job once the archive is flushed.
struct FatalReport {
  std::string host;
  std::string what;
  // The worker could not store a result's series (series_files = "per_rank": disk full): its
  // running task is handed back, not failed, so the tasks stay pending for a resume.
  bool storage = false;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& host& what& storage;
  }
};

template <class T>
std::string pack(const T& value) {
  std::ostringstream out(std::ios::binary);
  {
    boost::archive::binary_oarchive ar(out,
                                       boost::archive::no_header | boost::archive::no_tracking);
    ar << value;
  }
  return std::move(out).str();
}

template <class T>
T unpack(const std::string& bytes) {
  std::istringstream in(bytes, std::ios::binary);
  boost::archive::binary_iarchive ar(in, boost::archive::no_header | boost::archive::no_tracking);
  T value;
  ar >> value;
  return value;
}

// The hot messages take the flat records, whoever packs them (the worker, the master, tests):
// these overloads win over the Boost templates above.
inline std::string pack(const std::vector<TaskMessage>& tasks) {
  wire::Writer w(tasks.size() * (sizeof(TaskHeader) + 32));
  for (const auto& t : tasks) put_task(w, t.index, t.seed, t.task_id, t.params);
  return w.take();
}

// The exact size put_result writes, so a result message is allocated once: appending 10 MB of
// chunks to a string grown by doubling copied them about twice more, each time into freshly
// faulted pages (issue 18).
inline std::size_t result_wire_bytes(const ResultMessage& m) {
  const Outcome& o = m.outcome;
  std::size_t n = result_frame_bytes(o);
  for (const auto& s : o.series) n += sizeof(std::uint64_t) + s.size() * sizeof(double);
  for (const auto& e : o.encoded) {
    n += 1;
    if (e)
      n += 3 * sizeof(std::uint64_t) + e->masks.size() * sizeof(std::uint32_t) +
           e->ends.size() * sizeof(std::uint64_t) + e->bytes.size();
  }
  return n;
}

inline std::string pack(const std::vector<ResultMessage>& results) {
  std::size_t size = 0;
  for (const auto& m : results) size += result_wire_bytes(m);
  wire::Writer w(size);
  for (const auto& m : results) put_result(w, m);
  return w.take();
}

// The worker's: records pack_record packed go as they are (one alone: moved, not copied).
inline std::string pack(std::vector<ResultMessage>& results) {
  if (results.size() == 1 && !results[0].wire.empty()) return std::move(results[0].wire);
  std::size_t size = 0;
  for (const auto& m : results) size += m.wire.empty() ? result_wire_bytes(m) : m.wire.size();
  wire::Writer w(size);
  for (const auto& m : results) {
    if (m.wire.empty())
      put_result(w, m);
    else
      w.put_bytes(m.wire.data(), m.wire.size());
  }
  return w.take();
}

template <>
inline std::vector<TaskMessage> unpack<std::vector<TaskMessage>>(const std::string& bytes) {
  wire::Reader r(bytes);
  std::vector<TaskMessage> out;
  while (r.remaining() > 0) out.push_back(get_task(r));
  return out;
}

template <>
inline std::vector<ResultMessage> unpack<std::vector<ResultMessage>>(const std::string& bytes) {
  wire::Reader r(bytes);
  std::vector<ResultMessage> out;
  while (r.remaining() > 0) get_result(r, out.emplace_back());
  return out;
}

}  // namespace mpisweep::runtime
