#include <mpisweep/core/parallel.hpp>
#include <mpisweep/core/text.hpp>
#include <mpisweep/runtime/context.hpp>
#include <mpisweep/runtime/master.hpp>

#include "protocol.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <thread>

namespace mpisweep::runtime {

namespace {

class LocalContext final : public Context {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string broadcast(std::string bytes) override { return bytes; }
  std::vector<std::string> gather(const std::string& mine) override { return {mine}; }
  int max(int value) override { return value; }
  int default_worker_threads() override { return available_cores(); }
  std::string host() const override {
    char name[256] = {};
    gethostname(name, sizeof name - 1);
    return name;
  }
  std::unique_ptr<Transport> transport() override {
    throw internal_error("a local context has no transport of its own: use run_ranks");
  }
  [[noreturn]] void abort(int code) override { std::_Exit(code); }
};

}  // namespace

std::unique_ptr<Context> make_local_context() { return std::make_unique<LocalContext>(); }

SweepConfig broadcast(Context& context, const SweepConfig& config) {
  return unpack<SweepConfig>(context.broadcast(context.rank() == 0 ? pack(config) : ""));
}

std::string gather_hosts(Context& context) {
  const auto all = context.gather(context.host());
  context.remember_hosts(all);
  const std::set<std::string> distinct(all.begin(), all.end());
  return join({distinct.begin(), distinct.end()}, ",");
}

int max_over_workers(Context& context, int value) {
  // The master runs no task unless it is alone (then its worker thread uses `value` too).
  return context.max(context.rank() == 0 && context.size() > 1 ? 0 : value);
}

int run_ranks(Context& context,
              const std::function<int(Transport&, const std::vector<int>& workers)>& master,
              const std::function<int(Transport&)>& worker) {
  if (context.size() > 1) {
    auto transport = context.transport();
    if (context.rank() != 0) {
      const int code = worker(*transport);
      if (code < 0) context.await_abort(-code);  // the master's stop says it aborts the job
      return code;
    }
    std::vector<int> workers;
    for (int r = 1; r < context.size(); ++r) workers.push_back(r);
    return master(*transport, workers);
  }
  auto [master_end, worker_end] = make_local_pair();
  std::thread thread([&worker, w = worker_end.get()] { worker(*w); });
  int code = 0;
  try {
    code = master(*master_end, {1});
  } catch (...) {
    send_stop(*master_end, 1, 3);
    thread.join();
    throw;
  }
  thread.join();
  return code;
}

int guarded(Context& context, const std::function<int()>& body) {
  int code = 3;
  const std::string who =
      context.rank() == 0 ? "" : "rank " + std::to_string(context.rank()) + ": ";
  try {
    return body();
  } catch (const input_error& e) {
    std::fprintf(stderr, "mpisweep: %s%s\n", who.c_str(), e.what());
    code = 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpisweep: %serror: %s\n", who.c_str(), e.what());
  } catch (...) {
    std::fprintf(stderr, "mpisweep: %serror: unknown exception\n", who.c_str());
  }
  std::fflush(stderr);
  if (context.size() > 1) context.abort(code);
  return code;
}

}  // namespace mpisweep::runtime
