#!/bin/bash
# The resident ledger clerk (kdc-run(1) "Admission and settlement"): a
# clerk that kdc-run forked stays for the next runs of the same ledger,
# which then admit and settle through its socket beside the database;
# it holds none of its caller's descriptors, leaves when idle, when its
# socket is replaced or removed, serves only kdc-run processes of its own
# user outside any box, and follows a database that was made anew.
. "$top_srcdir/tests/lib/libtest.sh"
require_root
require_cmd python3 ss

db=$KDC_DB
sock="$db-clerk"
work=$(make_workdir)
export KDC_LEDGER_LINGER=60s

run() { "$KDC_RUN" --profile default --workdir "$work" "$@"; }
clerk_pid() { pgrep -n -f "^kdc-run: ledger clerk for $db"; } # the newest
# the clerk listening at DB-clerk (bound under a temporary name, then renamed)
listener() { ss -xlpH | awk -v p="$1-clerk" '$5 == p || index($5, p ".") == 1' | sed -n 's/.*pid=\([0-9]*\).*/\1/p'; }
session_of() { sed -n 's/.*"session": "\([0-9a-f]*\)".*/\1/p' "$1"; }

# ask SOCKET IDENTITY: one admission request in the clerk's framing; prints
# the answer, or "closed" when the clerk hangs up without one.
cat >"$TESTDIR/ask.py" <<'EOF'
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect:", e.strerror); sys.exit(0)
m = json.dumps({"op": "admit", "identity": sys.argv[2], "tenant": "intruder", "session": "f" * 32,
                "unit": "USD", "hold": 0, "ttl": 0, "command": "x", "net": "none"}).encode()
try:
    s.sendall(struct.pack("=I", len(m)) + m)
except (BrokenPipeError, ConnectionResetError):
    print("closed"); sys.exit(0)
h = b""
while len(h) < 4:
    try:
        c = s.recv(4 - len(h))
    except ConnectionResetError:
        c = b""
    if not c:
        print("closed"); sys.exit(0)
    h += c
n = struct.unpack("=I", h)[0]
b = b""
while len(b) < n:
    c = s.recv(n - len(b))
    if not c:
        break
    b += c
print(b.decode())
EOF
chmod 0644 "$TESTDIR/ask.py"

# The first run forks the clerk, which stays; the second one asks it.
out=$(run -vv --json-status "$work/1.json" -- /bin/true 2>&1)
is "$?" 0 "a first run is admitted"
like "$out" "ledger: clerk [0-9]+ forked" "... by a clerk it forked"
like "$out" "kdc-run: created tenant 'root'" "... whose notice kdc-run prints"
ok "... which stays, listening beside the ledger" test -S "$sock"
pid=$(clerk_pid)
like "$pid" "^[0-9]+$" "... one clerk, titled for ps"
is "$(ps -o comm= -p "$pid")" kdc-clerk "... and named kdc-clerk"
is "$(stat -c %a "$sock")" 700 "its socket is the user's alone (0700)"
out=$(run -vv --json-status "$work/2.json" -- /bin/true 2>&1)
is "$?" 0 "a second run is admitted"
like "$out" "ledger: resident clerk" "... by the resident clerk"
unlike "$out" "forked" "... without forking one"
like "$out" "ledger: admit transaction .* \(clerk $pid\)" "... the same process"
for f in 1 2; do
	id=$(session_of "$work/$f.json")
	like "$("$KDC_LEDGER" sessions)" "$id .*exited +0" "run $f: recorded and settled"
	like "$("$KDC_LEDGER" audit --session "$id")" "settle" "run $f: its settlement is audited"
done
ok "the audit chain verifies" "$KDC_LEDGER" verify

# The clerk asks for EEVDF's shortest time slice (Linux 6.12+), keeping
# the nice value it was started with. /proc/PID/sched shows the slice.
slice_of() { sed -n 's/^se\.slice *: *\([0-9]*\)$/\1/p' "/proc/$1/sched" 2>/dev/null; }
sleep 30 &
plain=$!
if [ -n "$(slice_of "$plain")" ]; then
	default_slice=$(slice_of "$plain")
	is "$(slice_of "$pid")" 100000 "the clerk runs with a 0.1 ms time slice"
	ok "positive control: another process has the default ($default_slice ns)" test "$default_slice" != 100000
	ndb="$work/niced.db"
	KDC_DB=$ndb nice -n 7 "$KDC_RUN" --profile default --workdir "$work" --quiet -- /bin/true
	npid=$(listener "$ndb")
	like "$npid" "^[0-9]+$" "a clerk forked by a run under nice 7"
	is "$(ps -o ni= -p "$npid" | tr -d ' ')" 7 "... keeps nice 7"
	is "$(slice_of "$npid")" 100000 "... with the short slice"
	kill "$npid"
