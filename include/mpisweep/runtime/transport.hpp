#pragma once
// Point-to-point messages between the master (rank 0) and workers. The scheduler and the
// master/worker loops only see this interface; MPI is one implementation, in-process queues
// (one rank: master and worker threads in the same process, and tests) the other.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace mpisweep::runtime {

enum class Tag : int {
  hello = 1,
  tasks = 2,
  results = 3,
  drain = 4,
  cancel = 5,
  stop = 6,  // master -> worker: end with this exit code; negated: the job ends by the master's
             // abort (a rank was lost), so the worker waits for it (Context::await_abort)
  progress = 7,
  heartbeat = 8,  // worker -> master: alive, and what it runs (liveness.hpp)
  fatal = 9       // worker -> master: the worker is failing, with why; it sends nothing more
};

struct Envelope {
  int source = 0;
  Tag tag = Tag::hello;
  std::string bytes;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Queues a message; never blocks on the receiver.
  virtual void send(int dest, Tag tag, std::string bytes) = 0;
  // Returns a message if one has arrived, without waiting.
  virtual std::optional<Envelope> poll() = 0;
  // Completes outstanding sends; call before shutting down.
  virtual void flush_sends() {}
};

// Two endpoints (rank 0 and rank 1) joined by in-process queues; thread-safe.
std::pair<std::unique_ptr<Transport>, std::unique_ptr<Transport>> make_local_pair();

}  // namespace mpisweep::runtime
