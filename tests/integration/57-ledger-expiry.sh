#!/bin/bash
# SPDX-License-Identifier: MIT
# Ledger property 3 through kdc-ledger with an injected clock
# (KDC_LEDGER_FAKE_NOW): capacity returns at the TTL and never before;
# posting an expired hold fails with 'expired' (exit 5); gc releases and
# counts; a kdc-run that died shows as 'lost' once its hold expired; and
# the sessions list shows what kdc-run recorded.
. "$top_srcdir/tests/lib/libtest.sh"

[ -x "$KDC_LEDGER" ] || bail_out "kdc-ledger is not built"
T="$top_builddir/tests/ledger/ledger-torture"
[ -x "$T" ] || bail_out "tests/ledger/ledger-torture is not built"

export KDC_DB="$TESTDIR/kdc.db"
T0=1795348800
at() { local t=$1; shift; KDC_LEDGER_FAKE_NOW=$t "$KDC_LEDGER" "$@"; }

at $T0 tenant add acme >/dev/null
at $T0 budget set acme --limit 10USD --period total >/dev/null
ok "a hold of the whole budget, TTL 10 s" at $T0 hold acme 10USD --id h --ttl 10s
out=$(at $T0.5 hold acme 1USD --id early 2>&1); st=$?
is "$st" 1 "half a second later: no capacity"
out=$(at $((T0 + 9)).999999 gc)
is "$out" "released 0 expired holds" "one microsecond before the TTL: gc releases nothing"
out=$(at $((T0 + 9)).999999 hold acme 1USD --id x1 2>&1); st=$?
is "$st" 1 "... and there is no capacity"
out=$(at $((T0 + 10)) budget show --format csv | tail -n 1)
is "$out" "acme,total,USD,10.00,0.00,0.00,10.00,0" "at the TTL: readers see it released"
ok "at the TTL: capacity is back, without gc" at $((T0 + 10)) hold acme 4USD --id x2
out=$(at $((T0 + 10)) post h 2>&1); st=$?
is "$st" 5 "posting the expired hold: exit 5"
is "$out" "kdc-ledger: post 'h': expired: hold 'h' expired after its TTL; its 10.00 USD were released" "... 'expired'"
out=$(at $((T0 + 10)) void h 2>&1); st=$?
is "$st" 5 "voiding it: exit 5 too"
at $((T0 + 10)) hold acme 1USD --id y1 --ttl 1m >/dev/null
at $((T0 + 10)) hold acme 1USD --id y2 --ttl 1m >/dev/null
out=$(at $((T0 + 70)) gc)
is "$out" "released 2 expired holds" "gc releases every due hold and counts them (x2 has an hour)"
out=$(at $((T0 + 70)) gc)
is "$out" "released 0 expired holds" "... once"
out=$(at $((T0 + 70)) audit --format csv | grep -c ',expire,')
is "$out" 3 "each expiry is audited"
at $((T0 + 70)) void x2 >/dev/null

# --- sessions, as kdc-run leaves them ----------------------------------------
S() { KDC_LEDGER_FAKE_NOW=$1 "$T" --db "$KDC_DB" "${@:2}"; }
ok "a session admitted" S $((T0 + 100)) admit run1 acme/web/alice 1USD 600 "python agent.py"
ok "... and settled" S $((T0 + 102)) settle run1 0.25USD exited 0
ok "a session whose kdc-run dies" S $((T0 + 110)) admit run2 acme/web/bob 2USD 30 "make test"
out=$(S $((T0 + 111)) admit run3 acme 9USD 60 "big"); st=$?
is "$st" 1 "a session over budget is denied"
is "$out" "budget 'acme' exhausted: 0.25 of 10.00 USD spent in total, 2.00 held, 9.00 requested" "... with the reason"
out=$(at $((T0 + 120)) sessions --format csv | cut -d, -f1,2,4,5,7)
is "$out" "id,scope,state,exit_status,cost
run1,acme/web/alice,exited,0,0.25 USD
run2,acme/web/bob,running,,
run3,acme,denied,123,0.00 USD" "sessions: ended, running, denied"
out=$(at $((T0 + 140)) sessions --format csv | grep '^run2' | cut -d, -f4)
is "$out" lost "a dead kdc-run's session is 'lost' once its hold expired"
out=$(at $((T0 + 140)) budget show --format csv | tail -n 1)
is "$out" "acme,total,USD,10.00,0.25,0.00,9.75,2" "... and its hold no longer counts"
out=$(S $((T0 + 141)) settle run2 1USD exited 0); st=$?
is "$st" 1 "settling after the expiry: recorded, not charged (-ETIME)"
out=$(at $((T0 + 141)) sessions --last 2 --tenant acme --format json | python3 -c 'import json,sys; s=json.load(sys.stdin); print(len(s), s[0]["id"], s[0]["state"], s[0]["cost"], s[0]["command"])')
is "$out" "2 run2 exited 0.00 USD make test" "sessions --last --tenant, JSON"
out=$(at $((T0 + 141)) audit --session run1 --format csv | tail -n +2 | cut -d, -f7,8,10)
is "$out" "kdc-run,admit,allow
kdc-run,settle,allow" "a session's audit rows: admit and settle"

done_testing
