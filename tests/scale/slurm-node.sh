#!/usr/bin/env bash
# A Slurm cluster of one node, for as long as one command runs:
#
#   tests/scale/slurm-node.sh COMMAND [ARG...]
#
# starts munged, slurmctld and slurmd from a temporary folder (a slurm.conf
# of its own with a cluster name of its own, free ports, its state, spool,
# logs and munge key and socket all in that folder), waits until sinfo shows
# the node idle, runs COMMAND with SLURM_CONF pointing at that slurm.conf (so
# sbatch, squeue and scontrol talk to this cluster), then cancels what is
# left of its jobs, stops the daemons and removes the folder. Nothing of the
# machine's own Slurm or munge (/etc/slurm, /etc/munge, /run/munge) is used
# or touched, and no systemd is needed.
#
# Exits with COMMAND's status; 77 (skipped) when the cluster cannot start
# here, saying why: not root (slurmd starts jobs as their users), a program
# missing (scripts/install-deps.sh installs slurm-wlm and munge), or a daemon
# that did not come up (its log is printed). FB_REQUIRE_SLURM=1 makes those
# failures (exit 1), for a machine where Slurm must run.
#
# Jobs run as root, tracked by their process tree (proctrack/linuxproc) with
# no cgroup and no task plugin, so a container without cgroup access will do.
set -uo pipefail

[ $# -gt 0 ] || {
	echo "usage: $0 COMMAND [ARG...]" >&2
	exit 2
}

skip() {
	echo "slurm-node: cannot start a single-node Slurm here: $*"
	if [ "${FB_REQUIRE_SLURM:-0}" = 1 ]; then
		echo "slurm-node: FB_REQUIRE_SLURM=1: failing instead of skipping"
		exit 1
	fi
	echo "slurm-node: skipped"
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "not root (slurmd runs each job as its user, so it needs root)"
for p in munged munge unmunge slurmctld slurmd sinfo squeue scancel scontrol sbatch; do
	command -v "$p" >/dev/null || skip "$p is not installed (scripts/install-deps.sh installs slurm-wlm and munge)"
done

# Every ancestor of munged's socket must be searchable by all (munged checks):
# the folder is 0755, the key and the state inside it are not.
dir=$(mktemp -d "${TMPDIR:-/tmp}/slurm-node.XXXXXX") || skip "mktemp failed"
chmod 755 "$dir"
mkdir -m 700 "$dir/munge" "$dir/state" "$dir/spool"
mkdir -m 755 "$dir/log"
conf=$dir/slurm.conf
# Nothing of another Slurm: a job this script runs in leaves SLURM_* and
# SBATCH_* variables that the daemons, sbatch and the jobs would read.
for v in $(compgen -v | grep -E '^(SLURM|SBATCH|SALLOC|SRUN|SQUEUE|SINFO)_'); do
	unset "$v"
done
export SLURM_CONF=$conf

munged_pid=
ctld_pid=
slurmd_pid=

# Stops a daemon: TERM, then KILL after 10 s.
stop() {
	local pid=$1 i=0
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -eq 100 ] && kill -KILL "$pid" 2>/dev/null
		sleep 0.1
	done
	wait "$pid" 2>/dev/null
	return 0
}

