#!/bin/bash
# The shared egress programs (src/core/egress.h, egress_attach_session): one
# instance attached once to the system kdc.slice, a session a few map
# updates keyed by its cgroup id. Proves: a second run reuses the programs;
# a session's entry exists while it runs and is gone after; the entry of a
# SIGKILLed kdc-run is swept once its cgroup is gone; two concurrent
# sessions see only their own events and counters; the private fallback
# (KDC_EGRESS_SHARED=0) still decides; a cgroup under kdc.slice without an
# entry is left to the other programs (the documented rule). Traffic goes
# only to a private world this test builds. The shared programs stay on
# kdc.slice on purpose (kdc-run.1, FILES). The ring pool: rings are reused
# from slot to slot, and a dead session's unread events are not the next
# session's.
. "$top_srcdir/tests/lib/libtest.sh"
require_root
require_cmd ip nsenter
BPFTOOL=$(command -v bpftool || echo /usr/sbin/bpftool)
[ -x "$BPFTOOL" ] || skip_all "bpftool is not installed"
why=$("$top_builddir/tests/egress/egress-run" --probe 2>&1) || skip_all "eBPF egress programs unavailable: $why"
MNT=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$MNT" ] || skip_all "no cgroup2 mount"
SLICE=$MNT/kdc.slice
TENANT=$(id -un)

NS=kdc-s$$
INET=kdc-h$$
private_world $NS $INET
tcp_listener $INET 198.51.100.1 8080
tcp_listener $INET 198.51.100.1 8081
in_ns() { nsenter --net=/run/netns/$NS "$@"; }
answers() { [ "$(in_ns "$PROBE_DIR/box-probe" tcp4 "$1" "$2")" = ok ]; }
wait_for answers 198.51.100.1 8080
wait_for answers 198.51.100.1 8081
is "$(in_ns "$PROBE_DIR/box-probe" tcp4 198.51.100.1 8081)" ok "without kdc: 198.51.100.1:8081 answers"

work=$(WHO=root make_workdir)
run() { # [ENV=...] -- kdc-run arguments
	in_ns "$KDC_RUN" --profile default --quiet --workdir "$work" --ro-bind "$PROBE_DIR:/probe" "$@"
}

# The programs on kdc.slice, "ID TYPE" per line.
progs() { "$BPFTOOL" cgroup show "$SLICE" 2>/dev/null | awk '$1 ~ /^[0-9]+$/ && $NF != "" { print $1, $2 }' | sort; }
# A map of this build's instance: the egress_skb program's map of that name
# (the newest egress_skb, the one this build installed).
instance_map() {
	local p m
	for p in $("$BPFTOOL" cgroup show "$SLICE" 2>/dev/null | awk '$NF == "egress_skb" { print $1 }'); do
		for m in $("$BPFTOOL" prog show id "$p" | sed -n 's/.*map_ids \([0-9,]*\).*/\1/p' | tr , ' '); do
			"$BPFTOOL" map show id "$m" | grep -q " name $1 " && echo "$m"
		done
	done | tail -n 1
}
sessions_map() { instance_map sessions; }
# has_entry MAP CGROUP-ID: the sessions map holds that key.
has_entry() {
	local k
	k=$(printf '%016x' "$2" | sed 's/\(..\)/\1 /g' | awk '{ for (i = NF; i >= 1; i--) printf "0x%s ", $i }')
	"$BPFTOOL" map lookup id "$1" key $k >/dev/null 2>&1
}

