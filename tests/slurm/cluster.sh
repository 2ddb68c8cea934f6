#!/bin/bash
# A one-node Slurm on localhost for the tests: munged, slurmctld and slurmd with
# their key, configuration, state, spool and logs in a fresh temporary folder.
#
#   cluster.sh start RECORD   start it; RECORD (a file) gets the folder's path
#   cluster.sh stop RECORD    cancel its jobs, stop the daemons it started (by pid),
#                             keep the logs beside RECORD (RECORD.logs/), remove the folder
#
# Clients reach it with SLURM_CONF=<folder>/etc/slurm.conf. Exit 77 (ctest's skip)
# when Slurm or munge is not installed. Ports: the first free pair from 6917/6918.
set -euo pipefail

readonly daemons=(munged slurmctld slurmd)
readonly clients=(sbatch squeue scontrol scancel sinfo srun)
readonly kill_wait=5  # s between Slurm's SIGTERM and SIGKILL (the sweep stops within an iteration)

die() { echo "cluster.sh: $*" >&2; exit 1; }

# A daemon's pid from its pid file, if that process is still that daemon.
live_pid() {  # dir name
  local file="$1/run/$2.pid" pid
  [ -f "$file" ] || return 1
  pid=$(<"$file")
  [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && echo "$pid"
}

wait_gone() {  # pid seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

# Steps of this cluster's jobs: slurmstepd processes writing its slurmd log.
own_stepds() {  # dir
  local p fd
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = slurmstepd ] || continue
    for fd in "$p/fd/"*; do
      if [ "$(readlink "$fd" 2>/dev/null)" = "$1/log/slurmd.log" ]; then echo "${p#/proc/}"; break; fi
    done
  done
}

tree_pids() {  # pid: it and all its descendants
  local child
  echo "$1"
  # shellcheck disable=SC2013  # space-separated pids
  for child in $(cat "/proc/$1"/task/*/children 2>/dev/null); do tree_pids "$child"; done
}

stop() {
  local record="$1" dir pid name i jobs
  [ -f "$record" ] || return 0
  dir=$(<"$record")
  [ -d "$dir" ] || { rm -f "$record"; return 0; }
  export SLURM_CONF="$dir/etc/slurm.conf"
  if live_pid "$dir" slurmctld >/dev/null; then
    # Cancel every job, then wait for Slurm to reap it (SIGTERM, KillWait, SIGKILL).
    mapfile -t jobs < <(squeue -h -o %A 2>/dev/null)
    [ ${#jobs[@]} -eq 0 ] || scancel --quiet "${jobs[@]}" || true
    for ((i = 0; i < (kill_wait + 10) * 5; i++)); do
      [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  # All at once: each takes a second or two to exit.
  local -A pids=()
  for name in "${daemons[@]}"; do
    if pid=$(live_pid "$dir" "$name"); then
      pids[$name]=$pid
      kill -TERM "$pid"
    fi
  done
  for name in "${!pids[@]}"; do
    pid=${pids[$name]}
    wait_gone "$pid" 10 || { echo "cluster.sh: $name (pid $pid) ignored SIGTERM; killing it" >&2; kill -KILL "$pid"; }
  done
  # Only if Slurm could not end its jobs: a step and its processes, all collected first.
  for pid in $(own_stepds "$dir"); do
    echo "cluster.sh: a job step outlived its cluster; killing slurmstepd pid $pid and its processes" >&2
    # shellcheck disable=SC2046  # a list of pids
    kill -KILL $(tree_pids "$pid") 2>/dev/null || true
  done
  rm -rf "$record.logs"
  cp -r "$dir/log" "$record.logs" 2>/dev/null || true
  rm -rf "$dir"
  rm -f "$record"
  echo "slurm test cluster stopped (logs: $record.logs)"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {  # dir host ctld_port slurmd_port
  local dir="$1" host="$2" cpus mem_mib
  # The node is this machine: its memory, and at least 64 CPUs, so that the scripts'
  # 8 CPUs per task stand and every job of the tests can run at once (task/none
  # binds nothing: here the CPU count is bookkeeping).
  cpus=$(nproc)
  ((cpus < 64)) && cpus=64
  mem_mib=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))
  cat >"$dir/etc/slurm.conf" <<EOF
ClusterName=pagequery-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$3
SlurmdPort=$4
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
PlugStackConfig=$dir/etc/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
GresTypes=gpu
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=$kill_wait
OverTimeLimit=0
MinJobAge=600
MailProg=/bin/true
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mib Gres=gpu:8 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  # Eight GPUs, so that the scripts' --gpus and --gpus-per-task stand. Slurm drops a
  # GPU without a device file: links to /dev/null (task/none fences no device).
  mkdir -p "$dir/dev"
  for i in {0..7}; do ln -s /dev/null "$dir/dev/gpu$i"; done
  echo "NodeName=$host Name=gpu File=$dir/dev/gpu[0-7]" >"$dir/etc/gres.conf"
  : >"$dir/etc/plugstack.conf"
}

start() {
  local record="$1" dir host port name
  for name in "${daemons[@]}" "${clients[@]}"; do
    if ! command -v "$name" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$name" ]; then
      echo "SKIP: $name is not installed (Debian: apt-get install slurm-wlm munge)"
      exit 77
    fi
  done
  PATH="$PATH:/usr/sbin"
  stop "$record"  # a cluster left by an interrupted run
  dir=$(mktemp -d "${TMPDIR:-/tmp}/pagequery-slurm.XXXXXX")
  echo "$dir" >"$record"
  mkdir -p "$dir"/{etc,munge,state,spool,run,log}
  chmod 755 "$dir" "$dir/munge"  # munged: its socket's folders must be searchable by all
  ((${#dir} < 80)) || fail_start "$record" "$dir: too long a path for munge's socket (set TMPDIR)"

  for ((port = 6917; port < 7017; port += 2)); do
    port_free "$port" && port_free $((port + 1)) && break
  done
  ((port < 7017)) || fail_start "$record" "no free port pair in 6917..7016 on 127.0.0.1"
  host=$(hostname -s)
  write_config "$dir" "$host" "$port" $((port + 1))
  export SLURM_CONF="$dir/etc/slurm.conf"

  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
  munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed" \
    </dev/null >>"$dir/log/munged.log" 2>&1 || fail_start "$record" "munged did not start"
  slurmctld -f "$SLURM_CONF" </dev/null >>"$dir/log/slurmctld.log" 2>&1 ||
    fail_start "$record" "slurmctld did not start"
  slurmd -f "$SLURM_CONF" -N "$host" </dev/null >>"$dir/log/slurmd.log" 2>&1 ||
    fail_start "$record" "slurmd did not start"

  local state="" deadline=$((SECONDS + 30))
  while [ "$state" != idle ]; do
    for name in "${daemons[@]}"; do  # (a pid file may come a moment after the fork)
      [ ! -f "$dir/run/$name.pid" ] || live_pid "$dir" "$name" >/dev/null || fail_start "$record" "$name exited"
    done
    ((SECONDS < deadline)) || fail_start "$record" "node $host is '${state:-unreachable}', not idle, after 30 s"
    sleep 0.2
    state=$(timeout 5 sinfo -h -n "$host" -o %T 2>/dev/null || true)
  done
  echo "slurm test cluster up: $dir, node $host idle, ports $port/$((port + 1))"
  sinfo -N -o "%N %c CPUs %m MiB %G %T"
}

fail_start() {  # record message
  local dir
  dir=$(<"$1")
  echo "cluster.sh: $2; log tails:" >&2
  tail -n 15 "$dir"/log/*.log >&2 || true
  stop "$1" >&2
  die "$2"
}

case "${1:-}:${2:-}" in
  start:?*) start "$(realpath -m "$2")" ;;
  stop:?*) PATH="$PATH:/usr/sbin"; stop "$(realpath -m "$2")" ;;
  *) echo "usage: cluster.sh start|stop RECORD" >&2; exit 2 ;;
esac
