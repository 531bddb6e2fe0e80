#!/usr/bin/env bash
# Longest expected first in a real run: a skewed noop sweep (9 points of 50 ms and one of 1 s of
# CPU work; seed-major index order puts the 1 s task last in every round of seeds) run in index
# order, with the cost hint (cost = "work_us") and with measured costs, 1 master + 2 workers.
# Prints each run's whole-command wall, the span from the first start to the last end, and the
# tail (span minus total work / workers: 0 is a perfect split), then the scheduler model on the
# index run's measured durations, in index order and longest first (bench/simulate --lef).
# Usage: bench/longest_first.sh [SEEDS]   (default 4; from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/mpienv
seeds=${1:-4}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
# Ten points (work_us zipped with payload so the nine 50 ms points are distinct).
spec() {
  cat <<EOF
[sweep]
name = "skewed"
experiment = "noop"
seeds = $seeds
$1
[zip]
work_us = [50000, 50000, 50000, 50000, 50000, 50000, 50000, 50000, 50000, 1000000]
payload = [0, 1, 2, 3, 4, 5, 6, 7, 8, 0]
EOF
}

printf "%-10s %8s %8s %8s\n" order wall span tail
for order in index hint measured; do
  case $order in
    index) extra="" ;;
    hint) extra=$'order = "longest_first"\ncost = "work_us"' ;;
    measured) extra='order = "longest_first"' ;;
  esac
  spec "$extra" >"$tmp/$order.toml"
  t0=$(now)
  mpirun -n 3 build/mpisweep run "$tmp/$order.toml" -q --threads-per-worker 1 \
    --archive "$tmp/$order.h5" --fresh
  t1=$(now)
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
  /usr/bin/python3 - "$tmp/$order.h5" "$order" "$wall" <<'EOF'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    t = f["tasks"]
    start, wall = t["started"][:], t["wall_seconds"][:]
span = (start + wall).max() - start.min()
print("%-10s %7.2fs %7.2fs %7.2fs" % (sys.argv[2], float(sys.argv[3]), span, span - wall.sum() / 2))
EOF
done
echo "model on the index run's durations (2 workers):"
build/bench/bench_simulate --workers 2 --archive "$tmp/index.h5" | sed 's/^/  index: /'
build/bench/bench_simulate --workers 2 --archive "$tmp/index.h5" --lef |
  sed 's/^/  longest first: /'
