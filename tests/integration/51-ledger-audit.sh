#!/bin/bash
# SPDX-License-Identifier: MIT
# The audit trail from the command line: every change leaves one row, the
# filters, --follow, and 'verify' naming the first broken row (exit 1) after
# the file is edited behind the ledger's back.
. "$top_srcdir/tests/lib/libtest.sh"

[ -x "$KDC_LEDGER" ] || bail_out "kdc-ledger is not built"
require_cmd sqlite3 python3

export KDC_DB="$TESTDIR/kdc.db"
L() { "$KDC_LEDGER" "$@"; }
T0=1795348800 # 2026-11-22T12:00:00Z

export KDC_LEDGER_FAKE_NOW=$((T0 - 3600))
L tenant add acme >/dev/null
L tenant add beta >/dev/null
L budget set acme --limit 10USD --period total >/dev/null
export KDC_LEDGER_FAKE_NOW=$T0
L hold acme/web 4USD --id a1 --session s1 >/dev/null
L hold acme/web 7USD --id a2 --session s1 >/dev/null 2>&1
L post a1 1USD >/dev/null
export KDC_LEDGER_FAKE_NOW=$((T0 + 7200))
L charge beta 1USD --id b1 --session s2 >/dev/null
L void nosuch >/dev/null 2>&1
unset KDC_LEDGER_FAKE_NOW

out=$(L audit --format csv | cut -d, -f1,7,8,9,10 | tail -n +2)
is "$out" "1,ledger,tenant-add,acme,allow
2,ledger,tenant-add,beta,allow
3,ledger,budget-set,acme,allow
4,ledger,hold,a1,allow
5,ledger,hold,a2,deny
6,ledger,post,a1,allow
7,ledger,charge,b1,allow
8,ledger,void,nosuch,error" "one row per decision, in order"
out=$(L audit --tenant beta --format csv | tail -n +2 | cut -d, -f1)
is "$(echo $out)" "2 7" "--tenant"
out=$(L audit --session s1 --format csv | tail -n +2 | cut -d, -f1)
is "$(echo $out)" "4 5 6" "--session"
out=$(L audit --decision deny --format json | python3 -c 'import json,sys; r=json.load(sys.stdin); print(len(r), r[0]["rule"], r[0]["reason"])')
is "$out" "1 exhausted budget 'acme' exhausted: 0.00 of 10.00 USD spent in total, 4.00 held, 7.00 requested" "--decision deny"
out=$(KDC_LEDGER_FAKE_NOW=$((T0 + 7200)) L audit --since 1h --format csv | tail -n +2 | cut -d, -f1)
is "$(echo $out)" "7 8" "--since 1h (a duration ago)"
out=$(L audit --since 2026-11-22T13:00:00Z --format csv | tail -n +2 | cut -d, -f1)
is "$(echo $out)" "7 8" "--since an ISO time"
out=$(L audit --since @$((T0 + 1)) --format csv | tail -n +2 | cut -d, -f1)
is "$(echo $out)" "7 8" "--since @seconds"
out=$(L audit --last 2 --format csv | tail -n +2 | cut -d, -f1)
is "$(echo $out)" "7 8" "--last 2"
out=$(L audit --format json | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r[3]["detail"])')
is "$out" '{"amount":4000000,"replayed":false,"scope":"acme/web","ttl":3600000000,"unit":"USD"}' "detail is exact JSON"
out=$(L audit | head -n 1)
like "$out" '^ +SEQ +TIME +DECISION +ACTOR +ACTION +OBJECT +SCOPE +REASON$' "table header"
fails "bad --since" L audit --since yesterday
fails "bad --decision" L audit --decision maybe

# --follow prints new rows as they are committed.
# The binary itself in the background (not the L function, whose $! would
# be a subshell that a kill does not pass on).
"$KDC_LEDGER" audit --follow --format json >"$TESTDIR/follow.out" 2>&1 &
fpid=$!
add_cleanup "kill $fpid"
sleep 0.5
L hold acme 1USD --id f1 >/dev/null
for i in $(seq 50); do grep -q '"object":"f1"' "$TESTDIR/follow.out" && break; sleep 0.1; done
kill "$fpid"; wait "$fpid" 2>/dev/null
out=$(python3 -c 'import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; print(len(rows), rows[-1]["object"], rows[-1]["seq"])' "$TESTDIR/follow.out")
is "$out" "9 f1 9" "--follow: the history, then the new row, one JSON object a line"

# --- verify ---------------------------------------------------------------
out=$(L verify)
like "$out" '^audit trail intact: 9 rows, head [0-9a-f]{64}$' "verify: intact"
# A consistent copy (the WAL holds the newest rows, so not cp).
sqlite3 "$KDC_DB" ".backup '$TESTDIR/pristine.db'"
# Through SQL the trail refuses changes; the triggers have to go first.
fails "sqlite3 cannot update the trail" sqlite3 "$KDC_DB" "UPDATE audit SET reason = 'x' WHERE seq = 5"
sqlite3 "$KDC_DB" "DROP TRIGGER audit_no_update; UPDATE audit SET decision = 'allow', reason = 'fine' WHERE seq = 5"
out=$(L verify 2>&1); st=$?
is "$st" 1 "verify of an altered row exits 1"
is "$out" "kdc-ledger: audit trail broken at row 5: hash mismatch (row or its predecessor altered)" "... and names it"
sqlite3 "$KDC_DB" "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq < 5"
out=$(L verify 2>&1)
is "$out" "kdc-ledger: audit trail broken at row 5: sequence gap: expected row 1" "verify: deleted rows are a gap"
cp "$TESTDIR/pristine.db" "$KDC_DB"
rm -f "$KDC_DB-wal" "$KDC_DB-shm"
sqlite3 "$KDC_DB" "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 9"
ok "verify: the tail can be cut without a trace (so keep the head hash elsewhere)" L verify
out=$(L verify)
like "$out" 'intact: 8 rows' "... it reports 8 rows and another head"

done_testing
