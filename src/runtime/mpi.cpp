#include <mpisweep/core/parallel.hpp>
#include <mpisweep/core/rng.hpp>
#include <mpisweep/runtime/context.hpp>
#include <mpisweep/runtime/liveness.hpp>

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
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

// MPISWEEP_FREEZE_RANK=RANK[:N] (tests only): that rank stops itself (SIGSTOP) as it enters its
// N-th bounded collective (default the first: the start-up ones, then the end of the job), as a
// rank on a hung node would.
int freeze_point(int rank) {
  const char* text = std::getenv("MPISWEEP_FREEZE_RANK");
  if (!text || !*text) return 0;
  int who = -1, nth = 1;
  if (std::sscanf(text, "%d:%d", &who, &nth) < 1 || who != rank) return 0;
  return nth;
}

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
    try {
      bound_ = liveness_from_env().lost_after_seconds;
    } catch (const input_error&) {
      // Rank 0 reports the bad value (prepare() reads it again); the default bounds until then.
    }
    freeze_at_ = freeze_point(rank_);
  }
  ~MpiContext() override {
    // guarded() catches everything a rank throws, so this is the last resort only.
    if (std::uncaught_exceptions() > uncaught_) MPI_Abort(MPI_COMM_WORLD, 3);
    end_together();
    MPI_Finalize();
  }
  MpiContext(const MpiContext&) = delete;
  MpiContext& operator=(const MpiContext&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  std::string broadcast(std::string bytes) override {
    long long n = static_cast<long long>(bytes.size());
    MPI_Request r;
    enter("the sweep's broadcast");
    MPI_CHECK(MPI_Ibcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD, &r));
    wait(r);
    if (n > INT32_MAX) throw mpi_error("broadcast too large for one MPI call");
    bytes.resize(static_cast<std::size_t>(n));
    MPI_CHECK(MPI_Ibcast(bytes.data(), static_cast<int>(n), MPI_BYTE, 0, MPI_COMM_WORLD, &r));
    wait(r);
    return bytes;
  }

  std::vector<std::string> gather(const std::string& mine) override {
    int n = static_cast<int>(mine.size());
    std::vector<int> counts(rank_ == 0 ? std::size_t(size_) : 0), displs(counts.size());
    MPI_Request req;
    enter("the host names' gather");
    MPI_CHECK(MPI_Igather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD, &req));
    wait(req);
    std::string all;
    for (std::size_t r = 0; r < counts.size(); ++r) {
      displs[r] = static_cast<int>(all.size());
      all.resize(all.size() + std::size_t(counts[r]));
    }
    MPI_CHECK(MPI_Igatherv(mine.data(), n, MPI_CHAR, all.data(), counts.data(), displs.data(),
                           MPI_CHAR, 0, MPI_COMM_WORLD, &req));
    wait(req);
    std::vector<std::string> out;
    for (std::size_t r = 0; r < counts.size(); ++r)
      out.push_back(all.substr(std::size_t(displs[r]), std::size_t(counts[r])));
    return out;
  }

  int max(int value) override {
    int out = 0;
    MPI_Request r;
    enter("a maximum over the ranks");
    MPI_CHECK(MPI_Iallreduce(&value, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &r));
    wait(r);
    return out;
  }

  std::string host() const override {
    char name[MPI_MAX_PROCESSOR_NAME];
    int len = 0;
    MPI_CHECK(MPI_Get_processor_name(name, &len));
    return std::string(name, static_cast<std::size_t>(len));
  }

  int default_worker_threads() override {
    // The ranks on this node, by their host names' hashes gathered by every rank:
    // MPI_Comm_split_type has no non-blocking form, so it could not be bounded.
    const std::uint64_t mine = fnv1a64(host());
    std::vector<std::uint64_t> all(static_cast<std::size_t>(size_));
    MPI_Request r;
    enter("the count of ranks per node");
    MPI_CHECK(
        MPI_Iallgather(&mine, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD, &r));
    wait(r);
    const int local = static_cast<int>(std::count(all.begin(), all.end(), mine));
    const int master_here = all[0] == mine ? 1 : 0;
    const int cores = available_cores();
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (online > 0 && cores < online) return cores;  // bound by the launcher: use what we own
    // The master sleeps while it waits, so it takes no core of its own.
    const int workers_here = std::max(1, local - master_here);
    return std::max(1, cores / workers_here);
  }

  void remember_hosts(std::vector<std::string> by_rank) override { hosts_ = std::move(by_rank); }

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

  // MPI_Finalize here would wait for the lost rank inside PMIx's fence, and Open MPI 4.1.4's
  // mpirun, tearing down a job whose ranks sit in that fence, crashes or deadlocks in
  // PMIx_server_finalize in about 1 run of 13 (its progress thread blocks releasing a server
  // object that looks already freed; docs/design.md has the backtrace and the counts).
  // Outside MPI, a rank is just a process for mpirun to kill: with the stop signals at their
  // defaults its SIGTERM ends this rank at once. Should the master die first, the launcher ends
  // the job anyway; if it is gone (this process orphaned) the rank leaves on its own.
  [[noreturn]] void await_abort(int code) override {
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) std::signal(sig, SIG_DFL);
    std::fflush(nullptr);
    const pid_t launcher = getppid();
    while (getppid() == launcher) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::_Exit(code);
  }

 private:
  // Start-up is bounded (issue 11): each collective is non-blocking and rank 0 waits for it at
  // most the liveness bound (MPISWEEP_LOST_AFTER, 10 s), counted from when rank 0 joins it, so a
  // rank that is late because rank 0 was busy (preparing the archive) is never blamed. Then
  // rank 0 calls the roll: every rank waiting in a start-up collective answers, and the ones
  // that do not are named in a startup_timeout. Other ranks wait for rank 0 without bound: it
  // may take long to prepare, and it ends the job when it gives up.
  void enter(const char* what) {
    current_ = what;
    if (++collectives_ == freeze_at_) raise(SIGSTOP);
  }

  void wait(MPI_Request& request) {
    const auto start = std::chrono::steady_clock::now();
    for (int idle = 0;; idle = std::min(idle + 1, 6)) {
      int done = 0;
      MPI_CHECK(MPI_Test(&request, &done, MPI_STATUS_IGNORE));
      if (done) return;
      if (rank_ != 0) {
        answer_roll_call();
      } else if (std::chrono::steady_clock::now() - start > std::chrono::duration<double>(bound_)) {
        throw startup_timeout(silent_ranks_message());
      }
      std::this_thread::sleep_for(std::chrono::microseconds(20 << idle));
    }
  }

  void answer_roll_call() {
    int flag = 0;
    MPI_Status status;
    MPI_CHECK(MPI_Iprobe(0, roll_call_tag, MPI_COMM_WORLD, &flag, &status));
    if (!flag) return;
    MPI_CHECK(MPI_Recv(nullptr, 0, MPI_BYTE, 0, roll_call_tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    MPI_CHECK(MPI_Send(nullptr, 0, MPI_BYTE, 0, roll_call_tag, MPI_COMM_WORLD));
    // Rank 0 ends the job right after a roll call: wait for that outside MPI, as after a lost
    // worker (await_abort), rather than inside a collective that cannot complete.
    await_abort(3);
  }

  // MPI_Finalize waits for every rank without bound: a worker frozen after its last result, as
  // the master finishes the sweep, would hang the job with the archive complete. So the ranks
  // first meet in a bounded barrier; rank 0 names the ranks that never come and ends the job
  // with 3 (the archive's /runs row keeps how the sweep itself ended).
  void end_together() noexcept {
    if (size_ == 1) return;
    try {
      phase_ = "at the end of the job";
      MPI_Request r;
      enter("the archive is closed");
      MPI_CHECK(MPI_Ibarrier(MPI_COMM_WORLD, &r));
      wait(r);
    } catch (const startup_timeout& e) {
      std::fprintf(stderr, "mpisweep: %s\n", e.what());
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, 3);
    } catch (const std::exception&) {
      // MPI_Finalize reports what is wrong with MPI itself.
    }
  }

  // Asks every rank to answer within a few seconds; the job is ended right after, so the
  // requests to silent ranks are left to MPI_Abort.
  std::string silent_ranks_message() {
    std::vector<MPI_Request> asks(static_cast<std::size_t>(size_), MPI_REQUEST_NULL);
    for (int r = 1; r < size_; ++r)
      MPI_CHECK(
          MPI_Isend(nullptr, 0, MPI_BYTE, r, roll_call_tag, MPI_COMM_WORLD, &asks[std::size_t(r)]));
    std::vector<char> answered(static_cast<std::size_t>(size_), 0);
    answered[0] = 1;
    int missing = size_ - 1;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (missing > 0 && std::chrono::steady_clock::now() < until) {
      int flag = 0;
      MPI_Status status;
      MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, roll_call_tag, MPI_COMM_WORLD, &flag, &status));
      if (!flag) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      MPI_CHECK(MPI_Recv(nullptr, 0, MPI_BYTE, status.MPI_SOURCE, roll_call_tag, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE));
      if (!answered[std::size_t(status.MPI_SOURCE)]) --missing;
      answered[std::size_t(status.MPI_SOURCE)] = 1;
    }
    std::string who;
    int named = 0;
    for (int r = 1; r < size_; ++r) {
      if (answered[std::size_t(r)]) continue;
      if (++named > 8) continue;
      who += (who.empty() ? "" : ", ") + std::to_string(r);
      if (std::size_t(r) < hosts_.size()) who += " on " + hosts_[std::size_t(r)];
    }
    if (named > 8) who += " and " + std::to_string(named - 8) + " more";
    char bound[32];
    std::snprintf(bound, sizeof bound, "%g", bound_);
    if (named == 0)
      return std::string("a collective ") + phase_ + " (" + current_ + ") did not finish within " +
             bound + " s, though every rank answers; ending the job with exit 3";
    return std::string(named == 1 ? "rank " : "ranks ") + who + " did not answer within " + bound +
           " s " + phase_ + " (" + current_ + "); ending the job with exit 3";
  }

  static constexpr int roll_call_tag = 1000;  // outside the Tag values of the transport
  int rank_ = 0, size_ = 1;
  int uncaught_ = 0;
  double bound_ = Liveness{}.lost_after_seconds;
  int collectives_ = 0, freeze_at_ = 0;
  const char* current_ = "";
  const char* phase_ = "at start-up";
  std::vector<std::string> hosts_;  // by rank, once known
};

}  // namespace

std::unique_ptr<Context> make_mpi_context(int& argc, char**& argv) {
  return std::make_unique<MpiContext>(argc, argv);
}

}  // namespace mpisweep::runtime
