#include <mpisweep/runtime/signals.hpp>

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>

namespace mpisweep::runtime {

namespace {
std::atomic<int> first_signal{0};
std::atomic<int> signal_count{0};
// Set once, before the handlers are installed: this process is a rank that an MPI launcher
// started, so its parent is mpirun (or orted, or slurmstepd).
bool launched_by_mpi = false;

extern "C" void on_stop_signal(int sig, siginfo_t* info, void*) {
  int expected = 0;
  first_signal.compare_exchange_strong(expected, sig);
  // mpirun turns Ctrl-C, TERM and HUP into SIGTERM to every rank and SIGKILLs them about a
  // second later: no grace is left, so this counts as the second signal (cancel at once), and
  // the master flushes and records the stop in time.
  const bool from_launcher = sig == SIGTERM && launched_by_mpi && info && info->si_pid == getppid();
  signal_count.fetch_add(from_launcher ? 2 : 1);
}

bool under_mpi_launcher() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (const char* v = std::getenv(name); v && *v) return true;
  return false;
}
}  // namespace

void install_stop_handlers() {
  launched_by_mpi = under_mpi_launcher();
  struct sigaction sa {};
  sa.sa_sigaction = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART | SA_SIGINFO;
  for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGHUP}) sigaction(sig, &sa, nullptr);
}

int stop_signal() { return first_signal.load(); }
int stop_signal_count() { return signal_count.load(); }

}  // namespace mpisweep::runtime
