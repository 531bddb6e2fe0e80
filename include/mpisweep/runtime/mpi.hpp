#pragma once
// The only place the program talks MPI (style.md §2, §5).
#include <mpisweep/core/error.hpp>
#include <mpisweep/runtime/transport.hpp>

#include <memory>
#include <string>

namespace mpisweep::runtime {

class mpi_error : public error {
 public:
  using error::error;
};

// What every rank needs to know before the sweep starts; rank 0 decides it.
struct SweepConfig {
  std::int32_t status = 0;         // 0: go; otherwise every rank returns this exit code at once
  std::string experiment;
  std::int32_t threads_per_worker = 0;  // 0: the cores each worker owns
  double task_timeout = 0;         // seconds; 0: none
};

// MPI_Init_thread (FUNNELED: only the main thread calls MPI) on construction; MPI_Finalize on
// destruction, unless an exception is unwinding, in which case the job is aborted so no rank
// hangs waiting for a dead peer.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Every rank gets rank 0's `config`. Collective.
  SweepConfig broadcast(const SweepConfig& config) const;
  // This rank's host name.
  std::string host() const;
  // Collective: the distinct host names of all ranks, sorted and comma-separated, on rank 0
  // (empty elsewhere).
  std::string gather_hosts() const;
  // Collective: the largest `value` over the worker ranks (rank 0's, when it runs alone).
  int max_over_workers(int value) const;
  // The thread budget a worker on this rank should use: the cores bound to it, or, when ranks
  // are not bound, the node's cores shared among the worker ranks on the node. Collective.
  int default_worker_threads() const;
  [[noreturn]] void abort(int code) const;

 private:
  int rank_ = 0, size_ = 1;
  int uncaught_ = 0;
};

std::unique_ptr<Transport> make_mpi_transport();

}  // namespace mpisweep::runtime
