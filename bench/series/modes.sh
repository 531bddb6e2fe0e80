#!/usr/bin/env bash
# Series ingestion in both modes of issue 18 (docs/performance.md "Per-rank series files"): the
# same `mpirun -n RANKS mpisweep run` of noop tasks storing a `payload` series of uniform random
# doubles, once with the master writing every value into the archive (series_files = "archive",
# the default) and once with each worker writing its own block file (series_files = "per_rank"),
# interleaved A/B/A/B... in one run into one folder. Prints MB/s of float64 values per second of
# wall time (start to `sync`) for each mode, best of REPEATS, and the ratio per_rank / archive;
# then rank 0's CPU seconds (user + system, /usr/bin/time around rank 0 only) per GB of values,
# the median over the repeats: the per-byte work left on the master, which the load on a shared
# machine changes far less than wall time.
# Usage: bench/series/modes.sh [MB] [REPEATS] [RANKS] [DIR]   (default 200 MB a case, 3, 3)
# Needs build/mpisweep and Open MPI's mpirun.
set -euo pipefail
cd "$(dirname "$0")/../.."
mb=${1:-200} repeats=${2:-3} ranks=${3:-3}
tmp=$(mktemp -d -p "${4:-${TMPDIR:-/tmp}}")
trap 'rm -rf "$tmp"' EXIT
bin=build/mpisweep
now() { date +%s.%N; }
run_mode() {  # $1 mode, $2 values a task, $3 tasks, $4 MB: prints "MB/s rank-0-CPU-s/GB"
  local t0 t1
  rm -rf "$tmp"/series.h5* "$tmp/rank0.time"
  t0=$(now)
  # shellcheck disable=SC2016
  mpirun -n "$ranks" --oversubscribe sh -c '
    if [ "$OMPI_COMM_WORLD_RANK" = 0 ]; then exec /usr/bin/time -f "%U %S" -o "$0/rank0.time" "$@"
    else exec "$@"; fi' "$tmp" $bin run jobs/bench_noop.toml -q --fresh \
    --set sweep.seeds="$3" --set payload="$2" --set sweep.series_files="$1" \
    --archive "$tmp/series.h5" >/dev/null
  sync "$tmp"/series.h5*
  t1=$(now)
  awk -v mb="$4" -v a="$t0" -v b="$t1" -v f="$tmp/rank0.time" \
    'BEGIN {getline line < f; split(line, c, " ");
            printf "%.1f %.2f", mb / (b - a), (c[1] + c[2]) / (mb / 1000)}'
}
median() { tr ' ' '\n' | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
printf "%-7s %6s %9s %9s %8s %12s %12s   %s\n" series tasks archive per_rank ratio \
  "rank0 s/GB a" "rank0 s/GB p" "each run (MB/s)"
for c in "100KB 12800" "10MB 1310720"; do
  read -r label values <<<"$c"
  tasks=$(awk -v m="$mb" -v v="$values" 'BEGIN {t = int(m * 1e6 / 8 / v); print t < 1 ? 1 : t}')
  m=$(awk -v v="$values" -v t="$tasks" 'BEGIN {print v * t * 8 / 1e6}')
  a_best=0 p_best=0 all="" a_cpu="" p_cpu=""
  for ((r = 0; r < repeats; ++r)); do
    read -r a ac <<<"$(run_mode archive "$values" "$tasks" "$m")"
    read -r p pc <<<"$(run_mode per_rank "$values" "$tasks" "$m")"
    all="$all $a/$p" a_cpu="$a_cpu $ac" p_cpu="$p_cpu $pc"
    a_best=$(awk -v x="$a" -v y="$a_best" 'BEGIN {print (x > y ? x : y)}')
    p_best=$(awk -v x="$p" -v y="$p_best" 'BEGIN {print (x > y ? x : y)}')
  done
  ac=$(echo $a_cpu | median) pc=$(echo $p_cpu | median)
  awk -v l="$label" -v t="$tasks" -v a="$a_best" -v p="$p_best" -v all="$all" -v ac="$ac" \
    -v pc="$pc" 'BEGIN {printf "%-7s %6d %9.0f %9.0f %8.2f %12.2f %12.2f  %s\n",
                         l, t, a, p, p / a, ac, pc, all}'
done
echo "(load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores)"
