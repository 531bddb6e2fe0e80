#pragma once
// How the master knows each worker still runs (issue 11): a worker's main thread, which never
// runs a task, sends a heartbeat whenever it has sent nothing else for `heartbeat_seconds`; a
// worker the master has not heard from for `lost_after_seconds` of its own attention is lost
// (SIGSTOP, a hung node or file system), and so is one whose task runs past --task-timeout plus
// --grace without answering the cancellation. Its tasks go to the others; the job then ends with
// exit 3 once the archive is complete, since an MPI job cannot go on without one of its ranks.
namespace mpisweep::runtime {

struct Liveness {
  double heartbeat_seconds = 1.0;
  double lost_after_seconds = 10.0;  // max(10 s, 4 heartbeats) unless set
};

// The defaults, or MPISWEEP_HEARTBEAT and MPISWEEP_LOST_AFTER (seconds) from rank 0's
// environment; a bad value is an input_error naming the variable. The bound is at least two
// heartbeats, so a worker is never lost between two of its heartbeats.
Liveness liveness_from_env();

}  // namespace mpisweep::runtime
