/* SPDX-License-Identifier: MIT */
/* Writes kdc's default seccomp filter, as raw classic BPF, to stdout: the
 * format bwrap --seccomp FD reads, so bench/startup can give bwrap exactly
 * the filter kdc-run installs. */
#include <linux/filter.h>
#include <stdio.h>
#include <string.h>

#include "core/seccomp-policy.h"
#include "shared/fileio.h"

int main(void)
{
	SeccompOptions o = {.allow_inet = true};
	SeccompProgram *p = NULL;
	const struct sock_fprog *f;
	int r;

	r = sandbox_seccomp_build(&o, &p);
	if (r < 0) {
		fprintf(stderr, "seccomp-export: cannot build the filter: %s\n", strerror(-r));
		return 1;
	}
	f = sandbox_seccomp_program_fprog(p);
	r = loop_write(1, f->filter, f->len * sizeof(struct sock_filter));
	sandbox_seccomp_program_free(p);
	return r < 0 ? 1 : 0;
}
