#pragma once
// Messages between master and workers, serialized with Boost.Serialization into byte strings.
#include <mpisweep/core/task.hpp>
#include <mpisweep/runtime/context.hpp>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include <algorithm>
#include <cstring>
#include <memory>
#include <sstream>
#include <string_view>
#include <utility>
#include <variant>
#include <string>

namespace mpisweep::runtime {

// The encoded series of an Outcome on the wire (issue 18), in one place so that any message
// format can carry them: a count, then per declared series a presence byte and, when present,
// chunk_elements, length, the chunk count, the masks, the chunk ends and the bytes, numbers in
// host byte order (every rank of a job runs the same build). Appends to `out`.
inline void put_series(std::string& out,
                       const std::vector<std::shared_ptr<const chunk_codec::Encoded>>& series) {
  auto put = [&out](const void* p, std::size_t n) { out.append(static_cast<const char*>(p), n); };
  auto put_u64 = [&put](std::uint64_t v) { put(&v, sizeof v); };
  put_u64(series.size());
  for (const auto& e : series) {
    out.push_back(e ? 1 : 0);
    if (!e) continue;
    put_u64(static_cast<std::uint64_t>(e->chunk_elements));
    put_u64(static_cast<std::uint64_t>(e->length));
    put_u64(e->masks.size());
    put(e->masks.data(), e->masks.size() * sizeof(std::uint32_t));
    put(e->ends.data(), e->ends.size() * sizeof(std::uint64_t));
    put(e->bytes.data(), e->bytes.size());
  }
}

// Reads what put_series wrote at `in[pos]`, advancing `pos`; internal_error when it is cut short
// or inconsistent.
inline std::vector<std::shared_ptr<const chunk_codec::Encoded>> get_series(std::string_view in,
                                                                           std::size_t& pos) {
  auto get = [&](void* p, std::size_t n) {
    if (n > in.size() - pos) throw internal_error("protocol: series message cut short");
    std::memcpy(p, in.data() + pos, n);
    pos += n;
  };
  auto get_u64 = [&get] {
    std::uint64_t v = 0;
    get(&v, sizeof v);
    return v;
  };
  std::vector<std::shared_ptr<const chunk_codec::Encoded>> series(get_u64());
  for (auto& slot : series) {
    char present = 0;
    get(&present, 1);
    if (!present) continue;
    auto e = std::make_shared<chunk_codec::Encoded>();
    e->chunk_elements = static_cast<std::int64_t>(get_u64());
    e->length = static_cast<std::int64_t>(get_u64());
    const std::uint64_t chunks = get_u64();
    if (chunks > (in.size() - pos) / (sizeof(std::uint32_t) + sizeof(std::uint64_t)))
      throw internal_error("protocol: series message cut short");
    e->masks.resize(chunks);
    e->ends.resize(chunks);
    get(e->masks.data(), chunks * sizeof(std::uint32_t));
    get(e->ends.data(), chunks * sizeof(std::uint64_t));
    if (!std::is_sorted(e->ends.begin(), e->ends.end()))
      throw internal_error("protocol: series chunk ends out of order");
    e->bytes.resize(chunks ? e->ends.back() : 0);
    get(e->bytes.data(), e->bytes.size());
    slot = std::move(e);
  }
  return series;
}

}  // namespace mpisweep::runtime

namespace boost::serialization {

template <class Archive>
void save(Archive& ar, const mpisweep::Value& v, unsigned) {
  const std::int8_t index = static_cast<std::int8_t>(v.index());
  ar << index;
  std::visit([&](const auto& x) { ar << x; }, v);
}

template <class Archive, std::size_t... I>
void load_alternative(Archive& ar, mpisweep::Value& v, std::size_t index,
                      std::index_sequence<I...>) {
  const bool known = ((index == I ? (ar >> v.template emplace<I>(), true) : false) || ...);
  if (!known)
    throw mpisweep::internal_error("protocol: unknown value type " + std::to_string(index));
}

template <class Archive>
void load(Archive& ar, mpisweep::Value& v, unsigned) {
  std::int8_t index;
  ar >> index;
  load_alternative(ar, v, static_cast<std::size_t>(index),
                   std::make_index_sequence<std::variant_size_v<mpisweep::Value>>{});
}

template <class Archive>
void serialize(Archive& ar, mpisweep::Value& v, unsigned version) {
  split_free(ar, v, version);
}

template <class Archive>
void serialize(Archive& ar, mpisweep::runtime::SweepConfig& c, unsigned) {
  ar& c.status& c.experiment& c.threads_per_worker& c.task_timeout;
}

// The master fills attempts (it counts them) and host (from the worker's hello): neither travels.
// The encoded series go as one byte string (put_series).
template <class Archive>
void save(Archive& ar, const mpisweep::Outcome& o, unsigned) {
  ar << o.status << o.worker << o.started << o.wall_seconds << o.error << o.metrics << o.series;
  std::string encoded;
  mpisweep::runtime::put_series(encoded, o.encoded);
  ar << encoded;
}

template <class Archive>
void load(Archive& ar, mpisweep::Outcome& o, unsigned) {
  ar >> o.status >> o.worker >> o.started >> o.wall_seconds >> o.error >> o.metrics >> o.series;
  std::string encoded;
  ar >> encoded;
  std::size_t pos = 0;
  o.encoded = mpisweep::runtime::get_series(encoded, pos);
}

template <class Archive>
void serialize(Archive& ar, mpisweep::Outcome& o, unsigned version) {
  split_free(ar, o, version);
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
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& index& seed& task_id& params;
  }
};

struct ResultMessage {
  std::uint64_t index = 0;
  Outcome outcome;  // status `returned`: handed back unrun, not an attempt
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& index& outcome;
  }
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

}  // namespace mpisweep::runtime
