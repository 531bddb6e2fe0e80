#!/usr/bin/env bash
# The master's per-task cost (issue 15 part 2), every number against references in the same run:
#   throughput  whole commands on N no-op tasks (MPI start-up, sweep expansion, archive creation
#               and close included) against bare MPI ping-pong (bench_pingpong, one message per
#               task each way) at each rank count; ratio = ping-pong wall / mpisweep wall (>= 1:
#               mpisweep is faster). Also rank 0's CPU seconds per task (user + sys) and the
#               archive's size (what the /tasks filters cost or save: bench/column_filters).
#   memory      the master's peak RSS at M/10 and M tasks: bytes per task from the difference,
#               and the 10,000,000-task RSS that follows (issue 15 target: < 2 GiB).
# Each binary in MPISWEEP_BINS (default build/mpisweep) is measured in turn, ping-pong before
# each, so a before/after comparison shares one run of the machine.
# Usage: bench/master.sh [N [M [RANKS...]]]   (defaults 1000000 2000000 3 5; from the repo root)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/mpienv
n=${1:-1000000}
m=${2:-2000000}
shift $(($# < 2 ? $# : 2))
ranks=("${@:-3}")
[ $# -eq 0 ] && ranks=(3 5)
read -r -a bins <<<"${MPISWEEP_BINS:-build/mpisweep}"
cores=$(nproc)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b - a}'; }
# Rank 0's line of /usr/bin/time (the master: the only rank that holds every task).
rank0() { awk -v k="$1" '$1 == k {print $2; exit}' "$2"; }

echo "## master throughput: $n no-op tasks, whole commands ($cores cores)"
printf "%-6s %-28s %10s %10s %8s %14s %10s\n" ranks binary pingpong mpisweep ratio \
  "master CPU/task" archive
for r in "${ranks[@]}"; do
  note=""
  ((r > cores)) && note=" (oversubscribed: $r ranks on $cores cores)"
  for bin in "${bins[@]}"; do
    t0=$(now); mpirun -n "$r" build/bench/bench_pingpong "$n" >/dev/null; t1=$(now)
    pp=$(elapsed "$t0" "$t1")
    rm -f "$tmp/t.h5"
    t0=$(now)
    mpirun -n "$r" bash -c 'if [ "$OMPI_COMM_WORLD_RANK" = 0 ]; then
        exec /usr/bin/time -f "cpu %U %S" -o "$0.time" "$@"; else exec "$@"; fi' "$tmp/t" \
      "$bin" run jobs/bench_noop.toml -q --set sweep.seeds="$n" --archive "$tmp/t.h5" --fresh
    t1=$(now)
    ms=$(elapsed "$t0" "$t1")
    cpu=$(awk '$1 == "cpu" {printf "%.2f", 1e6 * ($2 + $3) / '"$n"'}' "$tmp/t.time")
    mb=$(awk -v s="$(stat -c %s "$tmp/t.h5")" 'BEGIN {printf "%.1f", s / 1e6}')
    printf "%-6s %-28s %9ss %9ss %8.2f %11s us %7s MB%s\n" "$r" "$bin" "$pp" "$ms" \
      "$(awk -v a="$pp" -v b="$ms" 'BEGIN {print a / b}')" "$cpu" "$mb" "$note"
  done
done
echo "(issue 15 target: ratio >= 1.0 at 3, 9 and 17 ranks on a machine with a core per rank)"

echo
echo "## master memory: peak RSS of rank 0"
printf "%-28s %12s %12s %10s %16s\n" binary "$((m / 10)) tasks" "$m tasks" bytes/task \
  "10M tasks (est.)"
for bin in "${bins[@]}"; do
  for k in $((m / 10)) "$m"; do
    rm -f "$tmp/m.h5"
    mpirun -n 3 bash -c 'if [ "$OMPI_COMM_WORLD_RANK" = 0 ]; then
        exec /usr/bin/time -f "rss %M" -o "$0.$1.time" "${@:2}"; else exec "${@:2}"; fi' \
      "$tmp/m" "$k" "$bin" run jobs/bench_noop.toml -q --set sweep.seeds="$k" \
      --archive "$tmp/m.h5" --fresh
  done
  small=$(rank0 rss "$tmp/m.$((m / 10)).time")
  big=$(rank0 rss "$tmp/m.$m.time")
  awk -v b="$bin" -v s="$small" -v g="$big" -v k="$m" 'BEGIN {
    per = (g - s) * 1024 / (k - k / 10)
    printf "%-28s %9.0f MiB %9.0f MiB %10.0f %12.0f MiB\n", b, s / 1024, g / 1024, per,
      (g * 1024 + per * (1e7 - k)) / 1048576 }'
done
echo "(issue 15 target: < 2048 MiB at 10,000,000 tasks)"