else
	skip "no se.slice in /proc/PID/sched (kernel before 6.12 or without SCHED_DEBUG)" 5
fi
kill "$plain"

# The default tenant: a run without --tenant asks the resident clerk for
# the login name before its profile loads, which the clerk keeps (NSS
# costs a run 0.2 ms here, 11 ms in the VM harness); one older than its
# time to live is answered, then looked up again. (A clerk that does not
# answer within 5 ms is not waited for: the stopped clerk below.) KDC_TEST_CLERK_LOGIN_TTL (seconds, testing only) makes
# that time short.
age_of() { sed -n 's/.*the login name from the resident clerk (looked up \([0-9.]*\) s ago).*/\1/p' <<<"$1"; }
out=$(run -vv --json-status "$work/t.json" -- /bin/true 2>&1)
like "$out" "tenant: the login name from the resident clerk" "a run without --tenant has the login name from the clerk"
like "$("$KDC_LEDGER" sessions --tenant "$(id -un)")" "$(session_of "$work/t.json") " "... and runs as that tenant"
unlike "$(run -vv --tenant t-given -- /bin/true 2>&1)" "login name" "with --tenant it does not ask"
for ttl in 1 ""; do
	tdb="$work/ttl$ttl.db"
	KDC_DB=$tdb KDC_TEST_CLERK_LOGIN_TTL=$ttl run --quiet -- /bin/true # forks the clerk, with the knob
	KDC_DB=$tdb run --quiet -- /bin/true                                # its first lookup
	sleep 1.5
	a2=$(age_of "$(KDC_DB=$tdb run -vv -- /bin/true 2>&1)")
	a3=$(age_of "$(KDC_DB=$tdb run -vv -- /bin/true 2>&1)")
	ok "ttl ${ttl:-default}: a name 1.5 s old is answered (${a2} s)" awk -v a="$a2" 'BEGIN { exit !(a >= 1.4) }'
	if [ -n "$ttl" ]; then
		ok "ttl 1 s: ... and looked up again after that answer (${a3} s)" awk -v a="$a3" 'BEGIN { exit !(a != "" && a < 1) }'
	else
		ok "positive control, default ttl (60 s): ... and kept (${a3} s)" awk -v a="$a3" 'BEGIN { exit !(a >= 1.4) }'
	fi
	kill "$(listener "$tdb")"
done

# Its lines reach the caller: a denial through the resident clerk.
printf '[profile]\nversion = 1\ninclude = default\n[limits]\nwall = 10s\n[budget]\nunit = USD\nwall = 1USD\n' \
	>"$TESTDIR/priced.ini"
"$KDC_LEDGER" tenant add t-deny >/dev/null
"$KDC_LEDGER" budget set t-deny --limit 5USD --period month >/dev/null
out=$("$KDC_RUN" --profile "$TESTDIR/priced.ini" --workdir "$work" --tenant t-deny -- /bin/sh -c 'touch /work/ran' 2>&1)
is "$?" 123 "a denial through the resident clerk exits 123"
like "$out" "^kdc-run: denied: budget 't-deny'" "... with the clerk's line, printed by kdc-run"
ok "... and none of the agent ran" test ! -e "$work/ran"

# The clerk holds none of the caller's descriptors: a pipeline ends with
# kdc-run, not with the clerk (which stays 60 s).
kill "$pid"
wait_for sh -c "! kill -0 $pid"
start=$(date +%s%N)
out=$(timeout 20 bash -c "'$KDC_RUN' --profile default --workdir '$work' --quiet -- /bin/echo piped 3>&1 | cat")
is "$out" piped "a run in a pipeline, forking a new clerk, prints"
elapsed=$((($(date +%s%N) - start) / 1000000))
ok "... and the pipeline ends with kdc-run (${elapsed} ms), not with the lingering clerk" test "$elapsed" -lt 10000
pid2=$(clerk_pid)
like "$pid2" "^[0-9]+$" "... while the new clerk lingers"
fds=$(ls /proc/"$pid2"/fd | wc -l)
ok "... holding only /dev/null, its sockets and the ledger's files ($fds fds)" test "$fds" -le 12
is "$(readlink /proc/"$pid2"/fd/1)" /dev/null "... its stdout is /dev/null"
is "$(ps -o sid= -p "$pid2" | tr -d ' ')" "$pid2" "... and it leads a session of its own"

