#pragma once
// A task's thread budget: a small pool that runs parallel loops over index ranges. Each call
// splits [0, n) into the same contiguous blocks for a given thread count; code whose result must
// not depend on the thread count writes per-index results and reduces them in index order.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace mpisweep {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads <= 1: everything runs on the caller
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls body(begin, end) on disjoint blocks covering [0, n), the caller taking one block.
  // Blocks until all are done; rethrows the first exception. Not reentrant. Workers (and the
  // caller, waiting for them) spin for about 10 µs before sleeping on a condition variable, so
  // back-to-back calls do not pay a futex wake-up each, and idle workers use no CPU.
  void parallel_for(std::size_t n, const std::function<void(std::size_t, std::size_t)>& body);

  // parallel_for calls with n > 0 so far, whatever the thread count: for benchmarks that count
  // the parallel regions (fork/join points) of a hot path.
  std::size_t regions() const { return regions_; }

  // A work-span profile for benchmarks (off unless enabled; then two clock reads a region).
  // While on, every outermost parallel_for called from a thread (nested ones are inside it)
  // adds its wall time to that thread's profile under its item count n. Measured on a 1-thread
  // pool, `seconds_on(T)` is what the regions would take on T threads if a region's items cost
  // the same and parallel_for's blocks took ⌈n/T⌉ of them each: a bound that sees the item
  // counts and, with the run's wall time, the serial time between regions; not memory
  // bandwidth, wake-ups, or the extra threads nested pools would get.
  struct RegionProfile {
    std::vector<std::pair<std::size_t, double>> by_items;  // (n, seconds), first seen first
    double seconds() const;
    double seconds_on(int threads) const;
  };
  static void profile_regions(bool on);
  static RegionProfile& region_profile();  // the calling thread's; clear() it to restart

 private:
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(std::size_t, std::size_t)>* body_ = nullptr;
  std::size_t n_ = 0;
  std::atomic<std::size_t> generation_{0};  // written under mutex_; read while spinning
  std::atomic<int> pending_{0};             // workers still running the current call
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;
  std::size_t regions_ = 0;  // touched only by the calling thread
};

// The hardware threads this process may use (sched_getaffinity, at least 1).
int available_cores();

}  // namespace mpisweep
