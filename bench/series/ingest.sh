#!/usr/bin/env bash
# Series ingestion, the real path (issue 18): `mpirun -n 3 mpisweep run` of noop tasks that each
# store a `payload` series of uniform random doubles (its declared storage: shuffle + deflate 1
# with the probe, encoded by the workers, copied in by the master), against two references
# measured in the same run into the same folder: dd of zeros with conv=fsync, and h5py appending
# the same number of arrays to one uncompressed chunked dataset in one process
# (bench/series/h5py_write.py). MB/s of float64 values per second of wall time, file creation to
# fsync; each best of 2 (once each for the 1 GB sweeps).
# Usage: bench/series/ingest.sh [MB] [DIR]   (default 200 MB a case, in a temporary folder)
#        bench/series/ingest.sh --gb [DIR]   the 1 GB sweeps: 10,240 tasks of 100 KB, 100 of 10 MB
# Needs build/mpisweep (scripts/build) and Open MPI's mpirun (scripts/mpienv).
set -euo pipefail
cd "$(dirname "$0")/../.."
mb=200 gb=0
if [ "${1:-}" = "--gb" ]; then gb=1; shift; elif [ -n "${1:-}" ]; then mb=$1; shift; fi
tmp=$(mktemp -d -p "${1:-${TMPDIR:-/tmp}}")
trap 'rm -rf "$tmp"' EXIT
bin=build/mpisweep
ranks=3
now() { date +%s.%N; }
secs() {
  local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'
}
rate() { awk -v mb="$1" -v s="$2" 'BEGIN {printf "%.0f", mb / s}'; }
best2() {
  local a b; a=$("$@"); ((gb)) && { echo "$a"; return; }
  b=$("$@"); awk -v a="$a" -v b="$b" 'BEGIN {print (a > b ? a : b)}'
}
dd_rate() {  # $1 MB (10^6 bytes)
  local count s; count=$(awk -v m="$1" 'BEGIN {printf "%d", m / 1.048576 + 0.5}')
  s=$(secs dd if=/dev/zero of="$tmp/dd.bin" bs=1M count="$count" conv=fsync status=none)
  rm -f "$tmp/dd.bin"; rate "$(awk -v c="$count" 'BEGIN {print c * 1.048576}')" "$s"
}
h5py_rate() { /usr/bin/python3 bench/series/h5py_write.py "$tmp" "$1" "$2" | awk '{print $NF}'; }
mpisweep_rate() {  # $1 values a task, $2 tasks, $3 MB
  local s
  s=$(secs sh -c "mpirun -n $ranks --oversubscribe $bin run jobs/bench_noop.toml -q \
    --set sweep.seeds=$2 --set payload=$1 --archive $tmp/series.h5 --fresh && sync $tmp/series.h5")
  rm -f "$tmp/series.h5"
  rate "$3" "$s"
}

printf "%-8s %7s %6s %7s %6s %9s %11s\n" series tasks dd h5py mpisweep "h5py/dd" "mpisweep/dd"
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
  r_py=$(best2 h5py_rate "$values" "$tasks")
  r_ms=$(best2 mpisweep_rate "$values" "$tasks" "$m")
  awk -v l="$label" -v t="$tasks" -v dd="$r_dd" -v py="$r_py" -v ms="$r_ms" '
    BEGIN { printf "%-8s %7d %6.0f %7.0f %6.0f %9.2f %11.2f\n",
            l, t, dd, py, ms, py / dd, ms / dd }'
done
echo "(issue 18 target: mpisweep >= 0.5 x dd for 100 KB and 10 MB series)"
