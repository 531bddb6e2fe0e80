#include <mpisweep/core/parallel.hpp>
#include <mpisweep/core/text.hpp>
#include <mpisweep/runtime/mpi.hpp>

#include "protocol.hpp"

#include <mpi.h>
#include <unistd.h>

#include <deque>
#include <set>
#include <vector>
#include <exception>
#include <thread>

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
    e.bytes.resize(static_cast<std::size_t>(count));
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
  // Frees completed sends (in order; MPI completes them in order per destination anyway).
  void reap() {
    while (!pending_.empty()) {
      int done = 0;
      MPI_CHECK(MPI_Test(&pending_.front().request, &done, MPI_STATUS_IGNORE));
      if (!done) break;
      pending_.pop_front();
    }
  }
  int rank_ = 0, size_ = 1;
  std::deque<Pending> pending_;
};

}  // namespace

MpiSession::MpiSession(int& argc, char**& argv) : uncaught_(std::uncaught_exceptions()) {
  int provided = 0;
  MPI_CHECK(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided));
  if (provided < MPI_THREAD_FUNNELED) {
    MPI_Finalize();
    throw mpi_error("the MPI library does not provide MPI_THREAD_FUNNELED");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
}

MpiSession::~MpiSession() {
  if (std::uncaught_exceptions() > uncaught_) MPI_Abort(MPI_COMM_WORLD, 3);
  MPI_Finalize();
}

void MpiSession::abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

SweepConfig MpiSession::broadcast(const SweepConfig& config) const {
  std::string bytes = rank_ == 0 ? pack(config) : std::string();
  long long n = static_cast<long long>(bytes.size());
  MPI_CHECK(MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD));
  bytes.resize(static_cast<std::size_t>(n));
  MPI_CHECK(MPI_Bcast(bytes.data(), static_cast<int>(n), MPI_BYTE, 0, MPI_COMM_WORLD));
  return unpack<SweepConfig>(bytes);
}

std::string MpiSession::host() const {
  char name[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  MPI_CHECK(MPI_Get_processor_name(name, &len));
  return std::string(name, static_cast<std::size_t>(len));
}

std::string MpiSession::gather_hosts() const {
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int len = 0;
  MPI_CHECK(MPI_Get_processor_name(name, &len));
  std::vector<char> all(rank_ == 0 ? std::size_t(size_) * MPI_MAX_PROCESSOR_NAME : 0);
  MPI_CHECK(MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME,
                       MPI_CHAR, 0, MPI_COMM_WORLD));
  if (rank_ != 0) return {};
  std::set<std::string> hosts;
  for (int r = 0; r < size_; ++r)
    hosts.insert(std::string(all.data() + std::size_t(r) * MPI_MAX_PROCESSOR_NAME));
  return join({hosts.begin(), hosts.end()}, ",");
}

int MpiSession::max_over_workers(int value) const {
  int mine = (rank_ == 0 && size_ > 1) ? 0 : value, out = 0;
  MPI_CHECK(MPI_Allreduce(&mine, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
  return out;
}

int MpiSession::default_worker_threads() const {
  MPI_Comm node;
  MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
  int local = 0, has_master = rank_ == 0 ? 1 : 0, master_here = 0;
  MPI_CHECK(MPI_Comm_size(node, &local));
  MPI_CHECK(MPI_Allreduce(&has_master, &master_here, 1, MPI_INT, MPI_MAX, node));
  MPI_Comm_free(&node);
  const int cores = available_cores();
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  if (online > 0 && cores < online) return cores;  // bound by the launcher: use what we own
  // The master sleeps while it waits, so it takes no core of its own.
  const int workers_here = std::max(1, local - master_here);
  return std::max(1, cores / workers_here);
}

std::unique_ptr<Transport> make_mpi_transport() { return std::make_unique<MpiTransport>(); }

}  // namespace mpisweep::runtime
