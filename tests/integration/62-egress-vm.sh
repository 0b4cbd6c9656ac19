#!/bin/sh
# SPDX-License-Identifier: MIT
# 62-egress-vm: the egress programs and Landlock in Debian 12's stock kernel
# (6.1, the VM harness tests/vm/kdc-vm): 60-egress (its "core" cases, as root:
# TCG makes every case slow) and 61-landlock run in the guest, and their
# results are reported here prefixed "6.1 guest:". The programs must load,
# pass the verifier and decide the same way there; Landlock there has ABI 2,
# so its scopes must be refused (and the filesystem ruleset work); and
# kdc-run itself (tests/vm/egress-run-cases.sh) must refuse network mode
# 'filtered' there, or run it with a warning under 'degrade = landlock'.
#
# The guest's network world needs the veth module of the guest kernel: it is
# taken from the same Debian package as the harness's kernel and cached in
# ${KDC_EGRESS_VM_CACHE:-/var/cache/kdc-egress-vm}/<kernel>/veth.ko.
. "$top_srcdir/tests/lib/libtest.sh"

require_root
KDC_VM=${KDC_VM_HARNESS:-"$top_srcdir/tests/vm/kdc-vm"}
[ -x "$KDC_VM" ] || skip_all "the VM harness tests/vm/kdc-vm is not available"
check=$("$KDC_VM" --check 2>&1) || skip_all "$check"
kdir=$("$KDC_VM" --fetch 2>"$TESTDIR/fetch.err") || skip_all "kdc-vm cannot fetch its kernel: $(cat "$TESTDIR/fetch.err")"
kver=${kdir##*/}

cache="${KDC_EGRESS_VM_CACHE:-/var/cache/kdc-egress-vm}/$kver"
veth="$cache/veth.ko"
if [ ! -f "$veth" ]; then
	require_cmd apt-get dpkg-deb
	mkdir -p "$cache" || skip_all "cannot create $cache"
	d=$(mktemp -d "$TESTDIR/deb.XXXXXX")
	chmod 0755 "$d" # apt's sandbox user writes the download there
	(cd "$d" && apt-get download -q "linux-image-$kver" >/dev/null 2>&1) ||
		skip_all "cannot download linux-image-$kver (for its veth module)"
	dpkg-deb -x "$d"/linux-image-*.deb "$d/x" || bail_out "cannot unpack linux-image-$kver"
	ko=$(find "$d/x/lib/modules" -name 'veth.ko*' | head -n 1)
	case $ko in
	*.ko) cp "$ko" "$veth.tmp" ;;
	*.ko.xz) xz -dc "$ko" >"$veth.tmp" ;;
	*.ko.zst) zstd -qdc "$ko" >"$veth.tmp" ;;
	*) skip_all "linux-image-$kver has no veth module" ;;
	esac
	mv "$veth.tmp" "$veth"
	rm -rf "$d"
fi

shares=""
for d in "$top_srcdir" "$top_builddir"; do
	case $d in /tmp/* | /var/tmp/* | /run/*) shares="$shares --ro-share $d" ;; esac
done

# guest SCRIPT: runs one test script in the guest and reports its results.
guest() {
	local name=$1 line rc
	shift
	# Skips in the guest are the old kernel's missing features, which the
	# cases there assert as refusals: no KDC_TEST_NO_SKIP inside.
	"$KDC_VM" --timeout 900 $shares --env KDC_TEST_NO_SKIP=0 --env KDC_EGRESS_QUICK=1 \
		--env "KDC_VETH_KO=$veth" "$@" >"$TESTDIR/$name.out" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*" # SKIP "* | "1..0 # SKIP"*) diag "6.1 guest: $name: skipped: ${line#*SKIP }" ;;
		"not ok "*) ok "6.1 guest: $name: $(printf '%s' "$line" | sed 's/^not ok [0-9]* - //')" false ;;
		"ok "*) ok "6.1 guest: $name: $(printf '%s' "$line" | sed 's/^ok [0-9]* - //')" true ;;
		"#"*) diag "$line" ;;
		esac
	done <"$TESTDIR/$name.out"
	case $rc in
	124 | 125)
		ok "6.1 guest: $name: the guest ran to its end (rc $rc)" false
		sed 's/^/#   /' "$TESTDIR/$name.out" | tail -n 20
		;;
	*) ok "6.1 guest: $name: a plan was printed" grep -Eq '^1\.\.[0-9]+' "$TESTDIR/$name.out" ;;
	esac
}
diag "guest kernel: $kver"

guest 60-egress "$top_srcdir/tests/integration/60-egress.sh"
guest 61-landlock "$top_srcdir/tests/integration/61-landlock.sh"
guest kdc-run-filtered "$top_srcdir/tests/vm/egress-run-cases.sh"

done_testing
