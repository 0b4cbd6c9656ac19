#!/bin/bash
# SPDX-License-Identifier: MIT
# Ledger property 6, fail closed: a full disk, a read-only database and a
# locked one deny (exit 6) and record no spend; what was acknowledged stays,
# the audit chain has no gap, and an id refused this way was never recorded
# (it works later as a new hold, not as a replay).
. "$top_srcdir/tests/lib/libtest.sh"

[ -x "$KDC_LEDGER" ] || bail_out "kdc-ledger is not built"
require_root
require_cmd unshare mount umount python3 setpriv

L="$KDC_LEDGER"

# --- a full disk: a small tmpfs in a mount namespace of our own ------------------
mkdir -p "$TESTDIR/full"
cat >"$TESTDIR/full.sh" <<'SCRIPT'
set -u
d=$1 L=$2
mount -t tmpfs -o size=512k,mode=0700 kdc-test "$d" || exit 90
trap 'umount "$d"' EXIT
export KDC_DB="$d/kdc.db"
"$L" init >/dev/null && "$L" tenant add acme >/dev/null && "$L" budget set acme --limit 100USD --period total >/dev/null || exit 91
"$L" hold acme 1USD --id before >/dev/null || exit 92
dd if=/dev/zero of="$d/fill" bs=4k 2>/dev/null
# The WAL keeps up to 64 KiB of zeros past its last frame (ledger-vfs.h):
# holds that fit there are written, synced and acknowledged like any other.
# They are counted, and must all be in the trail; the first that does not
# fit is the first refused, and the disk is full from then on.
room=0
while "$L" hold acme 1USD --id "room$room" >/dev/null 2>&1; do
	room=$((room + 1))
	[ $room -le 32 ] || { echo "more than 32 holds on a full disk"; exit 94; }
done
echo "room $room"
denied=0
for i in $(seq 1 20); do
	out=$("$L" hold acme 1USD --id "full$i" 2>&1)
	case $? in
	6) denied=$((denied + 1)); last=$out ;;
	0) echo "acknowledged full$i" ;;
	*) echo "unexpected: $out"; exit 93 ;;
	esac
done
echo "denied $denied"
echo "message $last"
rm -f "$d/fill"
"$L" verify | sed 's/, head.*//'
"$L" budget show --format csv | tail -n 1
# Were the refused ids recorded? A fresh hold under the same id is new.
"$L" hold acme 1USD --id full1 >/dev/null
"$L" audit --format json --last 1 | python3 -c 'import json,sys; print("replayed", json.loads(json.load(sys.stdin)[0]["detail"])["replayed"])'
SCRIPT
out=$(unshare -m bash "$TESTDIR/full.sh" "$TESTDIR/full" "$L" 2>&1)
st=$?
is "$st" 0 "full disk scenario ran (in a private mount namespace)"
room=$(echo "$out" | sed -n 's/^room \([0-9]*\)$/\1/p')
# the 3 rows written before the disk filled, and one per hold that fit
rows=$((room + 3))
budget="acme,total,USD,100.00,0.00,$((room + 1)).00,$((99 - room)).00,$((room + 1))"
diag "holds that fit in the WAL's spare room: ${room:-?}"
ok "full disk: at most 16 holds fit in the WAL's spare 64 KiB" test -n "$room" -a "${room:-99}" -le 16
like "$out" "denied 20" "full disk: every hold denied"
like "$out" "message kdc-ledger: cannot place hold: disk full; nothing was changed" "full disk: says why and that nothing changed"
unlike "$out" "acknowledged" "full disk: nothing acknowledged"
like "$out" "audit trail intact: $rows rows" "full disk: the trail has no gap, and no row for a refused hold"
like "$out" "$budget" "full disk: no spend recorded, the earlier holds intact"
like "$out" "replayed False" "full disk: a refused id was never recorded"

