/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <sys/prctl.h>
#include <linux/securebits.h>
#include <sys/capability.h>

#include "core/caps.h"
#include "shared/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(cap_t, cap_free)

int caps_drop_all(void)
{
	_cleanup_(cap_freep) cap_t empty = NULL;
	cap_value_t last = CAP_LAST_CAP;
	int r;

	/* The kernel may know more capabilities than our headers do. */
	r = prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0);
	while (r >= 0) {
		last++;
		r = prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0);
	}

	/* Bounding set first: it needs CAP_SETPCAP, which we are about to
	 * drop. Once empty, no execve can grant a capability again. */
	for (cap_value_t c = 0; c <= last; c++)
		if (cap_drop_bound(c) < 0 && errno != EINVAL)
			return negative_errno();

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return negative_errno();

	/* uid 0 is not special at execve, and nobody may change that. */
	if (prctl(PR_SET_SECUREBITS,
		  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
		      SECBIT_KEEP_CAPS_LOCKED,
		  0, 0, 0) < 0)
		return negative_errno();

	empty = cap_init();
	if (!empty)
		return -ENOMEM;
	if (cap_set_proc(empty) < 0)
		return negative_errno();
	return 0;
}
