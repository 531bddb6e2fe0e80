#!/usr/bin/env bash
# Series ingestion, the real path (issue 18): `mpirun -n 3 mpisweep run` of noop tasks that each
# store a `payload` series of uniform random doubles (its declared storage: shuffle + deflate 1
# with the probe, encoded by the workers, copied in by the master), against two references
# measured in the same run into the same folder: dd of zeros with conv=fsync, and h5py appending
# the same number of arrays to one uncompressed chunked dataset in one process
# (bench/series/h5py_write.py). MB/s of float64 values; each best of 2 (once each for the 1 GB
# sweeps). Two rates for mpisweep:
#   whole   bytes / wall time of the whole command (mpirun's start-up, ~0.4 s, included) to fsync
#   master  bytes / time from the first task's end (its `started` + `wall_seconds` in the
#           archive: when its result left the worker) to the archive closed and fsynced: the
#           master's steady ingest rate, without the job's start-up
# Usage: bench/series/ingest.sh [--gb] [--base BIN] [MB] [DIR]
#   (default 200 MB a case, in a temporary folder; --gb: the 1 GB sweeps, 10,240 tasks of 100 KB
#   and 100 of 10 MB; --base BIN: also run that mpisweep binary, e.g. a build of main,
#   interleaved with this one in the same run, and print new/base ratios of both rates)
# Needs build/mpisweep (scripts/build), Open MPI's mpirun (scripts/mpienv) and python3-h5py.
set -euo pipefail
cd "$(dirname "$0")/../.."
mb=200 gb=0 base=
while [ $# -gt 0 ]; do
  case "$1" in
    --gb) gb=1; shift ;;
    --base) base=$(realpath "$2"); shift 2 ;;
    *) break ;;
  esac
done
if ((!gb)) && [ -n "${1:-}" ]; then mb=$1; shift; fi
tmp=$(mktemp -d -p "${1:-${TMPDIR:-/tmp}}")
trap 'rm -rf "$tmp"' EXIT
bin=$(realpath "${MPISWEEP_BIN:-build/mpisweep}")  # MPISWEEP_BIN: another build to measure
ranks=3
now() { date +%s.%N; }
secs() {
  local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'
}
rate() { awk -v mb="$1" -v s="$2" 'BEGIN {printf "%.0f", mb / s}'; }
best2() {  # the better of two runs by their first number (the whole line of it)
  local a b; a=$("$@"); ((gb)) && { echo "$a"; return; }
  b=$("$@"); awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " ");
    print (x[1] + 0 >= y[1] + 0 ? a : b)}'
}
dd_rate() {  # $1 MB (10^6 bytes)
  local count s; count=$(awk -v m="$1" 'BEGIN {printf "%d", m / 1.048576 + 0.5}')
  s=$(secs dd if=/dev/zero of="$tmp/dd.bin" bs=1M count="$count" conv=fsync status=none)
  rm -f "$tmp/dd.bin"; rate "$(awk -v c="$count" 'BEGIN {print c * 1.048576}')" "$s"
}
h5py_rate() { /usr/bin/python3 bench/series/h5py_write.py "$tmp" "$1" "$2" | awk '{print $NF}'; }
mpisweep_rate() {  # $1 values a task, $2 tasks, $3 MB, $4 binary: "whole master" MB/s
  local s end first
  s=$(secs sh -c "mpirun -n $ranks --oversubscribe $4 run jobs/bench_noop.toml -q \
    --set sweep.seeds=$2 --set payload=$1 --archive $tmp/series.h5 --fresh && sync $tmp/series.h5")
  end=$(now)
  first=$(/usr/bin/python3 -c "
import h5py, sys
with h5py.File(sys.argv[1], 'r') as f:
    t = f['tasks']
    print(repr(float((t['started'][:] + t['wall_seconds'][:]).min())))" "$tmp/series.h5")
  rm -f "$tmp/series.h5"
  echo "$(rate "$3" "$s") $(rate "$3" "$(awk -v a="$first" -v b="$end" 'BEGIN {print b - a}')")"
}

if [ -n "$base" ]; then
  printf "%-8s %7s %6s %6s %6s %6s %6s %6s %9s %10s\n" series tasks dd whole master \
    "b.whole" "b.mast" "whole/dd" "whole/base" "master/base"
else
  printf "%-8s %7s %6s %7s %6s %6s %9s %10s %9s\n" series tasks dd h5py whole master "h5py/dd" \
    "whole/dd" "master/dd"
fi
if ((gb)); then cases=("100KB 12800 10240" "10MB 1310720 100")
else
  # 1 KB series: a tenth of the bytes (per-task costs dominate; h5py needs ~3 s for 20 MB).
  cases=("1KB 128 $((mb * 100000 / 8 / 128))" "100KB 12800 $((mb * 1000000 / 8 / 12800))"
         "10MB 1310720 $((mb * 1000000 / 8 / 1310720))")
fi
for c in "${cases[@]}"; do
  read -r label values tasks <<<"$c"
  ((tasks > 0)) || tasks=1
  m=$(awk -v v="$values" -v t="$tasks" 'BEGIN {print v * t * 8 / 1e6}')
  r_dd=$(best2 dd_rate "$m")
  if [ -n "$base" ]; then
    # Interleaved, new then base, twice (once for --gb): the load is shared alike.
    if ((gb)); then
      r_new=$(mpisweep_rate "$values" "$tasks" "$m" "$bin")
      r_base=$(mpisweep_rate "$values" "$tasks" "$m" "$base")
    else
      n1=$(mpisweep_rate "$values" "$tasks" "$m" "$bin")
      b1=$(mpisweep_rate "$values" "$tasks" "$m" "$base")
      n2=$(mpisweep_rate "$values" "$tasks" "$m" "$bin")
      b2=$(mpisweep_rate "$values" "$tasks" "$m" "$base")
      pick() { awk -v a="$1" -v b="$2" 'BEGIN {split(a, x, " "); split(b, y, " ");
        print (x[1] + 0 >= y[1] + 0 ? a : b)}'; }
      r_new=$(pick "$n1" "$n2") r_base=$(pick "$b1" "$b2")
    fi
    awk -v l="$label" -v t="$tasks" -v dd="$r_dd" -v n="$r_new" -v b="$r_base" '
      BEGIN { split(n, x, " "); split(b, y, " ");
              printf "%-8s %7d %6.0f %6.0f %6.0f %6.0f %6.0f %8.2f %10.2f %11.2f\n",
              l, t, dd, x[1], x[2], y[1], y[2], x[1] / dd, x[1] / y[1], x[2] / y[2] }'
  else
    r_py=$(best2 h5py_rate "$values" "$tasks")
    r_ms=$(best2 mpisweep_rate "$values" "$tasks" "$m" "$bin")
    awk -v l="$label" -v t="$tasks" -v dd="$r_dd" -v py="$r_py" -v ms="$r_ms" '
      BEGIN { split(ms, x, " ");
              printf "%-8s %7d %6.0f %7.0f %6.0f %6.0f %9.2f %10.2f %9.2f\n",
              l, t, dd, py, x[1], x[2], py / dd, x[1] / dd, x[2] / dd }'
  fi
done
echo "(MB/s; whole: the whole command; master: first result to archive fsynced;"
echo " issue 18 target: mpisweep >= 0.5 x dd for 100 KB and 10 MB series)"