# Only kdc-run processes of its own user, outside any box, are served.
like "$(python3 "$TESTDIR/ask.py" "$sock" wrong-build)" '"mismatch": ?true' \
	"positive control: a client of its user outside a box gets an answer (another build: mismatch)"
like "$(as_nobody python3 "$TESTDIR/ask.py" "$sock" x)" "connect: Permission denied" \
	"another user cannot even connect (0700 directory and socket)"
mkdir -p "$TESTDIR/sockdir"
"$KDC_RUN" --profile default --workdir "$work" --quiet --ro-bind "$TESTDIR:/t" --bind "$(dirname "$db"):/st" \
	-- python3 /t/ask.py "/st/$(basename "$sock")" x >"$work/inbox.out" 2>&1
is "$(cat "$work/inbox.out")" closed "an agent given the socket by a bind mount is hung up on, unanswered"
unlike "$("$KDC_LEDGER" tenant list)" intruder "... and nothing was admitted for it"

# A socket of another user where the clerk's would be (a ledger directory
# made world-writable): kdc-run does not take its word.
mkdir -m 1777 "$TESTDIR/open"
cat >"$TESTDIR/fake.py" <<'EOF2'
import json, os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8)
with open(sys.argv[1] + ".ready", "w") as f:
    f.write(str(os.getpid()))
while True:
    c, _ = s.accept()
    m = json.dumps({"r": 0, "admitted": True, "log": []}).encode()
    c.sendall(struct.pack("=I", len(m)) + m)
EOF2
chmod 0644 "$TESTDIR/fake.py"
as_nobody python3 "$TESTDIR/fake.py" "$TESTDIR/open/kdc.db-clerk" >/dev/null 2>&1 &
wait_for test -s "$TESTDIR/open/kdc.db-clerk.ready"
fake=$(cat "$TESTDIR/open/kdc.db-clerk.ready") # python's own pid, not the wrapper's
add_cleanup "kill $fake 2>/dev/null"
is "$(stat -c %U "$TESTDIR/open/kdc.db-clerk")" nobody "positive control: nobody's socket listens where the clerk's would"
out=$(KDC_DB="$TESTDIR/open/kdc.db" run -vv -- /bin/true 2>&1)
unlike "$out" "ledger: resident clerk" "kdc-run does not talk to another user's socket"
like "$out" "ledger: clerk [0-9]+ forked" "... it forks a clerk of its own"
kill "$fake"

# Another build (here: another fake clock for the ledger) forks its own
# clerk, which takes the socket over; the old one leaves.
out=$(KDC_LEDGER_FAKE_NOW=$(date +%s) run -vv -- /bin/true 2>&1)
is "$?" 0 "a run whose ledger settings differ is admitted"
like "$out" "the resident clerk is of another build; forking one" "... by a clerk of its own"
pid3=$(clerk_pid)
ok "the replaced clerk leaves" wait_for sh -c "! kill -0 $pid2"
like "$pid3" "^[0-9]+$" "... and the new one serves the socket"

# A clerk killed outright leaves its socket behind: the next run forks.
kill -KILL "$pid3"
wait_for sh -c "! kill -0 $pid3"
ok "a dead clerk's socket stays behind" test -S "$sock"
out=$(run -vv -- /bin/true 2>&1)
is "$?" 0 "a run after a clerk's death is admitted"
like "$out" "ledger: clerk [0-9]+ forked" "... by a clerk it forks"

