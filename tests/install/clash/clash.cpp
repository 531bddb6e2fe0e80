#include <mpisweep/mpisweep.hpp>

#include <cstdlib>

int main(int argc, char** argv) {
  mpisweep::Experiment e;
  const char* name = std::getenv("CLASH_NAME");
  e.name = name ? name : "noop";
  e.summary = "a kind whose name is taken";
  e.run = [](const mpisweep::Params&, const mpisweep::RunContext&) { return mpisweep::Result{}; };
  return mpisweep::main(argc, argv, {e});
}
