/* The trivial program of the command benchmark (bench/command/bench.sh): one task's worth of
 * nothing. It prints a result object for its seed, the same way under mpisweep, GNU parallel and
 * xargs, so the three differ only in how they start, wait for and collect it. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  const long seed = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
  printf("{\"metrics\": {\"value\": %ld.5}}\n", seed);
  return 0;
}
