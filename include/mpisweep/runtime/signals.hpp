#pragma once
// SIGTERM, SIGINT, SIGUSR1 and SIGHUP ask the sweep to stop: no new tasks, running ones may
// finish (--grace), the archive is flushed, exit code 4. A second signal cancels running tasks at
// once; so does a SIGTERM from the MPI launcher that started this rank (mpirun sends it on
// Ctrl-C, TERM or HUP and SIGKILLs the ranks about a second later).
namespace mpisweep::runtime {

void install_stop_handlers();
int stop_signal();        // the first signal received, 0 if none
int stop_signal_count();  // how many were received (the launcher's SIGTERM counts two)

}  // namespace mpisweep::runtime
