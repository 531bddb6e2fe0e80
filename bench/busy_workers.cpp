// Reference for "the master must not burn a core": W bare MPI ranks, no master, split TASKS noop
// tasks of WORK_US busy CPU each statically between them and run them with the very same noop
// experiment code mpisweep runs.
//   mpirun -n 2 bench_busy_workers TASKS WORK_US    prints "busy_workers seconds <wall>"
#include <mpisweep/experiments/registry.hpp>

#include <mpi.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const long tasks = argc > 1 ? std::atol(argv[1]) : 40;
  const long work_us = argc > 2 ? std::atol(argv[2]) : 100000;
  const auto& noop = mpisweep::find_experiment("noop");
  mpisweep::Params given;
  given.set("work_us", std::int64_t{work_us});
  const auto params = mpisweep::resolve_experiment_params(noop, given);
  MPI_Barrier(MPI_COMM_WORLD);
  const double t0 = MPI_Wtime();
  for (long i = rank; i < tasks; i += size) {
    mpisweep::RunContext ctx;
    ctx.seed = static_cast<std::uint64_t>(i);
    noop.run(params, ctx);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) std::printf("busy_workers seconds %.3f\n", MPI_Wtime() - t0);
  MPI_Finalize();
}