# shellcheck disable=SC2317 # called from the trap
# Processes this cluster started that outlived the daemons: slurmstepd and
# job processes carry the folder in their environment (the daemons' marker,
# or the SLURM_CONF a job was submitted with).
leftovers() {
	# The list is made before grep starts, so that grep itself (which has
	# SLURM_CONF) is not in it; grep -z: environment entries end in NUL.
	local files=(/proc/[0-9]*/environ) f pid
	for f in $(grep -lsxzF -e "FB_SLURM_NODE=$dir" -e "SLURM_CONF=$conf" "${files[@]}"); do
		pid=${f#/proc/}
		pid=${pid%/environ}
		[ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] || echo "$pid"
	done
	return 0
}

# shellcheck disable=SC2317 # the trap's
teardown() {
	local i=0 pids
	trap - EXIT INT TERM
	if [ -n "$ctld_pid" ] && kill -0 "$ctld_pid" 2>/dev/null; then
		# Cancel the jobs first, so that slurmd still ends their steps.
		scancel --quiet --user=root >/dev/null 2>&1
		while [ -n "$(squeue -h -o %i 2>/dev/null)" ] && [ "$i" -lt 50 ]; do
			i=$((i + 1))
			sleep 0.1
		done
	fi
	stop "$slurmd_pid"
	stop "$ctld_pid"
	stop "$munged_pid"
	pids=$(leftovers)
	if [ -n "$pids" ]; then
		echo "slurm-node: stopping what outlived the daemons: $pids"
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null
	fi
	rm -rf "$dir"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A port no socket of this machine is bound to (from /proc, which every
# Linux has; a race with another program is caught below: bind fails and the
# start is tried again on other ports).
used_ports() {
	local f a
	for f in /proc/net/tcp /proc/net/tcp6; do
		[ -r "$f" ] || continue
		# local_address is ADDR:PORT in hex.
		while read -r _ a _; do
			[ "$a" = local_address ] || echo $((16#${a##*:}))
		done <"$f"
	done
}
free_port() {
	local p used
	used=$(used_ports)
	while :; do
		p=$((20000 + RANDOM % 12000))
		[ "$p" != "${1:-}" ] && ! grep -qx "$p" <<<"$used" && break
	done
	echo "$p"
}

# ---- munge: a key of this cluster, a socket in the folder
if command -v mungekey >/dev/null; then
	mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null 2>&1 ||
		skip "mungekey could not write a key"
else
	dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
	chmod 600 "$dir/munge/munge.key"
fi
FB_SLURM_NODE=$dir munged --foreground --force --socket="$dir/munge.socket" \
	--key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
	--seed-file="$dir/munge/munged.seed" --log-file="$dir/log/munged.log" \
	>"$dir/log/munged.out" 2>&1 &
munged_pid=$!
i=0
until munge -n -S "$dir/munge.socket" 2>/dev/null | unmunge -S "$dir/munge.socket" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ "$i" -gt 50 ] || ! kill -0 "$munged_pid" 2>/dev/null; then
		cat "$dir/log/munged.out"
		skip "munged did not start (its log is above)"
	fi
	sleep 0.1
done

# ---- slurm.conf
host=$(uname -n)
host=${host%%.*}
cpus=$(nproc)
# Four tasks at once whatever the machine: config_overrides lets the node
# say more CPUs than it has; the test's jobs wait on the network, not on CPU.
[ "$cpus" -ge 4 ] || cpus=4
write_conf() {
	cat >"$conf" <<EOF
# A single-node cluster for a test; removed when it ends.
ClusterName=fbtest$$
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$1
SlurmdPort=$2
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
PlugStackConfig=$dir/plugstack.conf
ReturnToService=2
KillWait=5
MailProg=/bin/true
SlurmdParameters=config_overrides
NodeName=fbnode NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=fbtest Nodes=fbnode Default=YES MaxTime=INFINITE State=UP
EOF
	: >"$dir/plugstack.conf"
}

# A daemon's log, when it did not come up.
show_logs() {
	local f
	for f in "$dir"/log/slurmctld.out "$dir"/log/slurmctld.log "$dir"/log/slurmd.out "$dir"/log/slurmd.log; do
		[ -s "$f" ] || continue
		echo "--- ${f#"$dir"/} (last lines)"
		tail -n 15 "$f"
	done
}

# ---- slurmctld and slurmd, on free ports (tried again on a bind race)
up=
for _ in 1 2 3; do
	ctld_port=$(free_port)
	slurmd_port=$(free_port "$ctld_port")
	write_conf "$ctld_port" "$slurmd_port"
	rm -f "$dir"/log/slurm*
	# -i: no state to recover, a fresh cluster. -D: in the foreground, so
	# the pid is ours to stop.
	FB_SLURM_NODE=$dir slurmctld -D -i -f "$conf" >"$dir/log/slurmctld.out" 2>&1 &
	ctld_pid=$!
	i=0
	until scontrol ping 2>/dev/null | grep -q 'is UP'; do
		i=$((i + 1))
		# slurmctld retries a port in use for a while: no need to wait.
		if [ "$i" -gt 150 ] || ! kill -0 "$ctld_pid" 2>/dev/null ||
			grep -qi 'address already in use' "$dir"/log/slurmctld.*; then
			break
		fi
		sleep 0.1
	done
	if ! kill -0 "$ctld_pid" 2>/dev/null || ! scontrol ping 2>/dev/null | grep -q 'is UP'; then
		grep -qi 'address already in use' "$dir"/log/slurmctld.* && {
			stop "$ctld_pid"
			ctld_pid=
			continue
		}
		show_logs
		skip "slurmctld did not start (its log is above)"
	fi
	FB_SLURM_NODE=$dir slurmd -D -N fbnode -f "$conf" >"$dir/log/slurmd.out" 2>&1 &
	slurmd_pid=$!
	i=0
	state=
	while :; do
		state=$(sinfo -h -n fbnode -o %T 2>/dev/null)
		[ "$state" = idle ] && break
		i=$((i + 1))
		if [ "$i" -gt 200 ] || ! kill -0 "$slurmd_pid" 2>/dev/null ||
			grep -qi 'address already in use' "$dir"/log/slurmd.*; then
			break
		fi
		sleep 0.1
	done
	if [ "$state" = idle ]; then
		up=1
		break
	fi
	if grep -qi 'address already in use' "$dir"/log/slurmd.*; then
		stop "$slurmd_pid"
		stop "$ctld_pid"
		slurmd_pid=
		ctld_pid=
		continue
	fi
	show_logs
	skip "slurmd did not bring the node up (sinfo says '${state:-nothing}'; logs above)"
done
[ -n "$up" ] || skip "no free ports for slurmctld and slurmd after 3 tries"
echo "slurm-node: cluster fbtest$$ up (slurmctld port $ctld_port, slurmd port $slurmd_port, $cpus CPUs)"

# ---- the command, with SLURM_CONF set
rc=0
"$@" || rc=$?
exit "$rc"
