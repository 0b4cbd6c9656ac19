#!/bin/bash
# Environment (TESTING.md "Credentials"): nothing of the caller's
# environment reaches the box unless the profile or --env lists it.
. "$top_srcdir/tests/lib/libtest.sh"
require_root

export AWS_SECRET_ACCESS_KEY=canary-aws-$$ GITHUB_TOKEN=canary-gh-$$ ANTHROPIC_API_KEY=canary-ant-$$
export SSH_AUTH_SOCK=/tmp/canary-agent-$$ BASH_ENV=/tmp/canary-bashenv-$$ KDC_CANARY=canary-$$
export LANG=C.UTF-8

cases() {
	local w=$WHO out
	is "$(probe_out env | grep -c "canary-.*$$")" 6 "$w: the canaries are in the caller's environment"
	out=$(probe_in env)
	unlike "$out" "canary" "$w: no canary value reaches the box"
	unlike "$out" '^(AWS_SECRET_ACCESS_KEY|GITHUB_TOKEN|ANTHROPIC_API_KEY|SSH_AUTH_SOCK|BASH_ENV|LD_PRELOAD)=' \
		"$w: no credential variable reaches the box"
	like "$out" '^PATH=' "$w: PATH is set"
	like "$out" '^LANG=C.UTF-8$' "$w: LANG is kept (the default profile lists it)"
	out=$(kdc_box --env KDC_CANARY --env FOO=bar -- /probe/box-probe env 2>&1)
	like "$out" "^KDC_CANARY=canary-$$\$" "$w: --env NAME passes the caller's value"
	like "$out" '^FOO=bar$' "$w: --env NAME=VALUE sets it"
	out=$(LD_PRELOAD=/nonexistent-kdc-canary.so kdc_box -- /probe/box-probe env 2>/dev/null)
	unlike "$out" 'LD_PRELOAD' "$w: LD_PRELOAD does not reach the box"
}
for_each_user cases
done_testing
