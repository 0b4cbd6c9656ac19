# SPDX-License-Identifier: MIT
# Turns doc/seccomp-policy.txt (the source of truth for the box's seccomp
# policy) into the C table that seccomp-policy.c compiles with libseccomp.
# Rejects anything it does not understand, naming file:line.
#
#   awk -f seccomp-table.awk doc/seccomp-policy.txt > seccomp-table.h

function fail(msg) {
	printf "%s:%d: %s\n", FILENAME, FNR, msg > "/dev/stderr"
	failed = 1
	exit 1
}

BEGIN {
	action["allow"] = "SECCOMP_ENTRY_ALLOW"
	action["deny-eperm"] = "SECCOMP_ENTRY_DENY"
	action["enosys"] = "SECCOMP_ENTRY_ENOSYS"
	action["args"] = "SECCOMP_ENTRY_ARGS"
	n = 0
	max_nr = -1
}

/^#[ \t]*max-nr[ \t]/ {
	if ($3 !~ /^[0-9]+$/)
		fail("max-nr wants a number")
	max_nr = $3
	next
}

{
	sub(/#.*/, "")
	if (NF == 0)
		next
	if ($1 !~ /^[a-z_][a-z0-9_]*$/)
		fail("bad syscall name '" $1 "'")
	if (!($2 in action))
		fail("unknown action '" $2 "' for " $1 " (allow, deny-eperm, enosys, args)")
	if (NF > 3 || (NF == 3 && $3 != "fixed"))
		fail("trailing words after '" $1 " " $2 "' (only 'fixed' may follow)")
	if ($1 in seen)
		fail("'" $1 "' listed twice (first on line " seen[$1] ")")
	seen[$1] = FNR
	fixed = (NF == 3 || $2 == "args") ? "true" : "false"
	line[n] = sprintf("\t{ \"%s\", %s, %s },", $1, action[$2], fixed)
	text[n++] = sprintf("\t\"%s %s%s\\n\"", $1, $2, fixed == "true" ? " fixed" : "")
}

END {
	if (failed)
		exit 1
	if (max_nr < 0) {
		printf "%s: no '# max-nr N' line\n", FILENAME > "/dev/stderr"
		exit 1
	}
	print "/* Generated from doc/seccomp-policy.txt by src/core/seccomp-table.awk: do not edit. */"
	print "static const SeccompTableEntry seccomp_table[] = {"
	for (i = 0; i < n; i++)
		print line[i]
	print "};"
	print "/* The same, as text: part of the cache key (one line per entry: name action [fixed]). */"
	print "static const char seccomp_table_text[] ="
	for (i = 0; i < n; i++)
		print text[i] (i == n - 1 ? ";" : "")
}
