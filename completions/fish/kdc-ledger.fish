# fish completion for kdc-ledger(1)
# SPDX-License-Identifier: MIT

set -l commands init tenant budget hold post void charge usage report audit sessions verify gc

complete -c kdc-ledger -f
complete -c kdc-ledger -n "not __fish_seen_subcommand_from $commands" -l db -r -F -d 'The ledger database'
complete -c kdc-ledger -s h -l help -d 'Show help'
complete -c kdc-ledger -n "not __fish_seen_subcommand_from $commands" -l version -d 'Show the version'

complete -c kdc-ledger -n "not __fish_seen_subcommand_from $commands" -a init -d 'Create the ledger'
complete -c kdc-ledger -n "not __fish_seen_subcommand_from $commands" -a tenant -d 'Add, list or remove tenants'
complete -c kdc-ledger -n "not __fish_seen_subcommand_from $commands" -a budget -d 'Set, show or remove budgets'
complete -c kdc-ledger -n "not __fish_seen_subcommand_from $commands" -a hold -d 'Reserve an amount'
complete -c kdc-ledger -n "not __fish_seen_subcommand_from $commands" -a post -d 'Spend a hold'
complete -c kdc-ledger -n "not __fish_seen_subcommand_from $commands" -a void -d 'Release a hold'
complete -c kdc-ledger -n "not __fish_seen_subcommand_from $commands" -a charge -d 'Hold and post at once'
complete -c kdc-ledger -n "not __fish_seen_subcommand_from $commands" -a usage -d 'Spent in the current period'
complete -c kdc-ledger -n "not __fish_seen_subcommand_from $commands" -a report -d 'Spent in a month'
complete -c kdc-ledger -n "not __fish_seen_subcommand_from $commands" -a audit -d 'Show the audit trail'
complete -c kdc-ledger -n "not __fish_seen_subcommand_from $commands" -a sessions -d 'List kdc-run sessions'
complete -c kdc-ledger -n "not __fish_seen_subcommand_from $commands" -a verify -d 'Check the audit hash chain'
complete -c kdc-ledger -n "not __fish_seen_subcommand_from $commands" -a gc -d 'Release expired holds'

# tenant add|list|rm
complete -c kdc-ledger -n "__fish_seen_subcommand_from tenant; and not __fish_seen_subcommand_from add list rm" -a 'add list rm'
complete -c kdc-ledger -n "__fish_seen_subcommand_from tenant; and __fish_seen_subcommand_from add" -l rate -r -d 'Session rate, e.g. 10/min'
complete -c kdc-ledger -n "__fish_seen_subcommand_from tenant; and __fish_seen_subcommand_from add" -l burst -r -d 'Sessions allowed at once'
complete -c kdc-ledger -n "__fish_seen_subcommand_from tenant; and __fish_seen_subcommand_from list" -l format -x -a 'table json csv' -d 'Output format'

# budget set|show|rm
complete -c kdc-ledger -n "__fish_seen_subcommand_from budget; and not __fish_seen_subcommand_from set show rm" -a 'set show rm'
complete -c kdc-ledger -n "__fish_seen_subcommand_from budget; and __fish_seen_subcommand_from set" -l limit -r -d 'The cap, e.g. 50USD'
complete -c kdc-ledger -n "__fish_seen_subcommand_from budget; and __fish_seen_subcommand_from set rm" -l period -x -a 'day week month total' -d 'Period'
complete -c kdc-ledger -n "__fish_seen_subcommand_from budget; and __fish_seen_subcommand_from show" -l format -x -a 'table json csv' -d 'Output format'
complete -c kdc-ledger -n "__fish_seen_subcommand_from budget; and __fish_seen_subcommand_from rm" -l unit -r -d 'Only this unit'

# hold, post, void, charge
complete -c kdc-ledger -n "__fish_seen_subcommand_from hold charge" -l id -r -d 'Caller-chosen id (makes retries safe)'
complete -c kdc-ledger -n "__fish_seen_subcommand_from hold" -l ttl -r -d 'Release after this long'
complete -c kdc-ledger -n "__fish_seen_subcommand_from hold charge" -l session -r -d 'Session id'
complete -c kdc-ledger -n "__fish_seen_subcommand_from post void" -l tenant -r -d 'Only a hold of this tenant'

# usage, report
complete -c kdc-ledger -n "__fish_seen_subcommand_from usage" -l period -x -a 'day week month total' -d 'Period'
complete -c kdc-ledger -n "__fish_seen_subcommand_from report" -l month -r -d 'Month, YYYY-MM'
complete -c kdc-ledger -n "__fish_seen_subcommand_from usage report audit sessions" -l format -x -a 'table json csv' -d 'Output format'

# audit, sessions
complete -c kdc-ledger -n "__fish_seen_subcommand_from audit sessions" -l tenant -r -d 'Only this tenant'
complete -c kdc-ledger -n "__fish_seen_subcommand_from audit" -l session -r -d 'Only this session'
complete -c kdc-ledger -n "__fish_seen_subcommand_from audit" -l since -r -d 'Since (1h, 2026-11-22, @SECONDS)'
complete -c kdc-ledger -n "__fish_seen_subcommand_from audit" -l decision -x -a 'allow deny error' -d 'Only this decision'
complete -c kdc-ledger -n "__fish_seen_subcommand_from audit sessions" -l last -r -d 'Only the last N'
complete -c kdc-ledger -n "__fish_seen_subcommand_from audit" -l follow -d 'Keep printing new rows'
