#include <mpisweep/mpisweep.hpp>

// The stock binary: the built-in kinds only. A user's own binary passes its kinds instead.
int main(int argc, char** argv) { return mpisweep::main(argc, argv, {}); }
