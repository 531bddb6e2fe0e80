#pragma once
// Point-to-point messages between the master (rank 0) and workers. The scheduler and the
// master/worker loops only see this interface; MPI is one implementation, in-process queues
// (one rank: master and worker threads in the same process, and tests) the other.
#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

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

// Message buffers kept for reuse (issue 18): a 10 MB result received or sent into a fresh buffer
// costs its page faults and the kernel's zeroing of every page, and a receive buffer resized from
// empty is zero-filled before MPI overwrites it. Buffers come back from completed sends and from
// whoever held a received message (the master, once the archive has copied its chunks), so the
// next message of the same size touches no new page. Thread-safe. It keeps up to max_kept_bytes:
// the master holds up to Writer's 32 MiB of received messages until their chunks are written, and
// a pool of 4 buffers dropped all but 4 of such a batch of 100 KB results, so every later receive
// faulted in and zeroed fresh pages again (and the kernel unmapped them after).
class BufferPool {
 public:
  static constexpr std::size_t max_kept_bytes = std::size_t{64} << 20;
  // Smaller buffers cost nothing to allocate and are not kept; a message at least this big is
  // worth sending on its own rather than copied into a batch (the worker's results).
  static constexpr std::size_t min_bytes = std::size_t{64} << 10;
  // For a receive of `n` bytes: the kept buffer that fits best, resized to n (zero-filled only
  // past its old size; a shrink writes nothing), or a new one. A small message gets a new one:
  // a worker's task messages must not take the buffer its next 10 MB result is written into.
  std::string for_receive(std::size_t n) {
    std::string b = n < min_bytes ? std::string() : take(n);
    b.resize(n);
    return b;
  }
  // For a message to be written: empty, with the largest kept capacity.
  std::string for_send() {
    std::string b = take(0);
    b.clear();
    return b;
  }
  void give(std::string b) {
    if (b.capacity() < min_bytes) return;  // small ones cost nothing to allocate
    std::lock_guard lock(mutex_);
    kept_bytes_ += b.capacity();
    kept_.push_back(std::move(b));
    while (kept_bytes_ > max_kept_bytes) {
      auto smallest = std::min_element(
          kept_.begin(), kept_.end(), [](auto& a, auto& c) { return a.capacity() < c.capacity(); });
      kept_bytes_ -= smallest->capacity();
      kept_.erase(smallest);
    }
  }

 private:
  // For a receive (n > 0): the smallest kept buffer already at least n long, else the longest;
  // for a send (n == 0): the largest capacity.
  std::string take(std::size_t n) {
    std::lock_guard lock(mutex_);
    if (kept_.empty()) return {};
    auto better = [n](const std::string& a, const std::string& c) {
      if (n == 0) return a.capacity() > c.capacity();
      if ((a.size() >= n) != (c.size() >= n)) return a.size() >= n;
      return a.size() >= n ? a.size() < c.size() : a.size() > c.size();
    };
    auto best = std::min_element(kept_.begin(), kept_.end(), better);
    std::string b = std::move(*best);
    kept_.erase(best);
    kept_bytes_ -= b.capacity();
    return b;
  }
  std::mutex mutex_;
  std::vector<std::string> kept_;
  std::size_t kept_bytes_ = 0;  // the capacities of kept_
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
  // Spare buffers for messages (BufferPool): shared, so that a received message may outlive the
  // transport and still hand its buffer back.
  const std::shared_ptr<BufferPool>& buffers() const { return buffers_; }

 private:
  std::shared_ptr<BufferPool> buffers_ = std::make_shared<BufferPool>();
};

// Two endpoints (rank 0 and rank 1) joined by in-process queues; thread-safe.
std::pair<std::unique_ptr<Transport>, std::unique_ptr<Transport>> make_local_pair();

}  // namespace mpisweep::runtime