# A clerk that is stopped (not dead) must not hang a run: after the answer
# timeout (twice the ledger's busy timeout, plus 5 s) the run forks its own.
export KDC_LEDGER_BUSY_TIMEOUT=300ms
run --quiet -- /bin/true
stopped=$(clerk_pid)
kill -STOP "$stopped"
add_cleanup "kill -CONT $stopped 2>/dev/null"
start=$(date +%s%N)
out=$(run -vv -- /bin/true 2>&1)
rc=$?
elapsed=$((($(date +%s%N) - start) / 1000000))
kill -CONT "$stopped"
is "$rc" 0 "a run whose resident clerk is stopped is admitted all the same"
like "$out" "the resident clerk did not answer; forking one" "... by a clerk it forks after the timeout"
unlike "$out" "login name from the resident clerk" "... its tenant looked up by itself, not waited for"
ok "... within the answer timeout and a margin (${elapsed} ms)" test "$elapsed" -lt 12000
unset KDC_LEDGER_BUSY_TIMEOUT

# The ledger made anew under the clerk (files removed, socket kept): the
# clerk opens the new one.
rm -f "$db" "$db-wal" "$db-shm"
run --json-status "$work/new.json" --quiet -- /bin/true
is "$?" 0 "a run after the ledger was removed is admitted"
like "$("$KDC_LEDGER" sessions)" "$(session_of "$work/new.json") .*exited" "... and recorded in the new ledger"
ok "... whose chain verifies" "$KDC_LEDGER" verify

# Idle: a clerk leaves after $KDC_LEDGER_LINGER without a client, and
# removes its socket; with 0 none stays at all.
pid4=$(clerk_pid)
kill "$pid4"
wait_for sh -c "! kill -0 $pid4"
rm -f "$sock"
KDC_LEDGER_LINGER=1s run --quiet -- /bin/true
pid5=$(clerk_pid)
like "$pid5" "^[0-9]+$" "with KDC_LEDGER_LINGER=1s the clerk stays a while"
ok "... and leaves once idle that long" wait_for sh -c "! kill -0 $pid5"
ok "... removing its socket" test ! -e "$sock"
KDC_LEDGER_LINGER=0 run --quiet -- /bin/true
is "$?" 0 "with KDC_LEDGER_LINGER=0 a run is admitted"
is "$(clerk_pid)" "" "... and no clerk stays"
ok "... nor any socket" test ! -e "$sock"
out=$(KDC_LEDGER_LINGER=soon run -- /bin/true 2>&1)
is "$?" 125 "a bad KDC_LEDGER_LINGER is refused (125)"
like "$out" "invalid \\\$KDC_LEDGER_LINGER 'soon'" "... naming it"

# Several runs at once, through one clerk: each recorded once.
run --quiet -- /bin/true
for i in 1 2 3 4 5 6; do
	run --quiet --json-status "$work/p$i.json" -- /bin/true &
done
wait
n=0
for i in 1 2 3 4 5 6; do
	"$KDC_LEDGER" sessions | grep -q "$(session_of "$work/p$i.json") .*exited" && n=$((n + 1))
done
is "$n" 6 "six concurrent runs are all recorded and settled"
ok "the chain verifies after them" "$KDC_LEDGER" verify

# Group commit: while another writer holds the database for 1.5 s, 16 runs
# queue up at the clerk; it then serves their requests together, in one
# transaction each time, and every run is recorded once, in an intact chain.
gpid=$(clerk_pid)
python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE"); open(sys.argv[2], "w").close(); time.sleep(1.5); c.execute("COMMIT")' \
	"$db" "$work/locked" &
lockpid=$!
wait_for test -e "$work/locked"
for i in $(seq 1 16); do
	run -vv --json-status "$work/g$i.json" -- /bin/true >"$work/g$i.out" 2>&1 &
done
wait
n=0 grouped=0
for i in $(seq 1 16); do
	"$KDC_LEDGER" sessions | grep -Eq "^$(session_of "$work/g$i.json") .* exited +0 " && n=$((n + 1))
	grep -Eq "ledger: group of ([2-9]|[1-9][0-9]+) requests, one commit, .* \(clerk $gpid\)" "$work/g$i.out" &&
		grouped=$((grouped + 1))
done
is "$n" 16 "16 runs queued behind another writer are all recorded and settled"
ok "... several of them in one commit (group commit)" test "$grouped" -ge 2
ok "... and the chain verifies" "$KDC_LEDGER" verify
is "$("$KDC_LEDGER" sessions | grep -Ec '^[0-9a-f]{32} .* exited ')" \
	"$("$KDC_LEDGER" sessions | grep -Ec '^[0-9a-f]{32} ')" "... with no session left open"

