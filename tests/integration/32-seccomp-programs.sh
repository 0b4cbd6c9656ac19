#!/bin/sh
# SPDX-License-Identifier: MIT
# 32-seccomp-programs: the box's pid 1 and the agent run under this filter,
# so ordinary programs must work under it: sh and coreutils, python3
# (ssl, sqlite3, subprocess, threads, multiprocessing, sockets, name
# lookup), gcc, make and git. Each runs without the filter first (the
# control), then under it, then in kill mode, where a single forbidden call
# would kill it: as root and as uid 65534.

. "$top_srcdir/tests/lib/libtest.sh"

H="$top_builddir/tests/hostile"
[ "$(uname -m)" = x86_64 ] || skip_all "the policy is written for x86_64, this is $(uname -m)"
[ -x "$H/seccomp-exec" ] || skip_all "tests/hostile not built (run 'make check')"
require_cmd gcc make git
# The system's python (a per-user one under /root is out of nobody's reach).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || skip_all "needs python3 (see .ci/install-deps)"

cat > "$TESTDIR/agent.py" <<'EOF'
import multiprocessing, os, socket, sqlite3, ssl, subprocess, sys, tempfile, threading

def square(x):
    return x * x

if __name__ == "__main__":
    ctx = ssl.create_default_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    db = sqlite3.connect(os.path.join(tempfile.mkdtemp(), "t.db"))
    db.execute("create table t (x)")
    db.executemany("insert into t values (?)", [(i,) for i in range(100)])
    assert db.execute("select sum(x) from t").fetchone()[0] == 4950
    assert subprocess.run(["sh", "-c", "echo spawned"], capture_output=True, text=True).stdout == "spawned\n"
    out = []
    threads = [threading.Thread(target=out.append, args=(i,)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(out) == list(range(8))
    with multiprocessing.Pool(2) as pool:
        assert pool.map(square, range(10)) == [x * x for x in range(10)]
    q = multiprocessing.Queue()
    q.put("through a pipe")
    assert q.get() == "through a pipe"
    # TCP on loopback, and a name lookup (glibc probes netlink, gets
    # EAFNOSUPPORT, and falls back)
    srv = socket.create_server(("127.0.0.1", 0))
    cli = socket.create_connection(srv.getsockname())
    conn, _ = srv.accept()
    cli.sendall(b"ping")
    assert conn.recv(4) == b"ping"
    assert socket.getaddrinfo("localhost", 80, proto=socket.IPPROTO_TCP)
    a, b = socket.socketpair()
    a.send(b"x")
    assert b.recv(1) == b"x"
    print("agent ok")
EOF

cat > "$TESTDIR/hello.c" <<'EOF'
#include <stdio.h>
#include <pthread.h>
static void *run(void *arg) { return arg; }
int main(void)
{
	pthread_t t;
	void *r;
	if (pthread_create(&t, NULL, run, "hello from a thread") || pthread_join(t, &r))
		return 1;
	puts(r);
	return 0;
}
EOF

printf 'hello: hello.c\n\t$(CC) -O2 -pthread -o $@ hello.c\n\ncheck: hello\n\t./hello\n' > "$TESTDIR/Makefile"

# shellcheck disable=SC2016
SHELL_WORK='set -e
d=$(mktemp -d)
cd "$d"
seq 1 1000 | sort -rn | head -n 3 > top
cp top copy && mv copy moved && cmp top moved
mkfifo fifo && (echo through-fifo > fifo &) && read -r line < fifo && [ "$line" = through-fifo ]
ln -s moved link && readlink link >/dev/null
find . -type f | wc -l >/dev/null
tar -cf a.tar top moved && tar -tf a.tar >/dev/null
printf "%s\n" "$(date +%s)" | grep -q .
ps -o pid= -p $$ >/dev/null
cd / && rm -rf "$d"
echo shell ok'

GIT_WORK='set -e
d=$(mktemp -d)
cd "$d"
git init -q repo && cd repo
echo content > file
git add file
git -c user.name=kdc -c user.email=kdc@example.invalid commit -q -m first
git log --oneline | grep -q first
git status --porcelain
cd / && rm -rf "$d"
echo git ok'

# run_modes NAME EXPECTED-OUTPUT COMMAND...: control, filtered, kill mode.
run_modes() {
	name=$1 want=$2
	shift 2
	for mode in --no-filter "" --kill; do
		case $mode in
		--no-filter) label="without the filter" ;;
		"") label="under the filter" ;;
		*) label="in kill mode" ;;
		esac
		out=$(cd "$WORK" && $AS env HOME="$HOMEDIR" TMPDIR="$WORK" "$H/seccomp-exec" $mode -- "$@" 2>&1)
		rc=$?
		if [ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -qx -- "$want"; then
			ok "$WHO: $name $label" true
		else
			ok "$WHO: $name $label" false
			diag "exit $rc" "$out"
		fi
	done
}

programs_as() {
	WORK="$TESTDIR/work-$WHO" HOMEDIR="$TESTDIR/home-$WHO"
	mkdir -p "$WORK" "$HOMEDIR"
	cp "$TESTDIR/hello.c" "$TESTDIR/Makefile" "$WORK/"
	[ "$WHO" = nobody ] && chown -R 65534:65534 "$WORK" "$HOMEDIR"

	run_modes "sh and coreutils" "shell ok" sh -c "$SHELL_WORK"
	run_modes "python3 (ssl, sqlite3, subprocess, threads, multiprocessing, sockets)" "agent ok" \
		"$PY" "$TESTDIR/agent.py"
	run_modes "gcc and make build and run a threaded program" "hello from a thread" \
		sh -c 'make -s clean >/dev/null 2>&1; rm -f hello; make -s check'
	run_modes "git init, add, commit, log" "git ok" sh -c "$GIT_WORK"
}

for_each_user programs_as

done_testing
