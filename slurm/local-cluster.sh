#!/bin/bash
# A single-node SLURM (munged, slurmctld, slurmd) on this machine, for trying job scripts on a
# workstation and for the tests in tests/slurm/. Run as root.
#
#   slurm/local-cluster.sh start     # prints the line to export: SLURM_CONF=<dir>/slurm.conf
#   export SLURM_CONF=/tmp/mpisweep-slurm-0/slurm.conf
#   sbatch slurm/sweep.sbatch jobs/demo.toml; squeue; sacct is not available (no database)
#   slurm/local-cluster.sh status
#   slurm/local-cluster.sh stop      # cancels this cluster's jobs, stops the three daemons
#
# Everything lives in one folder (config, munge key and socket, state, spool, logs, pid files):
# $LOCAL_SLURM_DIR, default /tmp/mpisweep-slurm-$UID. Nothing under /etc, /run or /var is touched,
# so a system munge or SLURM keeps running beside it. `stop` kills exactly the pids that `start`
# recorded (after checking each is still the process it started), never by name; the folder is
# kept for its logs (`stop --clean` removes it).
#
# Settings (environment): LOCAL_SLURM_DIR; LOCAL_SLURM_CTLD_PORT / LOCAL_SLURM_D_PORT (default
# 6817 / 6818); LOCAL_SLURM_CPUS (default nproc; more than nproc declares more task slots than
# cores, for oversubscribed tests); LOCAL_SLURM_KILLWAIT (seconds between SIGTERM and SIGKILL at a
# time limit, default 30).
# Debian 12 packages: slurm-wlm (slurmctld, slurmd, client commands) and munge.
set -euo pipefail

DIR=${LOCAL_SLURM_DIR:-/tmp/mpisweep-slurm-$(id -u)}
CTLD_PORT=${LOCAL_SLURM_CTLD_PORT:-6817}
D_PORT=${LOCAL_SLURM_D_PORT:-6818}
CPUS=${LOCAL_SLURM_CPUS:-$(nproc)}
KILLWAIT=${LOCAL_SLURM_KILLWAIT:-30}
# Credential lifetime; SLURM also holds a requeued job this long before it may start again
# (120 s by default on real clusters; short here so requeue tests are quick).
CRED_EXPIRE=${LOCAL_SLURM_CRED_EXPIRE:-10}
HOST=$(hostname -s)
CONF=$DIR/slurm.conf
PIDS=$DIR/pids          # "name pid" per line, in start order

STARTING=0
die() {
  echo "local-cluster: $*" >&2
  if ((STARTING)); then stop >&2 || true; fi   # a failed start leaves nothing running
  exit 1
}

port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# True when $2 is alive and still the daemon started with this folder ($1 = name in $PIDS).
ours() {
  local name=$1 pid=$2 cmd
  [[ -r /proc/$pid/cmdline ]] || return 1
  cmd=$(tr '\0' ' ' </proc/$pid/cmdline 2>/dev/null) || return 1
  [[ $cmd == *"$name"* && $cmd == *"$DIR"* ]]
}

running_pids() {  # prints "name pid" of recorded daemons that are still ours
  [[ -f $PIDS ]] || return 0
  local name pid
  while read -r name pid; do
    if ours "$name" "$pid"; then echo "$name $pid"; fi
  done <"$PIDS"
}

wait_for() {  # wait_for SECONDS COMMAND...: polls until COMMAND succeeds
  local limit=$1; shift
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < end)) || return 1
    sleep 0.2
  done
}

# Waits for a pid file to hold a pid that is ours, and records it.
record() {
  local name=$1 file=$2 pid=""
  for _ in $(seq 100); do
    if [[ -s $file ]]; then
      pid=$(tr -dc 0-9 <"$file")
      if [[ -n $pid ]] && ours "$name" "$pid"; then
        echo "$name $pid" >>"$PIDS"
        return 0
      fi
    fi
    sleep 0.1
  done
  die "$name did not start; see $DIR/log/$name.log"
}

