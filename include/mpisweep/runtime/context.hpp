#pragma once
// Where the sweep's ranks live, and what they do together (arbor's distributed_context). Two
// implementations: MPI (one rank per process, mpi.cpp; the only code that includes <mpi.h>) and
// local (one process, the worker on a thread). The run command sees only this interface, so it
// has no "one rank or many" branches: run_ranks() is the one place that tells them apart.
#include <mpisweep/core/error.hpp>
#include <mpisweep/runtime/transport.hpp>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mpisweep::runtime {

class mpi_error : public error {
 public:
  using error::error;
};

// Rank 0 gave up on a start-up collective: the message names the ranks that did not answer.
// (The bounded barrier at the end of an MPI job handles its own inside the MPI context.)
class startup_timeout : public mpi_error {
 public:
  using mpi_error::mpi_error;
};

// What every rank needs to know before the sweep starts; rank 0 decides it.
struct SweepConfig {
  std::int32_t status = 0;  // 0: go; otherwise every rank returns this exit code at once
  std::string experiment;
  std::int32_t threads_per_worker = 0;  // 0: the cores each worker owns
  double task_timeout = 0;              // seconds; 0: none
  double heartbeat_seconds = 1;         // a worker's longest silence (liveness.hpp)
  // series_files = "per_rank": the folder of the block files, and the first block index this
  // run may use (archive/series_files.hpp); empty: series travel to the master.
  std::string series_folder;
  std::int64_t first_block = 0;
  std::int64_t block_elements = 0;
  // Per declared series, the archive's values chunk (elements): workers encode in it (issue 18).
  std::vector<std::int64_t> series_chunks;
};

class Context {
 public:
  virtual ~Context() = default;
  virtual int rank() const = 0;  // 0 is the master
  virtual int size() const = 0;  // processes, the master's included
  // Collective: every rank returns rank 0's `bytes`.
  virtual std::string broadcast(std::string bytes) = 0;
  // Collective: on rank 0, every rank's `mine` by rank; elsewhere empty.
  virtual std::vector<std::string> gather(const std::string& mine) = 0;
  // Collective: the largest `value` over all ranks.
  virtual int max(int value) = 0;
  // Collective: the threads a worker on this rank should use: the cores bound to it or, when
  // ranks are not bound, the node's cores shared among the worker ranks on the node.
  virtual int default_worker_threads() = 0;
  virtual std::string host() const = 0;
  // On rank 0, every rank's host (gather_hosts), so that later messages can name them.
  virtual void remember_hosts(std::vector<std::string> /*by_rank*/) {}
  // The point-to-point link of this process (master or worker side). With one process, the
  // master's end of an in-process pair whose other end `worker_transport()` returns.
  virtual std::unique_ptr<Transport> transport() = 0;
  virtual std::unique_ptr<Transport> worker_transport() { return nullptr; }
  // Ends every rank now with `code` (the master's answer to a fatal error).
  [[noreturn]] virtual void abort(int code) = 0;
  // A worker's end when the master ends the job with abort() (a rank was lost): wait for that
  // abort, never finalize, since finalizing waits for the lost rank.
  [[noreturn]] virtual void await_abort(int code) { std::_Exit(code); }
};

// MPI_Init_thread (FUNNELED: only the main thread calls MPI) now; MPI_Finalize when destroyed,
// unless an exception is unwinding, when the job is aborted so no rank waits on a dead peer.
std::unique_ptr<Context> make_mpi_context(int& argc, char**& argv);
// One process, no MPI (tests, and the building block of one-rank runs).
std::unique_ptr<Context> make_local_context();

// The start-up collectives below (and Context's) are bounded under MPI: rank 0 waits for each at
// most the liveness bound (MPISWEEP_LOST_AFTER) and then throws a startup_timeout naming the
// ranks that did not answer; the others wait for rank 0, which ends the job.

// Collective: every rank gets rank 0's `config`.
SweepConfig broadcast(Context& context, const SweepConfig& config);
// Collective: the distinct host names of all ranks, sorted and comma-separated, on rank 0.
std::string gather_hosts(Context& context);
// Collective: the largest `value` over the worker ranks (the master's, when it runs alone).
int max_over_workers(Context& context, int value);

// Runs `master(transport, worker ranks)` on rank 0 and `worker(transport)` on every other rank;
// with one process the worker runs on a thread of it, over in-process queues (worker rank 1),
// and is stopped with exit code 3 if the master throws. Returns this rank's exit code.
int run_ranks(Context& context,
              const std::function<int(Transport&, const std::vector<int>& workers)>& master,
              const std::function<int(Transport&)>& worker);

// The error guard around everything a rank does after MPI starts (arbor's with_mpi): runs `body`
// and returns its exit code; an exception is printed first, as one line ("mpisweep: ..." for bad
// input, exit 2; "mpisweep: error: ..." otherwise, exit 3; workers prefix their rank), and then,
// when other ranks exist, the whole job is aborted with that code so none waits on this one.
// The user always sees the message.
int guarded(Context& context, const std::function<int()>& body);

}  // namespace mpisweep::runtime
