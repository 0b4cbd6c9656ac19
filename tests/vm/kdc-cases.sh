# SPDX-License-Identifier: MIT
# kdc-run's quota, end-reason and teardown cases (TESTING.md "Resources",
# "Teardown"; DESIGN.md "End reasons and exit status"), sourced after
# libtest.sh by 41-quotas-vm.sh (in the qemu guest, where the cgroup2 root has
# memory, pids and cpu) and 42-teardown-host.sh (on the host).
#
# Everything runs through kdc-run itself with --json-status; json-flat turns
# the JSON into KEY=VALUE lines. Loops and checks use shell builtins only: in
# the TCG guest every exec costs about 0.1 s.
#
# The caller sets, per user:
#   WHO      root or nobody (names files, tenants and descriptions)
#   AS       prefix that runs a command as that user ("" for the caller)
#   CGBASE   where kdc-run puts kdc.slice for that user; "" when kdc-run runs
#            without a session cgroup (degraded)
#   KC_PROFILE  the profile (strict in the guest: nothing may degrade)
# Every box process gets KDC_MARK=<marker> in its environment; marked() finds
# them in /proc, so leftovers are counted whatever their pid namespace.

HOG=$top_builddir/tests/vm/cg-hog
JSONFLAT=$top_builddir/tests/vm/json-flat
: "${KC_PROFILE:=strict}"
KC_ID=$$

# The value of KEY in a KEY=VALUE file (the last one).
val() {
	_v=""
	[ -e "$2" ] || return 0
	while IFS= read -r _l; do
		case $_l in "$1="*) _v=${_l#*=} ;; esac
	done <"$2"
	printf '%s' "$_v"
}

# _cs: centiseconds since boot (/proc/uptime has two decimals).
uptime_cs() {
	read -r _up _ </proc/uptime
	_cs=${_up%.*}${_up#*.}
	_cs=${_cs#0}
}

# marked MARK: sets _n to how many live processes (not zombies) have
# KDC_MARK=MARK in their environment, _marked to their pids and _states to
# their states. Only processes named in KC_COMMS are looked at: dash's read
# takes a byte per system call, too slow for every environment in /proc under
# TCG. No two markers may be prefixes of each other. As root it sees every
# user's processes. (Not in $(...): the results are variables.)
KC_COMMS=" cg-hog sh sleep "
marked() {
	_n=0
	_marked=""
	_states=""
	for _d in /proc/[0-9]*; do
		_c=""
		{ read -r _c <"$_d/comm"; } 2>/dev/null
		case $KC_COMMS in *" $_c "*) ;; *) continue ;; esac
		_e=""
		{ IFS= read -r _e <"$_d/environ"; } 2>/dev/null
		case $_e in *"KDC_MARK=$1"*) ;; *) continue ;; esac
		_st=""
		{ read -r _ _ _st _ <"$_d/stat"; } 2>/dev/null
		case $_st in '' | Z | X) continue ;; esac
		_n=$((_n + 1))
		_marked="$_marked ${_d#/proc/}"
		_states="$_states$_st"
	done
}

# wait_marked MARK TENTHS N: marked MARK until it counts N, at most TENTHS
# tenths of a second.
wait_marked() {
	_w=0
	marked "$1"
	while [ "$_n" != "$3" ] && [ $_w -lt "$2" ]; do
		sleep 0.1
		_w=$((_w + 1))
		marked "$1"
	done
}

# The pid of the kdc-run whose command line passes KDC_MARK=MARK.
kdc_run_pid() {
	for _d in /proc/[0-9]*; do
		_c=""
		{ read -r _c <"$_d/comm"; } 2>/dev/null
		[ "$_c" = kdc-run ] || continue
		_e=""
		{ IFS= read -r _e <"$_d/cmdline"; } 2>/dev/null
		case $_e in *"KDC_MARK=$1"*)
			echo "${_d#/proc/}"
			return 0
			;;
		esac
	done
	return 1
}

