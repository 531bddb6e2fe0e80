#pragma once
// SIGTERM, SIGINT and SIGUSR1 ask the sweep to stop: no new tasks, running ones may finish, the
// archive is flushed, exit code 4. A second signal cancels running tasks at once.
namespace mpisweep::runtime {

void install_stop_handlers();
int stop_signal();        // the first signal received, 0 if none
int stop_signal_count();  // how many were received

}  // namespace mpisweep::runtime