# kdc-ledger's hold, charge, post and void go through the resident clerk.
# 16 holds at once against a cap with room for 10: exactly 10 placed, each
# once; then posts, a replay and a void, all with the answers a direct call
# gives, and an intact chain.
"$KDC_LEDGER" tenant add clerkco >/dev/null
"$KDC_LEDGER" budget set clerkco --limit 10USD --period total >/dev/null
cpid=$(listener "$db")
for i in $(seq 1 16); do
	("$KDC_LEDGER" hold clerkco 1USD --id "ch$i" >"$work/ch$i.out" 2>&1; echo $? >"$work/ch$i.rc") &
done
wait
placed=0 refused=0
for i in $(seq 1 16); do
	case "$(cat "$work/ch$i.rc")" in
	0) [ "$(cat "$work/ch$i.out")" = "ch$i" ] && placed=$((placed + 1)) ;;
	1) grep -q "exhausted: budget 'clerkco' exhausted" "$work/ch$i.out" && refused=$((refused + 1)) ;;
	esac
done
is "$placed/$refused" 10/6 "kdc-ledger: 16 holds at once through the clerk, room for 10: 10 placed, 6 refused"
like "$cpid" "^[0-9]+$" "... while kdc-run's clerk listens"
is "$(listener "$db")" "$cpid" "... served by it (no other took its place)"
first=$(for i in $(seq 1 16); do [ "$(cat "$work/ch$i.rc")" = 0 ] && echo "ch$i"; done | head -n 1)
is "$("$KDC_LEDGER" post "$first" 0.25USD 2>&1)" "posted 0.25 USD of hold '$first', released 0.75" \
	"... a post through the clerk answers as a direct one"
replay=$("$KDC_LEDGER" post "$first" 0.25USD 2>&1)
is "$replay" "hold '$first' was already posted: 0.25 USD" "... its retry is a replay"
is "$(KDC_LEDGER_LINGER=0 "$KDC_LEDGER" post "$first" 0.25USD 2>&1)" "$replay" "... the same when made directly"
out=$("$KDC_LEDGER" post "$first" 0.5USD 2>&1)
is "$?" 4 "... the same id with another amount: exit 4"
like "$out" "already-posted" "... already posted"
is "$("$KDC_LEDGER" void nosuchhold 2>&1; echo "rc=$?")" \
	"kdc-ledger: void 'nosuchhold': not-found: no hold 'nosuchhold'
rc=3" "... void of an unknown id: its message and exit 3"
like "$("$KDC_LEDGER" budget show --format csv)" "clerkco,total,USD,10.00,0.25,9.00,0.75" \
	"... and the budget holds exactly that"
ok "... in an intact chain" "$KDC_LEDGER" verify

# With no clerk listening, kdc-ledger forks one, which stays for the next
# calls; with KDC_LEDGER_LINGER=0 none is used nor left.
kdb="$work/kdc-ledger-only.db"
KDC_DB=$kdb "$KDC_LEDGER" init >/dev/null
KDC_DB=$kdb "$KDC_LEDGER" tenant add solo >/dev/null
KDC_DB=$kdb KDC_LEDGER_LINGER=0 "$KDC_LEDGER" charge solo 1USD --id s0 >/dev/null
is "$(listener "$kdb")" "" "KDC_LEDGER_LINGER=0: kdc-ledger leaves no clerk"
is "$(KDC_DB=$kdb "$KDC_LEDGER" charge solo 1USD --id s1)" s1 "kdc-ledger with no clerk listening: the charge is made"
kpid=$(listener "$kdb")
like "$kpid" "^[0-9]+$" "... by a clerk it forked, which stays"
is "$(cat /proc/"$kpid"/comm 2>/dev/null)" kdc-clerk "... named kdc-clerk"
ok "... listening beside the ledger" test -S "$kdb-clerk"
is "$(KDC_DB=$kdb "$KDC_LEDGER" charge solo 1USD --id s2)" s2 "the next call is made"
is "$(listener "$kdb")" "$kpid" "... by the same clerk"
is "$(KDC_DB=$kdb "$KDC_LEDGER" usage --format csv | tail -n 1)" "solo,tenant,USD,3.00" "... three charges recorded"
kill "$kpid"

# The socket removed (its directory going away in tests): the clerk leaves.
pid6=$(clerk_pid)
rm -f "$sock"
ok "a clerk whose socket is gone leaves" wait_for sh -c "! kill -0 $pid6"

done_testing