# kc_reap MARK: SIGKILL what a failed case left: the processes marked MARK
# (prefix) and the kdc-runs started with it. Only ever our own: the markers
# carry this script's pid.
kc_reap() {
	for _d in /proc/[0-9]*; do
		_c=""
		{ read -r _c <"$_d/comm"; } 2>/dev/null
		case $_c in
		kdc-run) _f=cmdline ;;
		cg-hog | sh | sleep) _f=environ ;;
		*) continue ;;
		esac
		_e=""
		{ IFS= read -r _e <"$_d/$_f"; } 2>/dev/null
		case $_e in *"KDC_MARK=$1"*) kill -KILL "${_d#/proc/}" 2>/dev/null ;; esac
	done
}

# SigIgn of a pid has SIGTERM (bit 15)?
ignores_term() {
	while IFS= read -r _l; do
		case $_l in SigIgn:*)
			_h=${_l#SigIgn:}
			_h=${_h#"${_h%%[!	 ]*}"}
			[ $((0x$_h & 0x4000)) -ne 0 ]
			return
			;;
		esac
	done <"/proc/$1/status"
	return 1
}

# kc_setup: the user's output directory, workdir and tenant prefix.
kc_setup() {
	KO=$TESTDIR/kc-$WHO
	KW=$TESTDIR/kc-work-$WHO
	mkdir -p "$KO" "$KW"
	if [ "$WHO" = nobody ]; then
		chown 65534:65534 "$KO" "$KW"
	fi
	KT=kdc-t$KC_ID-$WHO
}

# kdc NAME [kdc-run options] -- CMD...: kdc-run as $WHO with the test profile,
# cg-hog's directory read-only at /probe, $KO/NAME.json (status), .out and
# .err; returns kdc-run's exit status.
kdc() {
	_name=$1
	shift
	$AS "$KDC_RUN" --profile "$KC_PROFILE" --workdir "$KW" --ro-bind "$top_builddir/tests/vm:/probe" \
		--json-status "$KO/$_name.json" "$@" >"$KO/$_name.out" 2>"$KO/$_name.err"
}

# flat NAME: the status as $KO/NAME.kv (one exec of json-flat).
flat() {
	"$JSONFLAT" "$KO/$1.json" >"$KO/$1.kv" 2>>"$KO/$1.err"
}

# kv NAME KEY
kv() {
	val "$2" "$KO/$1.kv"
}

# One line of kdc-run's stderr, for the descriptions.
err1() {
	_l=""
	[ -e "$KO/$1.err" ] && IFS= read -r _l <"$KO/$1.err"
	printf '%s' "$_l"
}

# ---- Resources (need the memory, pids and cpu controllers) -----------------

kc_memory() {
	kdc mem0 --memory 64M -- /probe/cg-hog mem 16M
	rc=$?
	flat mem0
	is "$rc $(kv mem0 reason) $(val allocated "$KO/mem0.out") $(kv mem0 oom_kills) [$(kv mem0 degraded)]" \
		"0 exited 16777216 0 []" "$P: kdc-run --memory 64M: a 16 MiB agent runs, reason exited, nothing degraded"
	kdc mem1 --memory 32M -- /probe/cg-hog mem 64M
	rc=$?
	flat mem1
	is "$rc $(kv mem1 reason) $(kv mem1 exit_status) allocated=$(val allocated "$KO/mem1.out") [$(kv mem1 degraded)]" \
		"137 memory 137 allocated= []" "$P: kdc-run --memory 32M: a 64 MiB balloon ends with reason memory, exit 137"
	ok "$P: ... oom_kills > 0 ($(kv mem1 oom_kills)), memory_peak <= 32 MiB ($(kv mem1 memory_peak))" \
		test "$(kv mem1 oom_kills)" -gt 0 -a "$(kv mem1 memory_peak)" -le 33554432
	like "$(cat "$KO/mem1.err")" "^kdc-run: killed: memory limit 32M reached \(oom_kill\)$" \
		"$P: ... and kdc-run says so on stderr"
}

# A fork bomb under --pids 20: pids.current reaches 20 in the session cgroup
# while the outside still forks; the leader fails once forks are refused, so
# the end reason is pids with the agent's status.
kc_bomb() {
	kdc bomb --tenant "$KT-bomb" --pids 20 --cpu 1 -- /probe/cg-hog bomb 3 &
	_bpid=$!
	_cur=""
	_i=0
	while [ $_i -lt 100 ]; do
		for _cg in "$CGBASE/kdc.slice/$KT-bomb"/*/; do
			{ read -r _cur <"${_cg}pids.current"; } 2>/dev/null
		done
		[ "$_cur" = 20 ] && break
		sleep 0.05
		_i=$((_i + 1))
	done
	is "$_cur" 20 "$P: kdc-run --pids 20: a fork bomb fills the session cgroup to pids.current 20"
	ok "$P: ... while outside the box fork still works" \
		$AS sh -c 'for i in 1 2 3 4 5; do /bin/true || exit 1; done'
	wait "$_bpid"
	rc=$?
	flat bomb
	is "$rc $(kv bomb reason) $(kv bomb exit_status) $(val errno "$KO/bomb.out") $(kv bomb pids_peak) [$(kv bomb degraded)]" \
		"1 pids 1 EAGAIN 20 []" \
		"$P: ... the leader fails after EAGAIN: reason pids, the agent's status 1, pids_peak 20"
	ok "$P: ... pids_max_events > 0 ($(kv bomb pids_max_events)), $(val failed "$KO/bomb.out") forks refused" \
		test "$(kv bomb pids_max_events)" -gt 0
	like "$(cat "$KO/bomb.err")" "^kdc-run: exited: status 1 after reaching the pids limit 20 \([0-9]+ forks refused\)$" \
		"$P: ... and kdc-run says so on stderr"
}

# Two spinners for 1 s: with --cpu 2 (control, root only: one run is enough
# to show the spinners can use more) over half a core, with --cpu 0.5 at
# most 1.1 x 0.5 x wall, by kdc-run's own cpu_seconds and wall_seconds.
kc_cpu() {
	if [ "$WHO" = root ]; then
		kdc cpu0 --cpu 2 -- /probe/cg-hog spin 1 2
		flat cpu0
		u=$(kv cpu0 cpu_seconds_us)
		w=$(kv cpu0 wall_seconds_us)
		ok "$P: kdc-run --cpu 2: two spinners use more than 0.55 cores ($u us cpu in $w us wall)" \
			test $((u * 100)) -gt $((w * 55))
	fi
	kdc cpu1 --cpu 0.5 -- /probe/cg-hog spin 1 2
	rc=$?
	flat cpu1
	u=$(kv cpu1 cpu_seconds_us)
	w=$(kv cpu1 wall_seconds_us)
	is "$rc $(kv cpu1 reason) [$(kv cpu1 degraded)]" "0 exited []" "$P: kdc-run --cpu 0.5: the spinners end normally"
	ok "$P: ... cpu_seconds <= 1.1 x 0.5 x wall_seconds ($u us in $w us), throttled_seconds > 0 ($(kv cpu1 throttled_seconds))" \
		test $((u * 100)) -le $((w * 55)) -a "$(kv cpu1 throttled_seconds_us)" -gt 0
}

# A 1M tmpfs fills up with ENOSPC at 1 MiB; a 4M one next to it takes 2 MiB.
kc_tmpfs() {
	kdc tmpfs --tmpfs /scratch:1M --tmpfs /big:4M -- /probe/cg-hog fill /big/f 2M /scratch/f 2M
	rc=$?
	is "$rc $(val /big/f "$KO/tmpfs.out")" "0 2097152 none" "$P: kdc-run --tmpfs /big:4M takes 2 MiB"
	is "$(val /scratch/f "$KO/tmpfs.out")" "1048576 ENOSPC" \
		"$P: kdc-run --tmpfs /scratch:1M stops a 2 MiB write at 1 MiB with ENOSPC"
}

# ---- Wall clock --------------------------------------------------------------

# Three agents under --timeout 5s, in the background: sleep 3600; a shell
# that ignores SIGTERM (its sleep inherits that); a shell that stops itself
# (SIGSTOP). kc_timeouts_check collects them.
kc_timeouts_start() {
	for _t in plain ignore stop; do
		case $_t in
		plain) set -- sleep 3600 ;;
		ignore) set -- /bin/sh -c 'trap "" TERM; sleep 3600; exit 0' ;;
		stop) set -- /bin/sh -c 'kill -STOP $$; sleep 3600' ;;
		esac
		rm -f "$KO/to-$_t.res"
		(
			uptime_cs
			_s=$_cs
			kdc "to-$_t" --tenant "$KT-to" --timeout 5s -e "KDC_MARK=$KC_ID-$WHO-to-$_t" -- "$@"
			_rc=$?
			uptime_cs
			echo "rc=$_rc" >"$KO/to-$_t.res"
			echo "elapsed_cs=$((_cs - _s))" >>"$KO/to-$_t.res"
		) &
	done
}

# While they run: the hostile agents really ignore SIGTERM / are stopped.
kc_timeouts_observe() {
	wait_marked "$KC_ID-$WHO-to-stop" 40 1
	_w=0
	while [ "$_states" != T ] && [ $_w -lt 40 ]; do
		sleep 0.1
		_w=$((_w + 1))
		marked "$KC_ID-$WHO-to-stop"
	done
	is "$_n $_states" "1 T" "$P: under --timeout 5s the self-stopping agent is stopped (state T)"
	_ign=0
	wait_marked "$KC_ID-$WHO-to-ignore" 40 2
	for _p in $_marked; do
		ignores_term "$_p" && _ign=$((_ign + 1))
	done
	is "$_n $_ign" "2 2" "$P: under --timeout 5s the shell and its sleep ignore SIGTERM (SigIgn)"
}

# lo..hi in microseconds around 5 s: JSON wall_seconds; the caller's clock
# (kdc-run's start-up included) within [lo, ext_hi] centiseconds.
kc_timeouts_check() {
	_ext_hi=${1:-550}
	for _t in plain ignore stop; do
		wait_file "$KO/to-$_t.res" 150
		rc=$(val rc "$KO/to-$_t.res")
		e=$(val elapsed_cs "$KO/to-$_t.res")
		flat "to-$_t"
		w=$(kv "to-$_t" wall_seconds_us)
		is "$rc $(kv "to-$_t" reason) $(kv "to-$_t" exit_status)" "124 timeout 124" \
			"$P: --timeout 5s, $_t agent: reason timeout, exit 124"
		ok "$P: ... wall_seconds 5 +- 0.5 s ($w us), the caller waited $e cs (<= $_ext_hi)" \
			test "${w:-0}" -ge 4500000 -a "${w:-0}" -le 5500000 -a "${e:-0}" -ge 450 -a "${e:-0}" -le "$_ext_hi"
		like "$(cat "$KO/to-$_t.err")" "kdc-run: killed: timeout 5s reached$" "$P: ... and kdc-run says so on stderr"
		marked "$KC_ID-$WHO-to-$_t"
		is "$_n" 0 "$P: ... no process of the $_t agent is left"
		kc_reap "$KC_ID-$WHO-to-$_t"
	done
}

# Waits until a file exists (up to $2 tenths of a second).
wait_file() {
	_i=0
	while [ ! -s "$1" ] && [ $_i -lt "$2" ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}

# ---- Teardown ------------------------------------------------------------------

# N runs of an agent that leaves a double-forked setsid daemon behind; every
# other run fails (exit 1). None may leave a process or a cgroup. The loop
# runs as the user in one shell: one exec per run.
kc_daemons() {
	_runs=$1
	_m=$KC_ID-$WHO-daemons
	# The control: without kdc the daemon outlives its parent.
	$AS env "KDC_MARK=$KC_ID-$WHO-ctl" "$HOG" daemons 1 >"$KO/dctl.out" 2>&1
	marked "$KC_ID-$WHO-ctl"
	is "$_n" 1 "$P: without kdc a double-forked setsid daemon outlives the program that started it"
	for _p in $_marked; do kill -9 "$_p"; done
	# shellcheck disable=SC2016
	$AS /bin/sh -c '
		i=0
		bad=""
		while [ $i -lt "$1" ]; do
			"$2" --profile "$3" --workdir "$4" --ro-bind "$5" --tenant "$6" -e "KDC_MARK=$7" \
				-- /probe/cg-hog daemons 1 $((i % 2)) >/dev/null 2>>"$8"
			rc=$?
			[ $rc = $((i % 2)) ] || bad="$bad run$i:rc=$rc"
			i=$((i + 1))
		done
		echo "bad=$bad"' sh "$_runs" "$KDC_RUN" "$KC_PROFILE" "$KW" "$top_builddir/tests/vm:/probe" "$KT-d" "$_m" \
		"$KO/daemons.err" >"$KO/daemons.res"
	is "$(cat "$KO/daemons.res")" "bad=" \
		"$P: $_runs kdc-run runs of a daemon-leaving agent exit with its status (0 or 1)"
	marked "$_m"
	is "$_n" 0 "$P: ... and none of the $_runs daemons is left"
	kc_reap "$_m"
	if [ -n "$CGBASE" ]; then
		ok "$P: ... nor any cgroup (no $CGBASE/kdc.slice/$KT-d)" test ! -e "$CGBASE/kdc.slice/$KT-d"
	fi
}

# SIGKILL of kdc-run (its agent and 3 daemons running): the box dies with it;
# the orphaned session cgroup goes at the next run's leftover sweep.
kc_sigkill() {
	_m=$KC_ID-$WHO-kill
	kdc kill --tenant "$KT-k" -e "KDC_MARK=$_m" -- /probe/cg-hog daemons 3 pause &
	_bg=$!
	wait_marked "$_m" 100 4
	_kp=$(kdc_run_pid "$_m")
	is "$_n ${_kp:+found}" "4 found" "$P: the agent and its 3 daemons run under kdc-run (pid ${_kp:-none})"
	_cg=""
	if [ -n "$CGBASE" ]; then
		for _d in "$CGBASE/kdc.slice/$KT-k"/*/; do [ -d "$_d" ] && _cg=${_d%/}; done
	fi
	if [ -n "$_kp" ]; then
		kill -KILL "$_kp"
		wait "$_bg"
		_rc=$?
		wait_marked "$_m" 30 0
	else
		_rc=none _n=-
	fi
	is "$_rc $_n" "137 0" "$P: SIGKILL of kdc-run (exit 137) kills the box: none of the 4 processes is left"
	kc_reap "$_m"
	wait "$_bg"
	[ -n "$CGBASE" ] || return 0
	# Empty once the last of the box is reaped: the box's pid 1 died with
	# kdc-run and is reaped by whoever adopted it, which can take a moment
	# on a loaded guest (up to 10 s here).
	_pop="" _i=0
	while [ $_i -lt 100 ]; do
		{ while read -r _k _v; do [ "$_k" = populated ] && _pop=$_v; done <"$_cg/cgroup.events"; } 2>/dev/null
		[ "$_pop" = 1 ] || break
		sleep 0.1
		_i=$((_i + 1))
	done
	is "${_cg:+exists} $_pop" "exists 0" "$P: ... its session cgroup stays behind, empty (${_cg:-not found})"
	kdc kill2 --tenant "$KT-k" -- /bin/true
	_rc=$?
	is "$_rc $(test -e "$_cg" && echo left || echo gone) $(test -e "$CGBASE/kdc.slice/$KT-k" && echo left || echo gone)" \
		"0 gone gone" "$P: ... the next kdc-run of the tenant removes it (leftover sweep)"
}

# Whatever a failed case left behind goes when the script ends.
add_cleanup "kc_reap '$KC_ID-'"