# session_with_entry: waits (5 s at most) until a session cgroup of the
# tenant has its entry in MAP; sets sess to its directory.
session_with_entry() {
	local i
	sess=""
	for i in $(seq 50); do
		sess=$(ls -d "$SLICE/$TENANT"/*/ 2>/dev/null | head -n 1)
		[ -n "$sess" ] && has_entry "$MAP" "$(stat -c %i "$sess")" && return 0
		sleep 0.1
	done
	return 1
}

# (a) Installed by the first run, reused by the second. Instances of
# earlier builds stay on kdc.slice until it is removed: start clean when no
# session is there.
rmdir "$SLICE" 2>/dev/null
is "$(run --net filtered --allow 198.51.100.1:8080 -- /probe/box-probe tcp4 198.51.100.1 8080 2>&1)" ok \
	"filtered through the shared programs: the allowed destination answers"
before=$(progs)
MAP=$(sessions_map)
ok "the sessions map is found" test -n "$MAP"
n=0
for p in $(echo "$before" | cut -d' ' -f1); do
	"$BPFTOOL" prog show id "$p" | grep -Eq "map_ids (.*,)?$MAP(,|\$| )" && n=$((n + 1))
done
is "$n" 7 "seven programs of this build are attached to kdc.slice after a run"
ok "... kdc.slice carries the keep mark" sh -c "python3 -c 'import os,sys; os.getxattr(sys.argv[1], \"user.kdc.keep\")' '$SLICE'"
out=$(in_ns "$KDC_RUN" --profile default -vv --workdir "$work" -- /bin/true 2>&1)
like "$out" "egress programs: shared, on kdc.slice" "a none-mode run uses the shared programs (second wall)"
is "$(progs)" "$before" "a second run reuses the same programs (same ids)"

# (b) The entry exists while the session runs, and is gone after.
run --net filtered --allow 198.51.100.1:8080 -- /bin/sleep 3 >/dev/null 2>&1 &
kr=$!
add_cleanup "kill -9 $kr 2>/dev/null"
session_with_entry
id=$(stat -c %i "$sess" 2>/dev/null)
ok "a running session has its entry (cgroup id $id)" has_entry "$MAP" "$id"
ALLOW=$(instance_map allowlists)
ok "... and its allowlist" has_entry "$ALLOW" "$id"
wait $kr
fails "... which is gone after the run" has_entry "$MAP" "$id"
fails "... as is its allowlist" has_entry "$ALLOW" "$id"

# (c) A SIGKILLed kdc-run leaves its entry; it is swept once the cgroup is gone.
# nsenter execs kdc-run: $! is kdc-run itself
nsenter --net=/run/netns/$NS "$KDC_RUN" --profile default --quiet --workdir "$work" --net filtered \
	--allow 198.51.100.1:8080 -- /bin/sleep 30 >/dev/null 2>&1 &
kr=$!
add_cleanup "kill -9 $kr 2>/dev/null"
session_with_entry
id=$(stat -c %i "$sess")
kill -9 $kr
wait $kr 2>/dev/null
ok "SIGKILLed kdc-run: its entry is still there" has_entry "$MAP" "$id"
# The next run removes the dead owner's leftover cgroup, then sweeps.
echo 1 >"$sess/cgroup.kill" 2>/dev/null
for i in $(seq 50); do rmdir "$sess" 2>/dev/null && break; sleep 0.1; done
ok "... its cgroup is gone" test ! -e "$sess"
run -- /bin/true >/dev/null 2>&1
fails "... and the next run swept the stale entry" has_entry "$MAP" "$id"

# (d) Two concurrent sessions: each its own events and counters.
run --net filtered --allow 198.51.100.1:8080 --json-status "$work/a.json" -- /bin/sh -c \
	'/probe/box-probe tcp4 198.51.100.1 8081; sleep 1; /probe/box-probe tcp4 198.51.100.1 8081' >/dev/null 2>&1 &
a=$!
run --net filtered --allow 198.51.100.1:8080 --json-status "$work/b.json" -- /bin/sh -c \
	'/probe/box-probe tcp4 198.51.100.1 8080; sleep 1; /probe/box-probe tcp4 198.51.100.1 8080' >/dev/null 2>&1 &
b=$!
wait $a $b
like "$(cat "$work/a.json")" '"egress_denied": 2,' "concurrent A: its two denials counted"
like "$(cat "$work/a.json")" '"egress_allowed": 0,' "concurrent A: none of B's allowed connects"
like "$(cat "$work/a.json")" '"egress_lost": 0,' "concurrent A: no decision lost to a full ring buffer"
like "$(cat "$work/a.json")" 'deny connect4 tcp 198.51.100.1:8081' "concurrent A: its denial among its events"
like "$(cat "$work/b.json")" '"egress_denied": 0,' "concurrent B: none of A's denials"
like "$(cat "$work/b.json")" '"egress_allowed": 2,' "concurrent B: its two allowed connects counted"
unlike "$(cat "$work/b.json")" '198\.51\.100\.1:8081' "concurrent B: A's denied destination is not among its events"

# (i) The ring pool: a session takes the lowest free slot of "ring_owners"
# and the ring buffer that slot keeps in "rings", and gives the slot back
# at its end; the ring stays for the next session.
RINGS=$(instance_map rings)
OWNERS=$(instance_map ring_owners)
IDS=$(instance_map ring_ids)
ok "the ring pool's maps are found" test -n "$RINGS" -a -n "$OWNERS" -a -n "$IDS"
# u64 little-endian bytes of bpftool's JSON as a number; "-" if none.
le() { python3 -c 'import json, sys
try: v = json.load(sys.stdin)
except ValueError: print("-"); sys.exit()
print(int.from_bytes(bytes(int(x, 16) for x in v[sys.argv[1]]), "little") if v else "-")' "$1"; }
slot_key() { printf '%016x' "$1" | sed 's/\(..\)/\1 /g' | awk '{ for (i = NF; i >= 1; i--) printf "0x%s ", $i }'; }
ring_of() { "$BPFTOOL" -j map lookup id "$RINGS" key $(slot_key "$1") 2>/dev/null | le value; }
owner_of() { "$BPFTOOL" -j map lookup id "$OWNERS" key $(slot_key "$1") 2>/dev/null | le value; }
id_in_ids() { "$BPFTOOL" -j map lookup id "$IDS" key $(printf '%08x' "$1" | sed 's/\(..\)/\1 /g' | awk '{ for (i = NF; i >= 1; i--) printf "0x%s ", $i }') 2>/dev/null | le value; }
n_owners() { "$BPFTOOL" -j map dump id "$OWNERS" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'; }
run -- /bin/true >/dev/null 2>&1
r0=$(ring_of 0)
like "$r0" '^[0-9]+$' "after a run, slot 0 keeps its ring (map id $r0)"
is "$(n_owners)" 0 "... and no session holds a slot"
is "$(id_in_ids 0)" "$r0" "ring_ids names slot 0's ring (read without a lookup in rings)"
run -- /bin/true >/dev/null 2>&1
is "$(ring_of 0)" "$r0" "the next run used the same ring and left it there"
run --net filtered --allow 198.51.100.1:8080 -- /bin/sleep 3 >/dev/null 2>&1 &
kr=$!
add_cleanup "kill -9 $kr 2>/dev/null"
session_with_entry
is "$(owner_of 0)" "$(stat -c %i "$sess")" "a running session holds slot 0 (its cgroup id)"
run -- /bin/true >/dev/null 2>&1
is "$(owner_of 0)" "$(stat -c %i "$sess")" "... a second session meanwhile took another slot"
like "$(ring_of 1)" '^[0-9]+$' "... slot 1, which has a ring of its own now"
wait $kr
is "$(n_owners)" 0 "both gave their slot back"
# A session whose kdc-run is killed before it reads its events leaves them
# in its ring; the next session in that slot must not report them as its
# own. kdc-run is stopped while its agent is denied, then killed.
rm -f "$work/go" "$work/done"
nsenter --net=/run/netns/$NS "$KDC_RUN" --profile default --quiet --workdir "$work" --ro-bind "$PROBE_DIR:/probe" \
	--net filtered --allow 198.51.100.1:8080 -- /bin/sh -c \
	'while [ ! -e /work/go ]; do sleep 0.05; done; /probe/box-probe tcp4 198.51.100.1 8081 >/work/done; sleep 30' \
	>/dev/null 2>&1 &
kr=$!
add_cleanup "kill -9 $kr 2>/dev/null"
session_with_entry
id=$(stat -c %i "$sess")
is "$(owner_of 0)" "$id" "a session to be killed holds slot 0"
kill -STOP $kr
touch "$work/go"
wait_for test -s "$work/done"
is "$(cat "$work/done")" EPERM "... its agent was denied while its kdc-run was stopped (the event stays unread)"
kill -9 $kr
wait $kr 2>/dev/null
echo 1 >"$sess/cgroup.kill" 2>/dev/null
for i in $(seq 50); do rmdir "$sess" 2>/dev/null && break; sleep 0.1; done
run --json-status "$work/i.json" -- /bin/true >/dev/null 2>&1
is "$(ring_of 0)" "$r0" "the next session took slot 0 and its ring, the dead one's events in it"
like "$(cat "$work/i.json")" '"egress_denied": 0,' "... and counts no denial"
unlike "$(cat "$work/i.json")" '198\.51\.100\.1:8081' "... and reports none of the dead session's events"
is "$(n_owners)" 0 "... and the dead session's slot was swept"

# (e) The fallback: the programs loaded for the session alone.
out=$(KDC_EGRESS_SHARED=0 run -vv --net filtered --allow 198.51.100.1:8080 --json-status "$work/e.json" -- \
	/probe/box-probe tcp4 198.51.100.1 8081 2>&1)
like "$out" "egress programs: this session's own" "KDC_EGRESS_SHARED=0: the private programs"
like "$out" "EPERM" "... deny what the list does not name"
like "$(cat "$work/e.json")" 'deny connect4 tcp 198.51.100.1:8081' "... and report it"
is "$(KDC_EGRESS_SHARED=0 run --net filtered --allow 198.51.100.1:8080 -- /probe/box-probe tcp4 198.51.100.1 8080 2>&1)" ok \
	"... and allow what it names"

# (g) A process in a sub-cgroup of a session is the session's: the programs
# look up the ancestors (sock_addr: the task's cgroup; cgroup_skb: the
# packet's socket's cgroup).
NP="$top_builddir/tests/hostile/net-probe"
in_ns sysctl -qw net.ipv4.ping_group_range="0 2147483647"
is "$(in_ns "$NP" -t 1000 icmp 198.51.100.1 2>/dev/null)" ok "without kdc: ping 198.51.100.1 answers"
nsenter --net=/run/netns/$NS "$KDC_RUN" --profile default --quiet --workdir "$work" --net filtered \
	--allow 198.51.100.1:8080 -- /bin/sleep 6 >"$TESTDIR/g.out" 2>&1 &
kr=$!
add_cleanup "kill -9 $kr 2>/dev/null"
session_with_entry || bail_out "the session did not start: $(cat "$TESTDIR/g.out")"
mkdir "${sess}sub"
add_cleanup "rmdir '${sess}sub' 2>/dev/null"
in_sub() { in_ns sh -c "echo \$\$ > '${sess}sub/cgroup.procs' && exec \"\$@\"" sh "$@"; }
is "$(in_sub "$PROBE_DIR/box-probe" tcp4 198.51.100.1 8080 2>&1)" ok "a session's sub-cgroup: the allowed destination answers"
is "$(in_sub "$PROBE_DIR/box-probe" tcp4 198.51.100.1 8081 2>&1)" EPERM "a session's sub-cgroup: connect elsewhere is denied (sock_addr)"
is "$(in_sub "$NP" -t 1000 icmp 198.51.100.1 2>/dev/null)" EPERM "a session's sub-cgroup: ping is dropped (cgroup_skb)"
rmdir "${sess}sub"
wait $kr

# (f) A cgroup under kdc.slice without an entry: the shared programs abstain
# (egress.h: every kdc session has an entry or programs of its own before
# its agent runs).
cg="$SLICE/kdc-test-noentry.$$"
mkdir "$cg"
add_cleanup "rmdir '$cg' 2>/dev/null"
out=$(in_ns sh -c "echo \$\$ > '$cg/cgroup.procs' && exec '$PROBE_DIR/box-probe' tcp4 198.51.100.1 8081" 2>&1)
is "$out" ok "a cgroup under kdc.slice without an entry: the shared programs leave it alone"
rmdir "$cg"

# kdc-run doctor says whether they are installed.
like "$("$KDC_RUN" doctor 2>&1)" "shared egress programs.*installed" "doctor reports the shared programs"
# (h) Instances of other builds (an upgrade, a rebuild) do not pile up: the
# install of a build detaches the idle instances of the others, never one
# that holds a session. KDC_EGRESS_BUILD_SALT (testing only) makes this
# build count as another one.
as_build() { # BUILD kdc-run arguments...
	local b=$1
	shift
	in_ns env KDC_EGRESS_BUILD_SALT="$b" "$KDC_RUN" --profile default --quiet --workdir "$work" "$@"
}
inst_id() { KDC_EGRESS_BUILD_SALT="$1" "$KDC_RUN" doctor 2>&1 | sed -n 's/.*installed (program id \([0-9]*\)).*/\1/p'; }
attached() { "$BPFTOOL" cgroup show "$SLICE" 2>/dev/null | awk '{ print $1 }' | grep -qx "$1"; }
as_build a$$ -- /bin/true
A=$(inst_id a$$)
ok "build A installs its instance" test -n "$A"
rm -f "$work/a-started"
as_build a$$ -- /bin/sh -c 'touch /work/a-started; sleep 3' &
ka=$!
add_cleanup "kill -9 $ka 2>/dev/null"
wait_for test -e "$work/a-started"
as_build b$$ -- /bin/true
B=$(inst_id b$$)
ok "build B installs its instance while a session of A runs" test -n "$B"
ok "... and A's instance, which holds that session, stays attached" attached "$A"
wait $ka
is "$?" 0 "A's session ran to its end on its instance"
like "$(KDC_EGRESS_BUILD_SALT=b$$ "$KDC_RUN" doctor 2>&1)" "installed \(program id $B\), 0 sessions registered; [1-9][0-9]* instances? of other kdc builds attached" \
	"doctor counts the other builds' instances"
as_build c$$ -- /bin/true
C=$(inst_id c$$)
ok "build C installs its instance" test -n "$C"
ok "... and detaches A's, idle now" eval '! attached "$A"'
ok "... and B's, idle" eval '! attached "$B"'
ok "... and keeps its own" attached "$C"
# Programs per hook, "TYPE COUNT" sorted, on one line.
per_hook() { "$BPFTOOL" cgroup show "$SLICE" 2>/dev/null | awk '$1 ~ /^[0-9]+$/ { n[$2]++ } END { for (t in n) print t, n[t] }' | sort | tr '\n' ' '; }
seven_once="cgroup_inet4_bind 1 cgroup_inet4_connect 1 cgroup_inet6_bind 1 cgroup_inet6_connect 1 cgroup_inet_egress 1 cgroup_udp4_sendmsg 1 cgroup_udp6_sendmsg 1 "
is "$(per_hook)" "$seven_once" "... the retired instances' connect, sendmsg and bind programs too: one program per hook"
# Builds before that detached only egress_skb and left the other six: an
# install detaches such orphans (here made by detaching D's egress_skb).
as_build d$$ -- /bin/true
D=$(inst_id d$$)
"$BPFTOOL" cgroup detach "$SLICE" egress id "$D"
is "$(per_hook)" "${seven_once/cgroup_inet_egress 1 /}" "positive control: D's six other programs stay without their egress_skb"
as_build e$$ -- /bin/true
ok "build E installs its instance" test -n "$(inst_id e$$)"
is "$(per_hook)" "$seven_once" "... and detaches D's orphaned programs"
# C goes the same way at the next install of another build; when no session
# runs, removing kdc.slice detaches it now.
rmdir "$SLICE" 2>/dev/null

done_testing
