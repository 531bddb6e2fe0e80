// Reference (a) of scripts/bench: the bare MPI master/worker pattern, one message per task each
// way, master blocking in MPI_Recv(ANY_SOURCE). No archive, no batching: the floor any sweep
// runner pays per task if it sends tasks one by one.
//   mpirun -n 3 bench_pingpong TASKS     prints "pingpong tasks_per_s <rate>"
#include <mpi.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const long tasks = argc > 1 ? std::atol(argv[1]) : 100000;
  constexpr int task_tag = 1, stop_tag = 2;
  if (rank == 0) {
    const double t0 = MPI_Wtime();
    long sent = 0, received = 0;
    for (int w = 1; w < size && sent < tasks; ++w, ++sent)
      MPI_Send(&sent, 1, MPI_LONG, w, task_tag, MPI_COMM_WORLD);
    while (received < sent) {
      double result;
      MPI_Status st;
      MPI_Recv(&result, 1, MPI_DOUBLE, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
      ++received;
      if (sent < tasks) {
        MPI_Send(&sent, 1, MPI_LONG, st.MPI_SOURCE, task_tag, MPI_COMM_WORLD);
        ++sent;
      }
    }
    const double elapsed = MPI_Wtime() - t0;
    for (int w = 1; w < size; ++w) MPI_Send(&sent, 1, MPI_LONG, w, stop_tag, MPI_COMM_WORLD);
    std::printf("pingpong tasks_per_s %.1f\n", double(tasks) / elapsed);
  } else {
    for (;;) {
      long task;
      MPI_Status st;
      MPI_Recv(&task, 1, MPI_LONG, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
      if (st.MPI_TAG == stop_tag) break;
      // The same "work" as a noop task: one uniform draw from the task's seed.
      std::uint64_t x = static_cast<std::uint64_t>(task) * 0x9e3779b97f4a7c15ULL;
      x ^= x >> 31;
      const double result = double(x >> 11) * 0x1.0p-53;
      MPI_Send(&result, 1, MPI_DOUBLE, 0, task_tag, MPI_COMM_WORLD);
    }
  }
  MPI_Finalize();
}
