#!/bin/bash
# SPDX-License-Identifier: MIT
# kdc-ledger end to end, as root and as an unprivileged user: where the
# database lives and how private it is, tenants, budgets, holds, charges,
# reports in every format, and the documented exit codes.
. "$top_srcdir/tests/lib/libtest.sh"

[ -x "$KDC_LEDGER" ] || bail_out "kdc-ledger is not built"
require_cmd python3

# rc EXPECTED "description" command...: passes when the exit status matches.
rc() {
	local want=$1 desc=$2 got
	shift 2
	"$@" >"$TESTDIR/.rc.out" 2>&1
	got=$?
	if [ "$got" -eq "$want" ]; then
		_result 0 "$desc"
	else
		_result 1 "$desc"
		diag "command: $*" "exit status: $got, want $want"
		sed 's/^/#   /' "$TESTDIR/.rc.out" | head -n 20
	fi
}

mode_of() { stat -c %a "$1"; }

cli_as() {
	local home db
	if [ "$WHO" = root ]; then
		# Never the real /var/lib/kdc: root always names its database.
		db="$TESTDIR/root/kdc.db"
		L() { KDC_DB="$TESTDIR/root/kdc.db" "$KDC_LEDGER" "$@"; }
	else
		home="$TESTDIR/nobody-home"
		db="$home/state/kdc/kdc.db"
		L() { as_nobody env XDG_STATE_HOME="$TESTDIR/nobody-home/state" KDC_DB= "$KDC_LEDGER" "$@"; }
	fi

	# --- the database and its privacy -----------------------------------
	out=$(L init 2>&1)
	is "$out" "ledger ready at $db (schema 1)" "$WHO: init names the database"
	is "$(mode_of "$db")" 600 "$WHO: database file is 0600"
	is "$(mode_of "$(dirname "$db")")" 700 "$WHO: database directory is 0700"
	ok "$WHO: init is idempotent" L init

	if [ "$WHO" = nobody ]; then
		# Without XDG_STATE_HOME: ~/.local/state.
		out=$(as_nobody env -u XDG_STATE_HOME KDC_DB= "$KDC_LEDGER" init 2>&1)
		is "$out" "ledger ready at $home/.local/state/kdc/kdc.db (schema 1)" "nobody: falls back to ~/.local/state"
		is "$(mode_of "$home/.local/state/kdc")" 700 "nobody: fallback directory is 0700"
		# A relative XDG_STATE_HOME is ignored (XDG base directory spec).
		out=$(cd "$home" && as_nobody env XDG_STATE_HOME=relative KDC_DB= "$KDC_LEDGER" init 2>&1)
		is "$out" "ledger ready at $home/.local/state/kdc/kdc.db (schema 1)" "nobody: relative XDG_STATE_HOME ignored"
	fi
	# --db beats KDC_DB.
	mkdir -p "$TESTDIR/other-$WHO" && chmod 777 "$TESTDIR/other-$WHO"
	out=$(L --db "$TESTDIR/other-$WHO/x.db" init 2>&1)
	is "$out" "ledger ready at $TESTDIR/other-$WHO/x.db (schema 1)" "$WHO: --db overrides the default"

	# --- tenants ----------------------------------------------------------
	rc 0 "$WHO: tenant add" L tenant add acme
	rc 0 "$WHO: tenant add with a session rate" L tenant add beta --rate 10/min --burst 5
	out=$(L tenant list --format csv)
	like "$out" "^beta,[0-9TZ:-]+,10/min burst 5$" "$WHO: tenant list shows the rate"
	rc 2 "$WHO: bad tenant name is a usage error" L tenant add 'bad name'
	rc 2 "$WHO: bad rate is a usage error" L tenant add acme --rate fast
	rc 2 "$WHO: --burst without --rate" L tenant add acme --burst 3
	rc 3 "$WHO: tenant rm of an unknown tenant" L tenant rm nosuch

	# --- budgets, holds, charges -------------------------------------------
	rc 0 "$WHO: budget set (month by default)" L budget set acme --limit 50USD
	rc 0 "$WHO: budget on a project, per day" L budget set acme/web --limit 10USD --period day
	rc 3 "$WHO: budget for an unknown tenant" L budget set ghost --limit 1USD
	rc 2 "$WHO: budget without --limit" L budget set acme
	rc 2 "$WHO: budget with a bad period" L budget set acme --limit 1USD --period year
	rc 2 "$WHO: budget with an inexact amount" L budget set acme --limit 0.0000001USD

	id=$(L hold acme/web/alice 4USD --id h1 --ttl 10m)
	is "$id" h1 "$WHO: hold prints its id"
	id=$(L hold acme/web 1USD)
	like "$id" '^hold-[0-9a-f]{24}$' "$WHO: hold without --id gets a random id"
	rc 0 "$WHO: a retried hold succeeds (idempotent)" L hold acme/web/alice 4USD --id h1 --ttl 10m
	rc 4 "$WHO: the same id with another amount is a conflict" L hold acme/web/alice 5USD --id h1 --ttl 10m
	rc 1 "$WHO: a hold over the project's daily cap is denied" L hold acme/web/bob 6USD --id h2
	out=$(L hold acme/web/bob 6USD --id h2 2>&1)
	is "$out" "kdc-ledger: hold 'h2': exhausted: budget 'acme/web' exhausted: 0.00 of 10.00 USD spent today, 5.00 held, 6.00 requested" \
		"$WHO: the denial names the budget, spent, held and asked"
	rc 3 "$WHO: a hold for an unknown tenant" L hold ghost 1USD
	rc 2 "$WHO: a zero hold is invalid" L hold acme 0USD --id z
	rc 2 "$WHO: a negative hold is invalid" L hold acme --id n -- -1USD
	rc 2 "$WHO: an amount beyond 64 bits" L hold acme 99999999999999USD --id o
	rc 2 "$WHO: an amount without a unit" L hold acme 12.50 --id u

	out=$(L post h1 2.50USD)
	is "$out" "posted 2.50 USD of hold 'h1', released 1.50" "$WHO: partial post releases the rest"
	rc 0 "$WHO: the same post again is a no-op" L post h1 2.50USD
	rc 4 "$WHO: a second post with another amount" L post h1 1USD
	rc 4 "$WHO: void after post" L void h1
	rc 3 "$WHO: post of an unknown hold" L post nosuch
	rc 2 "$WHO: post in another unit" L post "$id" 1EUR
	rc 3 "$WHO: post for another tenant" L post "$id" --tenant beta
	rc 0 "$WHO: void" L void "$id"
	rc 0 "$WHO: void again is a no-op" L void "$id"
	rc 4 "$WHO: post after void" L post "$id" 1USD
	rc 0 "$WHO: charge" L charge acme/api 3USD --id c1

	out=$(L budget show --format csv)
	is "$out" "scope,period,unit,limit,spent,held,left,used_percent
acme,month,USD,50.00,5.50,0.00,44.50,11
acme/web,day,USD,10.00,2.50,0.00,7.50,25" "$WHO: budget show: spent, held, left"
	out=$(L budget show acme/web)
	like "$out" 'acme/web +day +USD +10\.00 +2\.50 +0\.00 +7\.50 +25 +\[#####\.+\]' "$WHO: budget show draws a bar"
	out=$(L budget show --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[0]["spent"], d[0]["spent_micro"], d[1]["left_micro"])')
	is "$out" "5.50 5500000 7500000" "$WHO: budget show as JSON, exact amounts"

	# --- usage and report ----------------------------------------------------
	out=$(L usage --format csv)
	is "$out" "scope,level,unit,spent
acme,tenant,USD,5.50
acme/api,project,USD,3.00
acme/web,project,USD,2.50
acme/web/alice,user,USD,2.50" "$WHO: usage per tenant, project and user"
	out=$(L usage acme/web --format csv)
	is "$out" "scope,level,unit,spent
acme/web,project,USD,2.50
acme/web/alice,user,USD,2.50" "$WHO: usage of one subtree"
	month=$(date -u +%Y-%m)
	out=$(L report --month "$month" --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
	is "$out" 4 "$WHO: report --month of this month"
	out=$(L report --month 2020-01 --format csv)
	is "$out" "scope,level,unit,spent" "$WHO: report of an empty month"
	rc 2 "$WHO: report with a bad month" L report --month 2026-13
	rc 2 "$WHO: bad --format" L usage --format xml

	# --- removal ------------------------------------------------------------
	rc 0 "$WHO: hold before tenant rm" L hold acme 1USD --id p1
	rc 4 "$WHO: tenant rm refuses while holds are pending" L tenant rm acme
	rc 0 "$WHO: void it" L void p1
	rc 3 "$WHO: budget rm of nothing" L budget rm acme --unit EUR
	rc 0 "$WHO: budget rm" L budget rm acme/web --period day
	rc 0 "$WHO: tenant rm" L tenant rm acme
	out=$(L budget show --format csv)
	is "$out" "scope,period,unit,limit,spent,held,left,used_percent" "$WHO: its budgets went with it"
	out=$(L audit --tenant acme --format csv | tail -n 1 | cut -d, -f7-9)
	is "$out" "ledger,tenant-remove,acme" "$WHO: its history stays, removal audited"
	ok "$WHO: verify" L verify
}
for_each_user cli_as

# --- global behaviour (no user difference) -------------------------------------
L() { KDC_DB="$TESTDIR/g/kdc.db" "$KDC_LEDGER" "$@"; }
out=$("$KDC_LEDGER" --version)
like "$out" '^kdc-ledger [0-9]+\.[0-9]+' "--version"
rc 2 "no command" "$KDC_LEDGER"
rc 2 "unknown command" L frobnicate
rc 2 "unknown option" L hold --frob
rc 2 "tenant without subcommand" L tenant
for c in init "tenant add" "tenant list" "tenant rm" "budget set" "budget show" "budget rm" hold post void \
	charge usage report audit sessions verify gc; do
	# shellcheck disable=SC2086
	rc 0 "$c --help" L $c --help
done
out=$(L hold --help)
like "$out" 'kdc-ledger \[--db PATH\] hold SCOPE AMOUNT \[--id ID\] \[--ttl DURATION\] \[--session ID\]' "hold --help shows its options"
# Read commands do not create a ledger.
rc 6 "a read command on a missing ledger fails" L budget show
ok "... and creates nothing" [ ! -e "$TESTDIR/g/kdc.db" ]
rc 6 "an unusable KDC_LEDGER_FAKE_NOW is refused" env KDC_LEDGER_FAKE_NOW=soon "$KDC_LEDGER" --db "$TESTDIR/g/kdc.db" init

done_testing
