#include <mpisweep/runtime/signals.hpp>

#include <atomic>
#include <csignal>

namespace mpisweep::runtime {

namespace {
std::atomic<int> first_signal{0};
std::atomic<int> signal_count{0};

extern "C" void on_stop_signal(int sig) {
  int expected = 0;
  first_signal.compare_exchange_strong(expected, sig);
  signal_count.fetch_add(1);
}
}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaction(sig, &sa, nullptr);
}

int stop_signal() { return first_signal.load(); }
int stop_signal_count() { return signal_count.load(); }

}  // namespace mpisweep::runtime
