#!/usr/bin/env bash
# Short CPU-bound tasks (issue 15 part 2: "100 us tasks with 1 + 15 ranks >= 0.95 of bare 15, with
# 1 + 16 >= 0.90 of bare 16"), every number against a reference in the same run: bare ranks
# splitting the same work statically (bench_busy_workers) against `mpisweep run` with one more
# rank, the master, on noop tasks of the same CPU time; efficiency = bare wall / mpisweep wall,
# whole commands. On a machine with C cores the two cases are W = C - 1 (the master has a core of
# its own) and W = C (the master shares one); here, with 2 cores, 1 + 1 and 1 + 2.
# Each binary in MPISWEEP_BINS (default build/mpisweep) in turn, best of REPEAT (default 3).
# Usage: bench/short_tasks.sh [US [SECONDS [WORKERS...]]]  (defaults 100 2 C-1 C; repo root)
set -euo pipefail
cd "$(dirname "$0")/.."
us=${1:-100} work=${2:-2}
cores=$(nproc)
shift $(($# > 2 ? 2 : $#)) || true
workers=("$@")
((${#workers[@]})) || workers=($((cores > 1 ? cores - 1 : 1)) "$cores")
read -r -a bins <<<"${MPISWEEP_BINS:-build/mpisweep}"
repeat=${REPEAT:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
best() {  # the fastest of $repeat runs of "$@", in seconds
  local b=1e9 t0 t1
  for _ in $(seq "$repeat"); do
    rm -f "$tmp/s.h5"; t0=$(now)
    "$@" >/dev/null || { echo "bench/short_tasks.sh: failed: $*" >&2; exit 1; }
    t1=$(now)
    b=$(awk -v b="$b" -v a="$t0" -v c="$t1" 'BEGIN {d = c - a; print (d < b ? d : b)}')
  done
  echo "$b"
}
tasks=$(awk -v w="$work" -v us="$us" 'BEGIN {printf "%d", w * 1e6 / us}')
echo "## short tasks: $tasks tasks of $us us CPU ($work s of work), $cores cores"
printf "%-8s %-30s %9s %9s %11s\n" workers binary bare mpisweep efficiency
for w in "${workers[@]}"; do
  bare=$(best mpirun -n "$w" --oversubscribe build/bench/bench_busy_workers "$tasks" "$us")
  for bin in "${bins[@]}"; do
    ms=$(best mpirun -n $((w + 1)) --oversubscribe "$bin" run jobs/bench_noop.toml -q \
      --set sweep.seeds="$tasks" --set work_us="$us" --threads-per-worker 1 \
      --archive "$tmp/s.h5" --fresh)
    awk -v w="$w" -v bin="$bin" -v b="$bare" -v m="$ms" 'BEGIN {
      printf "1 + %-4d %-30s %8.2fs %8.2fs %11.3f\n", w, bin, b, m, b / m }'
  done
done
echo "(issue 15 targets on 16 cores: 1 + 15 >= 0.95, 1 + 16 >= 0.90 of bare)"
