#!/usr/bin/env bash
# The command kind against GNU parallel and xargs -P: the same trivial program
# (build/bench/bench_command_task SEED, which prints a one-line result) run N times with the same
# number of concurrent tasks, in the same run. mpisweep archives every result (HDF5, flushed);
# parallel and xargs only write stdout to a file. Prints tasks/s and the ratios.
# Usage: bench/command/bench.sh [N]   (from the repository root, after scripts/build)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/mpienv
n=${1:-2000}
workers=2
prog=build/bench/bench_command_task
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
rate() { awk -v n="$n" -v a="$1" -v b="$2" 'BEGIN {printf "%.0f", n / (b - a)}'; }

t0=$(now); seq "$n" | parallel --will-cite -j "$workers" "$prog" {} >"$tmp/parallel.out"; t1=$(now)
r_parallel=$(rate "$t0" "$t1")
t0=$(now); seq "$n" | xargs -P "$workers" -n 1 "$prog" >"$tmp/xargs.out"; t1=$(now)
r_xargs=$(rate "$t0" "$t1")
t0=$(now)
mpirun -n $((workers + 1)) build/mpisweep run jobs/command_bench.toml --set sweep.seeds="$n" \
  --threads-per-worker 1 --archive "$tmp/command.h5" --fresh 2>"$tmp/mpisweep.log"
t1=$(now)
r_end=$(rate "$t0" "$t1")
# The master's own rate: first dispatch to last result, archive writes included.
r_master=$(grep -o '[0-9.e+]* tasks/s' "$tmp/mpisweep.log" | tail -1 | awk '{printf "%.0f", $1}')
done_count=$(build/mpisweep status "$tmp/command.h5" | grep -o '[0-9]*/[0-9]* done' | head -1)
check_parallel=$(wc -l <"$tmp/parallel.out")
check_xargs=$(wc -l <"$tmp/xargs.out")

echo "## command kind ($n tasks of a trivial program, $workers at a time)"
printf "%-56s %10s\n" "runner" "tasks/s"
row() { printf "%-56s %10s\n" "$1" "$2"; }
row "(a) GNU parallel -j $workers (stdout to a file: $check_parallel lines)" "$r_parallel"
row "(b) xargs -P $workers -n 1 (stdout to a file: $check_xargs lines)" "$r_xargs"
row "(c) mpisweep, $workers workers, archived ($done_count)" "$r_master"
row "(c') the same, end to end (MPI start-up included)" "$r_end"
awk -v a="$r_parallel" -v b="$r_xargs" -v c="$r_master" -v e="$r_end" 'BEGIN {
  printf "c/a = %.2f, end to end %.2f (target >= 1)   c/b = %.2f\n", c / a, e / a, c / b }'