# --- a read-only database: a read-only bind mount (root ignores modes) ---------------
mkdir -p "$TESTDIR/ro"
export KDC_DB="$TESTDIR/ro/kdc.db"
"$L" init >/dev/null; "$L" tenant add acme >/dev/null; "$L" budget set acme --limit 10USD --period total >/dev/null
"$L" hold acme 2USD --id kept >/dev/null
before=$("$L" budget show --format csv)
# KDC_LEDGER_LINGER=0: the calls open the ledger themselves (the hold above
# left a clerk, which sees the ledger writable; see the end of this part).
ro_view() {
	unshare -m bash -c 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" || exit 90; shift; "$@"' \
		_ "$TESTDIR/ro" "$@"
}
out=$(KDC_LEDGER_LINGER=0 ro_view bash -c '
	"$1" hold acme 1USD --id ro1 2>&1; echo "rc=$?"
	"$1" post kept 2>&1; echo "rc=$?"
	"$1" budget show --format csv 2>&1 | tail -n 1; "$1" verify 2>&1 | sed "s/, head.*//"' _ "$L")
like "$out" "kdc-ledger: cannot write the ledger '$TESTDIR/ro/kdc.db': Read-only file system" "read-only: a hold is refused with the reason"
is "$(echo "$out" | grep -c '^rc=6$')" 2 "read-only: hold and post exit 6"
like "$out" "acme,total,USD,10.00,0.00,2.00,8.00,20" "read-only: reading still works"
like "$out" "audit trail intact: 3 rows" "read-only: verify still works"
is "$("$L" budget show --format csv)" "$before" "read-only: nothing changed"
# The clerk a call left behind holds the ledger open for writing: a hold
# made where only the caller's view is read-only goes through it.
is "$(ro_view "$L" hold acme 1USD --id ro-clerk 2>&1)" ro-clerk \
	"read-only view, resident clerk: hold, charge, post and void go through the clerk"

# As the owner without write permission (modes bind the unprivileged).
mkdir -p "$TESTDIR/ro2" && chown 65534:65534 "$TESTDIR/ro2"
N() { setpriv --reuid=65534 --regid=65534 --clear-groups env KDC_DB="$TESTDIR/ro2/kdc.db" "$L" "$@"; }
N init >/dev/null; N tenant add acme >/dev/null
chmod 0400 "$TESTDIR/ro2/kdc.db"
out=$(N charge acme 1USD --id c1 2>&1); st=$?
is "$st" 6 "no write permission: a charge exits 6"
like "$out" "cannot write the ledger .*: Permission denied" "... and says why"
chmod 0600 "$TESTDIR/ro2/kdc.db"
is "$(N audit --format csv | tail -n +2 | wc -l)" 1 "... and left no row"

# --- a locked database: another writer holds the lock past the busy timeout -----------
export KDC_DB="$TESTDIR/locked.db"
"$L" init >/dev/null; "$L" tenant add acme >/dev/null
python3 - "$KDC_DB" <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("UPDATE tenants SET created = created")
open(sys.argv[1] + ".held", "w").close()
time.sleep(3)
db.execute("ROLLBACK")
PY
locker=$!
add_cleanup "kill $locker"
for i in $(seq 50); do [ -e "$KDC_DB.held" ] && break; sleep 0.1; done
start=$(date +%s%N)
out=$(KDC_LEDGER_BUSY_TIMEOUT=300ms "$L" hold acme 1USD --id l1 2>&1); st=$?
ms=$((($(date +%s%N) - start) / 1000000))
is "$st" 6 "locked: the hold is denied (exit 6)"
is "$out" "kdc-ledger: cannot place hold: database is locked (busy timeout reached); nothing was changed" "locked: says why"
ok "locked: within the busy timeout (${ms} ms)" [ "$ms" -lt 2000 ]
wait "$locker"
ok "unlocked: the same id is new" "$L" hold acme 1USD --id l1
is "$("$L" audit --format csv | tail -n +2 | wc -l)" 2 "locked: no row for the refused call"

# --- a full disk under the clerk's group commit ---------------------------------------
# kdc-run's requests reach the resident clerk together while another writer
# holds the database; the disk fills meanwhile. The group's commit fails,
# the clerk serves each request alone (which fails too), and every run is
# denied: none is told it was admitted, none is recorded, and once there is
# room again the same clerk admits the next run.
mkdir -p "$TESTDIR/gfull" "$TESTDIR/gwork"
cat >"$TESTDIR/gfull.sh" <<'SCRIPT'
set -u
d=$1 R=$2 L=$3 w=$4
mount -t tmpfs -o size=1m,mode=0700 kdc-test "$d" || exit 90
export KDC_DB="$d/kdc.db" KDC_LEDGER_LINGER=60s
trap 'pkill -f "^kdc-run: ledger clerk for $KDC_DB"; umount -l "$d"' EXIT
run() { "$R" --profile default --workdir "$w" "$@"; }
run --quiet -- /bin/true || exit 91
clerk=$(pgrep -n -f "^kdc-run: ledger clerk for $KDC_DB") || exit 92
# The disk fills now, and the WAL's spare room (ledger-vfs.h) with tenants
# until the first is refused: what the runs below write can fit nowhere.
dd if=/dev/zero of="$d/fill" bs=4k 2>/dev/null
room=0
while "$L" tenant add "room$room" >/dev/null 2>&1; do
	room=$((room + 1))
	[ $room -le 32 ] || { echo "more than 32 tenants on a full disk"; exit 94; }
done
python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE"); open(sys.argv[2], "w").close(); time.sleep(1.5); c.execute("COMMIT")' \
	"$KDC_DB" "$w/locked" &
for i in $(seq 1 50); do [ -e "$w/locked" ] && break; sleep 0.1; done
for i in 1 2 3 4 5 6; do
	(run -vv -- /bin/true >"$w/g$i.out" 2>&1; echo $? >"$w/g$i.rc") &
done
wait
denied=0 grouped=0
for i in 1 2 3 4 5 6; do
	grep -q "denied: the ledger at $KDC_DB cannot answer" "$w/g$i.out" && denied=$((denied + 1))
	grep -Eq "ledger: group of [2-6] requests not committed .*: each served alone \(clerk $clerk\)" "$w/g$i.out" &&
		grouped=$((grouped + 1))
	[ "$(cat "$w/g$i.rc")" = 123 ] || echo "g$i exited $(cat "$w/g$i.rc")"
done
echo "denied $denied"
echo "grouped $grouped"
rm -f "$d/fill"
echo "sessions $("$L" sessions | grep -Ec '^[0-9a-f]{32} ')"
"$L" verify | sed 's/, head.*//'
run --quiet -- /bin/true && echo "admitted after"
echo "same clerk $([ "$(pgrep -n -f "^kdc-run: ledger clerk for $KDC_DB")" = "$clerk" ] && echo yes || echo no)"
echo "sessions $("$L" sessions | grep -Ec '^[0-9a-f]{32} ')"
SCRIPT
out=$(unshare -m bash "$TESTDIR/gfull.sh" "$TESTDIR/gfull" "$KDC_RUN" "$L" "$TESTDIR/gwork" 2>&1)
is "$?" 0 "clerk full disk scenario ran (in a private mount namespace)"
like "$out" "denied 6" "clerk, full disk: every run queued in the group is denied"
like "$out" "grouped [1-9]" "... after the group's commit failed and each request was served alone"
unlike "$out" "exited" "... each with exit 123: none is told it was admitted"
like "$out" "sessions 1" "... none is recorded (only the run before)"
like "$out" "audit trail intact" "... the chain has no gap"
like "$out" "admitted after" "with room again the next run is admitted"
like "$out" "same clerk yes" "... by the same clerk"
like "$out" "sessions 2" "... and recorded"

done_testing
