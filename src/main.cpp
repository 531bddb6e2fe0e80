#include <mpisweep/cli/commands.hpp>

int main(int argc, char** argv) { return mpisweep::cli::main(argc, argv); }
