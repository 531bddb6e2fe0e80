#include <mpisweep/core/parallel.hpp>

#include <sched.h>

#include <algorithm>
#include <chrono>

namespace mpisweep {

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_.store(true, std::memory_order_release);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

namespace {
// Waiting for a condition: spin briefly (pause), then sleep on a condition variable (a futex).
// The spin covers back-to-back parallel loops (a time step's regions follow each other with
// little serial work between them) without a wake-up; beyond it a waiting thread must not keep
// a core busy: on a shared node those cores belong to other tasks, and polling through every
// serial gap made workers use CPU they did not compute with (this pool used to poll, yielding,
// for up to 200 µs).
constexpr auto spin_time = std::chrono::microseconds(10);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Polls ready() for up to spin_time; returns ready().
template <class Ready>
bool spin_until(Ready ready) {
  if (ready()) return true;
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      cpu_relax();
      if (ready()) return true;
    }
    if (std::chrono::steady_clock::now() - start >= spin_time) return ready();
  }
}

// Block `i` of `parts` over [0, n): the same split for the same (n, parts) on every call.
std::pair<std::size_t, std::size_t> block(std::size_t n, int parts, int i) {
  const std::size_t p = static_cast<std::size_t>(parts), k = static_cast<std::size_t>(i);
  return {n * k / p, n * (k + 1) / p};
}
}  // namespace

namespace {
std::atomic<bool> profiling{false};
thread_local int region_depth = 0;

// Records an outermost region's wall time on the calling thread while profiling is on.
class RegionTimer {
 public:
  explicit RegionTimer(std::size_t n)
      : n_(n), on_(profiling.load(std::memory_order_relaxed) && region_depth == 0) {
    ++region_depth;
    if (on_) start_ = std::chrono::steady_clock::now();
  }
  ~RegionTimer() {
    --region_depth;
    if (!on_) return;
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    auto& v = ThreadPool::region_profile().by_items;
    auto it = std::find_if(v.begin(), v.end(), [&](const auto& e) { return e.first == n_; });
    if (it == v.end()) it = v.insert(v.end(), {n_, 0.0});
    it->second += s;
  }
  RegionTimer(const RegionTimer&) = delete;
  RegionTimer& operator=(const RegionTimer&) = delete;

 private:
  std::size_t n_;
  bool on_;
  std::chrono::steady_clock::time_point start_;
};
}  // namespace

void ThreadPool::profile_regions(bool on) { profiling.store(on, std::memory_order_relaxed); }

ThreadPool::RegionProfile& ThreadPool::region_profile() {
  thread_local RegionProfile p;
  return p;
}

double ThreadPool::RegionProfile::seconds() const {
  double s = 0;
  for (const auto& [n, t] : by_items) s += t;
  return s;
}

double ThreadPool::RegionProfile::seconds_on(int threads) const {
  const std::size_t T = std::size_t(std::max(1, threads));
  double s = 0;
  for (const auto& [n, t] : by_items) s += t * double((n + T - 1) / T) / double(n);
  return s;
}

void ThreadPool::parallel_for(std::size_t n,
                              const std::function<void(std::size_t, std::size_t)>& body) {
  if (n == 0) return;
  ++regions_;
  const RegionTimer timer(n);
  if (workers_.empty() || n == 1) {
    body(0, n);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    body_ = &body;
    n_ = n;
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    error_ = nullptr;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  std::exception_ptr mine;
  try {
    auto [b, e] = block(n, size(), 0);
    if (b < e) body(b, e);
  } catch (...) {
    mine = std::current_exception();
  }
  auto all_done = [this] { return pending_.load(std::memory_order_acquire) == 0; };
  spin_until(all_done);
  std::unique_lock lock(mutex_);
  done_.wait(lock, all_done);
  body_ = nullptr;
  if (mine) std::rethrow_exception(mine);
  if (error_) std::rethrow_exception(error_);
}

void ThreadPool::worker_loop(int index) {
  std::size_t seen = 0;
  for (;;) {
    const std::function<void(std::size_t, std::size_t)>* body;
    std::size_t n;
    auto woken = [&] {
      return stop_.load(std::memory_order_acquire) ||
             generation_.load(std::memory_order_acquire) != seen;
    };
    spin_until(woken);
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, woken);
      if (stop_) return;
      seen = generation_.load(std::memory_order_relaxed);
      body = body_;
      n = n_;
    }
    try {
      auto [b, e] = block(n, size(), index);
      if (b < e) (*body)(b, e);
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Under the mutex, so a caller that has just found pending_ != 0 and is about to sleep
      // cannot miss the notification.
      std::lock_guard lock(mutex_);
      done_.notify_one();
    }
  }
}

}  // namespace mpisweep