# The config, from the template shared with tests/support/netns_slurm.py.
write_conf() {
  local mem conf
  mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.8 }' /proc/meminfo)
  local overrides=""
  ((CPUS > $(nproc))) && overrides="SlurmdParameters=config_overrides"
  conf=$(<"$(dirname "${BASH_SOURCE[0]}")/slurm.conf.in")
  conf=${conf//@WRITER@/"slurm/local-cluster.sh"}
  conf=${conf//@CLUSTER@/"mpisweep-local"}
  conf=${conf//@CTLD_HOST@/"$HOST"}
  conf=${conf//@CTLD_PORT@/"$CTLD_PORT"}
  conf=${conf//@D_PORT@/"$D_PORT"}
  conf=${conf//@CRED_EXPIRE@/"$CRED_EXPIRE"}
  conf=${conf//@SLURMD_SPOOL@/"$DIR/spool"}
  conf=${conf//@SLURMD_PID@/"$DIR/run/slurmd.pid"}
  conf=${conf//@SLURMD_LOG@/"$DIR/log/slurmd.log"}
  conf=${conf//@KILLWAIT@/"$KILLWAIT"}
  conf=${conf//@OVERRIDES@/"$overrides"}
  conf=${conf//@NODES@/"NodeName=$HOST CPUs=$CPUS RealMemory=$mem State=UNKNOWN"}
  conf=${conf//@DIR@/"$DIR"}
  printf '%s\n' "$conf" >"$CONF"
}

start() {
  [[ $(id -u) == 0 ]] || die "start needs root (slurmd runs jobs as any user)"
  for cmd in munged slurmctld slurmd sinfo; do
    command -v "$cmd" >/dev/null || die "$cmd not found: apt-get install slurm-wlm munge"
  done
  if [[ -n $(running_pids) ]]; then
    echo "local-cluster: already running in $DIR"
    echo "export SLURM_CONF=$CONF"
    return 0
  fi
  local port
  for port in "$CTLD_PORT" "$D_PORT"; do
    if port_busy "$port"; then
      die "port $port is in use (another SLURM?); set LOCAL_SLURM_CTLD_PORT / LOCAL_SLURM_D_PORT"
    fi
  done
  STARTING=1
  rm -rf "$DIR/state" "$DIR/spool" "$DIR/run" "$DIR/munge" "$PIDS"
  mkdir -p "$DIR"/{state,spool,run,log,munge}
  chmod 700 "$DIR" "$DIR/munge"
  : >"$PIDS"

  # munge: its own key, socket and pid file.
  dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$DIR/munge/munge.key"
  munged --force --socket="$DIR/munge/munge.socket" --key-file="$DIR/munge/munge.key" \
    --pid-file="$DIR/run/munged.pid" --seed-file="$DIR/munge/munged.seed" \
    --log-file="$DIR/log/munged.log"
  record munged "$DIR/run/munged.pid"

  write_conf
  export SLURM_CONF=$CONF
  slurmctld -c -f "$CONF"            # -c: start from a clean state
  record slurmctld "$DIR/run/slurmctld.pid"
  slurmd -f "$CONF"
  record slurmd "$DIR/run/slurmd.pid"

  node_idle() { [[ $(sinfo -h -n "$HOST" -o %T 2>/dev/null) == idle* ]]; }
  if ! wait_for 60 node_idle; then
    sinfo -N -l >&2 || true
    tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
    die "node $HOST did not become idle"
  fi
  STARTING=0
  echo "local-cluster: running in $DIR (node $HOST, $CPUS CPUs)"
  echo "export SLURM_CONF=$CONF"
}

stop() {
  local left name pid
  left=$(running_pids)
  if [[ -z $left ]]; then
    echo "local-cluster: not running ($DIR)"
  else
    export SLURM_CONF=$CONF
    # Jobs first, so their slurmstepd and processes end through SLURM.
    if grep -q '^slurmctld ' <<<"$left"; then
      scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
      wait_for 30 bash -c '[[ -z $(squeue -h 2>/dev/null) ]]' || true
    fi
    # Then the daemons, in reverse start order: TERM, then KILL what is left after 15 s.
    for name in slurmd slurmctld munged; do
      pid=$(awk -v n="$name" '$1 == n { print $2 }' <<<"$left")
      [[ -n $pid ]] || continue
      kill -TERM "$pid" 2>/dev/null || true
      if ! wait_for 15 bash -c "! kill -0 $pid"; then
        ours "$name" "$pid" && kill -KILL "$pid" 2>/dev/null || true
      fi
    done
    echo "local-cluster: stopped ($DIR)"
  fi
  rm -f "$PIDS"
  if [[ ${1:-} == --clean ]]; then rm -rf "$DIR"; fi
}

status() {
  local left
  left=$(running_pids)
  if [[ -z $left ]]; then
    echo "local-cluster: not running ($DIR)"
    return 3
  fi
  echo "local-cluster: running in $DIR"
  echo "$left" | sed 's/^/  /'
  SLURM_CONF=$CONF sinfo || true
  SLURM_CONF=$CONF squeue || true
  echo "export SLURM_CONF=$CONF"
}

case ${1:-} in
  start) start ;;
  stop) shift; stop "$@" ;;
  status) status ;;
  *) echo "usage: $0 start|stop [--clean]|status   (folder: \$LOCAL_SLURM_DIR, now $DIR)" >&2; exit 2 ;;
esac
