#!/bin/bash
# SPDX-License-Identifier: MIT
# Ledger property 5 (misuse) and 4 (idempotency) through kdc-ledger: post
# twice, void then post, post more than held, cross-tenant ids, zero,
# negative and overflowing amounts each get their exact exit status and
# message, change no balance, and leave exactly one audit row; retried ids
# have one effect, and a refused id stays refused.
. "$top_srcdir/tests/lib/libtest.sh"

[ -x "$KDC_LEDGER" ] || bail_out "kdc-ledger is not built"

export KDC_DB="$TESTDIR/kdc.db"
L() { "$KDC_LEDGER" "$@"; }
balances() { L budget show --format csv; }
rows() { L audit --format csv | tail -n +2 | wc -l; }

L tenant add acme >/dev/null
L tenant add beta >/dev/null
L budget set acme --limit 100USD --period total >/dev/null
L budget set acme/web --limit 20USD --period total >/dev/null
L hold acme/web 4USD --id posted >/dev/null
L post posted 3USD >/dev/null
L hold acme/web 2USD --id voided >/dev/null
L void voided >/dev/null
L hold acme/web 5USD --id live >/dev/null
L hold beta 1USD --id theirs >/dev/null
before=$(balances)

# misuse STATUS "MESSAGE" "description" args...: exact status and message,
# balances unchanged, one more audit row.
misuse() {
	local want=$1 msg=$2 desc=$3 n out st
	shift 3
	n=$(rows)
	out=$(L "$@" 2>&1)
	st=$?
	is "$st" "$want" "$desc: exit $want"
	is "$out" "$msg" "$desc: message"
	is "$(balances)" "$before" "$desc: balances unchanged"
	is "$(rows)" "$((n + 1))" "$desc: one audit row"
}

misuse 4 "kdc-ledger: post 'posted': already-posted: hold 'posted' was already posted with 3.00 USD" \
	"post twice" post posted 1USD
misuse 4 "kdc-ledger: void 'posted': already-posted: hold 'posted' was already posted with 3.00 USD" \
	"void after post" void posted
misuse 4 "kdc-ledger: post 'voided': already-voided: hold 'voided' was voided" \
	"void then post" post voided 1USD
misuse 4 "kdc-ledger: post 'live': exceeds-hold: cannot post 5.000001 USD: hold 'live' is 5.00 USD" \
	"post more than held" post live 5.000001USD
misuse 3 "kdc-ledger: post 'live': not-found: no hold 'live' for tenant 'beta'" \
	"post another tenant's hold" post live --tenant beta
misuse 3 "kdc-ledger: void 'theirs': not-found: no hold 'theirs' for tenant 'acme'" \
	"void another tenant's hold" void theirs --tenant acme
misuse 3 "kdc-ledger: post 'forged': not-found: no hold 'forged'" \
	"post a forged id" post forged
misuse 2 "kdc-ledger: hold 'zero': invalid: invalid amount: a hold must be greater than zero" \
	"zero hold" hold acme/web 0USD --id zero
misuse 2 "kdc-ledger: hold 'neg': invalid: invalid amount: a hold must be greater than zero" \
	"negative hold" hold acme/web --id neg -- -1USD
misuse 2 "kdc-ledger: post 'live': invalid: invalid amount: a post must be greater than zero (void releases a hold)" \
	"zero post" post live 0USD
misuse 2 "kdc-ledger: hold 'big': overflow: totals of scope 'acme' in USD would overflow" \
	"overflowing hold" hold acme/web 9223372036854.775807USD --id big
misuse 4 "kdc-ledger: hold 'live': conflict: id 'live' is already used by a hold of 5.00 USD in 'acme/web'" \
	"id reused with another amount" hold acme/web 6USD --id live
misuse 1 "kdc-ledger: hold 'greedy': exhausted: budget 'acme/web' exhausted: 3.00 of 20.00 USD spent in total, 5.00 held, 13.00 requested" \
	"over the cap" hold acme/web 13USD --id greedy
# An amount that cannot be represented never reaches the ledger.
n=$(rows)
out=$(L hold acme/web 9223372036854.775808USD --id huge 2>&1); st=$?
out=$(printf '%s\n' "$out" | head -n 1)
is "$st" 2 "amount beyond int64: usage error"
is "$out" "kdc-ledger: amount '9223372036854.775808USD' is out of range (at most 9223372036854.775807)" "... says why"
is "$(rows)" "$n" "... and writes nothing"

# --- property 4 -----------------------------------------------------------------
misuse 1 "kdc-ledger: hold 'greedy': exhausted: budget 'acme/web' exhausted: 3.00 of 20.00 USD spent in total, 5.00 held, 13.00 requested" \
	"a refused id retried: still refused, same words" hold acme/web 13USD --id greedy
L void live >/dev/null
ok "capacity is back" L hold acme/web 13USD --id other
L void other >/dev/null
before=$(balances)
misuse 1 "kdc-ledger: hold 'greedy': exhausted: budget 'acme/web' exhausted: 3.00 of 20.00 USD spent in total, 5.00 held, 13.00 requested" \
	"a refused id stays refused when capacity is back" hold acme/web 13USD --id greedy
misuse 4 "kdc-ledger: hold 'zero': conflict: id 'zero' is already used by a hold of 0.00 USD in 'acme/web'" \
	"a refused id cannot be reused with other fields" hold acme/web 1USD --id zero

L hold acme/web 2USD --id twice >/dev/null
after_first=$(balances)
ok "hold retried" L hold acme/web 2USD --id twice
is "$(balances)" "$after_first" "... one effect"
L post twice 1USD >/dev/null
after_first=$(balances)
ok "post retried" L post twice 1USD
is "$(balances)" "$after_first" "... one effect"
L charge acme 1USD --id once >/dev/null
after_first=$(balances)
ok "charge retried" L charge acme 1USD --id once
is "$(balances)" "$after_first" "... one effect"
ok "the trail holds" L verify

done_testing
