#include <mpisweep/core/parallel.hpp>
#include <mpisweep/runtime/context.hpp>

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdint>
#include <list>
#include <exception>
#include <thread>
#include <vector>

namespace mpisweep::runtime {

namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw mpi_error(std::string(what) + ": " + std::string(text, static_cast<std::size_t>(len)));
}
#define MPI_CHECK(call) check((call), #call)

class MpiTransport final : public Transport {
 public:
  MpiTransport() {
    MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
  }
  ~MpiTransport() override {
    try {
      flush_sends();
    } catch (...) {
    }
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void send(int dest, Tag tag, std::string bytes) override {
    if (bytes.size() > static_cast<std::size_t>(INT32_MAX))
      throw mpi_error("message too large for one MPI send");
    pending_.push_back({std::move(bytes), MPI_REQUEST_NULL});
    auto& p = pending_.back();
    MPI_CHECK(MPI_Isend(p.bytes.data(), static_cast<int>(p.bytes.size()), MPI_BYTE, dest,
                        static_cast<int>(tag), MPI_COMM_WORLD, &p.request));
    reap();
  }

  std::optional<Envelope> poll() override {
    reap();
    int flag = 0;
    MPI_Status status;
    MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status));
    if (!flag) return std::nullopt;
    int count = 0;
    MPI_CHECK(MPI_Get_count(&status, MPI_BYTE, &count));
    Envelope e;
    e.source = status.MPI_SOURCE;
    e.tag = static_cast<Tag>(status.MPI_TAG);
    e.bytes = buffers()->for_receive(static_cast<std::size_t>(count));
    MPI_CHECK(MPI_Recv(e.bytes.data(), count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG,
                       MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    return e;
  }

  // Waits for outstanding sends without spinning a core.
  void flush_sends() override {
    while (!pending_.empty()) {
      reap();
      if (!pending_.empty()) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

 private:
  struct Pending {
    std::string bytes;
    MPI_Request request;
  };
  // Frees completed sends (in order; MPI completes them in order per destination anyway). A
  // send to a frozen rank never completes: once many sends wait behind one, the completed ones
  // among them are freed too, so a lost worker does not make the master's memory grow.
  void reap() {
    while (!pending_.empty()) {
      int done = 0;
      MPI_CHECK(MPI_Test(&pending_.front().request, &done, MPI_STATUS_IGNORE));
      if (!done) break;
      buffers()->give(std::move(pending_.front().bytes));
      pending_.pop_front();
    }
    if (pending_.size() < reap_all_above_) return;
    pending_.remove_if([](Pending& p) {
      int done = 0;
      MPI_CHECK(MPI_Test(&p.request, &done, MPI_STATUS_IGNORE));
      return done != 0;
    });
    // Amortised: the next full pass waits until the queue has doubled.
    reap_all_above_ = std::max<std::size_t>(64, 2 * pending_.size());
  }
  int rank_ = 0, size_ = 1;
  // A list: MPI reads each buffer in place until its send completes, so none may move.
  std::list<Pending> pending_;
  std::size_t reap_all_above_ = 64;
};

// MPI_Init_thread on construction, MPI_Finalize on destruction (arbor's with_mpi).
class MpiContext final : public Context {
 public:
  MpiContext(int& argc, char**& argv) : uncaught_(std::uncaught_exceptions()) {
    int provided = 0;
    MPI_CHECK(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided));
    if (provided < MPI_THREAD_FUNNELED) {
      MPI_Finalize();
      throw mpi_error("the MPI library does not provide MPI_THREAD_FUNNELED");
    }
    MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
  }
  ~MpiContext() override {
    // guarded() catches everything a rank throws, so this is the last resort only.
    if (std::uncaught_exceptions() > uncaught_) MPI_Abort(MPI_COMM_WORLD, 3);
    MPI_Finalize();
  }
  MpiContext(const MpiContext&) = delete;
  MpiContext& operator=(const MpiContext&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  std::string broadcast(std::string bytes) override {
    long long n = static_cast<long long>(bytes.size());
    MPI_CHECK(MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD));
    if (n > INT32_MAX) throw mpi_error("broadcast too large for one MPI call");
    bytes.resize(static_cast<std::size_t>(n));
    MPI_CHECK(MPI_Bcast(bytes.data(), static_cast<int>(n), MPI_BYTE, 0, MPI_COMM_WORLD));
    return bytes;
  }

  std::vector<std::string> gather(const std::string& mine) override {
    int n = static_cast<int>(mine.size());
    std::vector<int> counts(rank_ == 0 ? std::size_t(size_) : 0), displs(counts.size());
    MPI_CHECK(MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD));
    std::string all;
    for (std::size_t r = 0; r < counts.size(); ++r) {
      displs[r] = static_cast<int>(all.size());
      all.resize(all.size() + std::size_t(counts[r]));
    }
    MPI_CHECK(MPI_Gatherv(mine.data(), n, MPI_CHAR, all.data(), counts.data(), displs.data(),
                          MPI_CHAR, 0, MPI_COMM_WORLD));
    std::vector<std::string> out;
    for (std::size_t r = 0; r < counts.size(); ++r)
      out.push_back(all.substr(std::size_t(displs[r]), std::size_t(counts[r])));
    return out;
  }

  int max(int value) override {
    int out = 0;
    MPI_CHECK(MPI_Allreduce(&value, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
    return out;
  }

  std::string host() const override {
    char name[MPI_MAX_PROCESSOR_NAME];
    int len = 0;
    MPI_CHECK(MPI_Get_processor_name(name, &len));
    return std::string(name, static_cast<std::size_t>(len));
  }

  int default_worker_threads() override {
    MPI_Comm node;
    MPI_CHECK(
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
    int local = 0, has_master = rank_ == 0 ? 1 : 0, master_here = 0;
    MPI_CHECK(MPI_Comm_size(node, &local));
    MPI_CHECK(MPI_Allreduce(&has_master, &master_here, 1, MPI_INT, MPI_MAX, node));
    MPI_CHECK(MPI_Comm_free(&node));
    const int cores = available_cores();
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (online > 0 && cores < online) return cores;  // bound by the launcher: use what we own
    // The master sleeps while it waits, so it takes no core of its own.
    const int workers_here = std::max(1, local - master_here);
    return std::max(1, cores / workers_here);
  }

  std::unique_ptr<Transport> transport() override { return std::make_unique<MpiTransport>(); }

  [[noreturn]] void abort(int code) override {
    // Alone (a one-rank run whose worker thread is stuck in a task), no other rank needs ending:
    // exit without Open MPI's MPI_ABORT banner.
    if (size_ == 1) {
      std::fflush(nullptr);
      std::_Exit(code);
    }
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  int rank_ = 0, size_ = 1;
  int uncaught_ = 0;
};

}  // namespace

std::unique_ptr<Context> make_mpi_context(int& argc, char**& argv) {
  return std::make_unique<MpiContext>(argc, argv);
}

}  // namespace mpisweep::runtime
