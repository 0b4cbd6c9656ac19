#!/bin/bash
# kdc-run's admission and settlement (DESIGN.md steps 2 and 10): a tenant is
# created on first use, every session is recorded and settled with its
# audit rows; a budget that cannot cover the run's worst case denies it
# with one line and exit 123 before any of the agent runs; a ledger that
# cannot answer denies too (fail closed).
. "$top_srcdir/tests/lib/libtest.sh"
require_root

mkdir -p "$TESTDIR/p"
# 1 USD per cpu-second: a 10 s run on 1 core may cost 10 USD at most.
cat >"$TESTDIR/p/priced.ini" <<EOI
[profile]
version = 1
include = default
[limits]
cpu = 1
wall = 10s
[budget]
unit = USD
cpu = 1USD
EOI
chmod -R a+rX "$TESTDIR/p"

cases() {
	local w=$WHO out rc work db
	work=$(make_workdir)
	if [ "$w" = nobody ]; then db="$TESTDIR/nobody-state/kdc/kdc.db"; else db=$KDC_DB; fi
	L() { ${AS:-} "$KDC_LEDGER" --db "$db" "$@"; }

	# First use creates the tenant, records and settles the session.
	out=$(${AS:-} "$KDC_RUN" --profile default --workdir "$work" --tenant "t-$w" \
		--json-status "$work/s1.json" -- /bin/true 2>&1)
	is "$?" 0 "$w: a run of a new tenant is admitted"
	like "$out" "created tenant 't-$w' in the ledger" "$w: ... and the tenant is created, said once"
	id=$(sed -n 's/.*"session": "\([0-9a-f]*\)".*/\1/p' "$work/s1.json")
	like "$(L sessions --tenant "t-$w")" "$id .*exited +0" "$w: the session is recorded, with its end"
	like "$(L audit --session "$id")" "admit" "$w: the admission is audited"
	like "$(L audit --session "$id")" "settle" "$w: the settlement is audited"
	ok "$w: the audit chain verifies" L verify
	# Each degradation the run took (here: the controls this host lacks)
	# is audited with the session.
	for d in $(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["degraded"]))' "$work/s1.json"); do
		like "$(L audit --session "$id")" "degrade +$d .*$d not enforced on this host" "$w: degradation '$d' is audited"
	done

	# The ledger (and its WAL, shared memory and lock files) is never in
	# the box: positive control outside, ENOENT inside.
	for f in "$db" "$db-wal" "$db-shm" "$db-lock"; do
		if [ -e "$f" ]; then
			is "$(probe_out stat "$f")" ok "$w: $(basename "$f") exists outside the box"
			is "$(probe_in stat "$f")" ENOENT "$w: $(basename "$f") is not in the box"
		fi
	done
	is "$(probe_in stat "$(dirname "$db")")" ENOENT "$w: the ledger's directory is not in the box"

	# A budget smaller than the worst case denies before the agent runs.
	L budget set "t-$w" --limit 5USD --period month >/dev/null
	out=$(${AS:-} "$KDC_RUN" --profile "$TESTDIR/p/priced.ini" --workdir "$work" --tenant "t-$w" \
		--json-status "$work/s2.json" -- /bin/sh -c 'touch /work/ran' 2>&1)
	rc=$?
	is "$rc" 123 "$w: a run the budget cannot cover is denied with 123"
	like "$out" "^kdc-run: denied: budget 't-$w'" "$w: ... with one line naming the budget"
	like "$out" "5.00" "$w: ... and its cap"
	[ ! -e "$work/ran" ]
	is "$?" 0 "$w: ... and none of the agent ran"
	like "$(cat "$work/s2.json")" '"reason": "denied"' "$w: --json-status says denied"
	like "$(L audit --tenant "t-$w" --decision deny)" "admit" "$w: the denial is audited"

	# With room for the hold, the run is admitted and its cost posted.
	L budget set "t-$w" --limit 50USD --period month >/dev/null
	${AS:-} "$KDC_RUN" --profile "$TESTDIR/p/priced.ini" --quiet --workdir "$work" --tenant "t-$w" \
		--json-status "$work/s3.json" -- /bin/sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done'
	is "$?" 0 "$w: a run the budget covers is admitted"
	like "$(cat "$work/s3.json")" '"cost": "0\.[0-9]+USD"' "$w: its cost is measured (cpu-seconds x price)"
	out=$(L budget show "t-$w" --format csv)
	unlike "$out" ',10\.00' "$w: the hold was released after settlement (nothing left held)"
	ok "$w: the audit chain still verifies" L verify

	# Without --tenant or $KDC_TENANT the tenant is the login name (from
	# the resident clerk, or NSS).
	${AS:-} env -u KDC_TENANT "$KDC_RUN" --profile default --quiet --workdir "$work" \
		--json-status "$work/d.json" -- /bin/true
	is "$?" 0 "$w: a run without a tenant is admitted"
	id=$(sed -n 's/.*"session": "\([0-9a-f]*\)".*/\1/p' "$work/d.json")
	like "$(L sessions --tenant "$w")" "$id .*exited +0" "$w: ... as the tenant named after the login name"
	KDC_TENANT="t-$w" ${AS:-} "$KDC_RUN" --profile default --quiet --workdir "$work" \
		--json-status "$work/e.json" -- /bin/true
	id=$(sed -n 's/.*"session": "\([0-9a-f]*\)".*/\1/p' "$work/e.json")
	like "$(L sessions --tenant "t-$w")" "$id .*exited +0" "$w: \$KDC_TENANT names the tenant instead"
}
for_each_user cases

