#pragma once
// Messages between master and workers, serialized with Boost.Serialization into byte strings.
#include <mpisweep/core/task.hpp>
#include <mpisweep/runtime/context.hpp>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include <sstream>
#include <utility>
#include <variant>
#include <string>

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
  ar& c.status& c.experiment& c.threads_per_worker& c.task_timeout& c.heartbeat_seconds;
}

// The master fills attempts (it counts them) and host (from the worker's hello): neither travels.
template <class Archive>
void serialize(Archive& ar, mpisweep::Outcome& o, unsigned) {
  ar& o.status& o.worker& o.started& o.wall_seconds& o.error& o.metrics& o.series;
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
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& host& what;
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