# A ledger that cannot answer denies (fail closed): a database path in a
# directory nobody may create.
out=$(as_nobody env KDC_DB=/proc/kdc-no/kdc.db "$KDC_RUN" --profile default --workdir "$TESTDIR/nobody-home" \
	-- /bin/true 2>&1)
is "$?" 123 "a ledger that cannot be opened denies the run (123)"
like "$out" "kdc-run: denied: the ledger at /proc/kdc-no/kdc.db cannot answer" "... naming the ledger"

# The ledger clerk (the process that admits and settles, forked by kdc-run):
# one that dies before answering has admitted nothing: denied, nothing ran.
work=$(make_workdir)
out=$(KDC_LEDGER_PLUGIN="$top_builddir/tests/ledger/clerk-crash.so" "$KDC_RUN" --profile default \
	--workdir "$work" -- /bin/sh -c 'touch /work/ran' 2>&1)
is "$?" 123 "a clerk that dies before answering denies the run (123)"
like "$out" "kdc-run: denied: the ledger clerk \(pid [0-9]+\) ended without an answer" "... saying so"
[ ! -e "$work/ran" ]
is "$?" 0 "... and none of the agent ran"

# No ledger plugin at all: known before any clerk starts. Denied, unless
# the profile degrades budget.
out=$(KDC_LEDGER_PLUGIN=/nonexistent/kdc-ledger.so "$KDC_RUN" --profile default --workdir "$work" \
	-- /bin/sh -c 'touch /work/ran' 2>&1)
is "$?" 123 "without a ledger plugin the run is denied (123)"
like "$out" "kdc-run: denied: the ledger at \? cannot answer \(/nonexistent/kdc-ledger.so: No such file" "... naming it"
[ ! -e "$work/ran" ]
is "$?" 0 "... and none of the agent ran"
printf '[profile]\nversion = 1\ninclude = default\n[sandbox]\ndegrade = memory,cpu,pids,cgroup,egress-bpf,landlock,budget\n' \
	>"$TESTDIR/p/nobudget.ini"
out=$(KDC_LEDGER_PLUGIN=/nonexistent/kdc-ledger.so "$KDC_RUN" --profile "$TESTDIR/p/nobudget.ini" \
	--workdir "$work" -- /bin/sh -c 'touch /work/ran' 2>&1)
is "$?" 0 "with budget degraded, a run without a ledger plugin goes on"
like "$out" "warning: no admission: the ledger at \? cannot answer" "... with a warning"
ok "... and the agent ran" test -e "$work/ran"
rm -f "$work/ran"

# An allowlist that cannot be applied is part of the plan: refused (125)
# before the ledger hears of the run.
out=$("$KDC_RUN" --profile default --workdir "$work" --net filtered --allow '*:443' --tenant t-wild -- /bin/true 2>&1)
is "$?" 125 "a filtered run with a wildcard host is refused (125)"
like "$out" "kdc-run: \[network\] allow: '\*:443': wildcard host names work only with net = proxy" "... naming the entry"
unlike "$("$KDC_LEDGER" tenant list)" t-wild "... before the ledger heard of it (no tenant made)"

# The command is recorded whole, however long (and listed whole in CSV:
# "/bin/true " and two 70,000-byte arguments, 140,011 bytes and a newline).
long=$(head -c 70000 /dev/zero | tr '\0' x)
"$KDC_RUN" --profile default --workdir "$work" --quiet --json-status "$work/long.json" -- /bin/true "$long" "$long"
is "$?" 0 "a run with a 140 KB command line runs"
id=$(sed -n 's/.*"session": "\([0-9a-f]*\)".*/\1/p' "$work/long.json")
is "$("$KDC_LEDGER" sessions --format csv | grep "^$id," | sed 's/^[^/]*//' | wc -c)" 140012 \
	"... and is recorded and listed whole"

# A ^C reaches the whole process group, the clerk included: it must still
# settle the run that the signal ended.
setsid "$KDC_RUN" --profile default --workdir "$work" --json-status "$work/int.json" \
	-- /bin/sh -c 'touch /work/started; exec sleep 30' >"$work/int.out" 2>&1 &
pid=$!
wait_for test -e "$work/started"
ok "the agent of the ^C case started" test -e "$work/started"
kill -INT -- "-$pid"
wait "$pid"
is "$?" 130 "^C to the process group ends the run with 130"
id=$(sed -n 's/.*"session": "\([0-9a-f]*\)".*/\1/p' "$work/int.json")
like "$("$KDC_LEDGER" sessions)" "$id .*signaled" "... and the clerk settled it all the same"
like "$("$KDC_LEDGER" audit --session "$id")" "settle" "... with its audit row"

# SIGKILL of kdc-run takes the clerk it forked with it when the clerk does
# not linger (KDC_LEDGER_LINGER=0; 59-run-clerk.sh has the resident one):
# nothing of the run remains.
rm -f "$work/started"
KDC_LEDGER_LINGER=0 setsid "$KDC_RUN" --profile default --workdir "$work" -- /bin/sh -c 'touch /work/started; exec sleep 30' \
	>/dev/null 2>&1 &
pid=$!
wait_for test -e "$work/started"
ok "the agent of the SIGKILL case started" test -e "$work/started"
kids=$(pgrep -P "$pid" | tr '\n' ' ')
all="$pid $kids $(for k in $kids; do pgrep -P "$k"; done | tr '\n' ' ')"
is "$(echo $all | wc -w)" 4 "kdc-run, its clerk, pid 1 and the agent are there"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
gone() { ! ps -o pid= -p "${all// /,}" >/dev/null; }
ok "SIGKILL of kdc-run leaves no process of the run, the clerk included" wait_for gone

done_testing
