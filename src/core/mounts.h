/* SPDX-License-Identifier: MIT */
#pragma once

#include "core/box-error.h"
#include "core/plan.h"

/* Builds the box's filesystem view and pivots into it. Runs in the child,
 * inside fresh user and mount namespaces, with full capabilities there.
 * On return the process's root is a tmpfs holding only what the plan lists
 * (plus /proc, /dev, /tmp and /work), the host's tree is detached, and the
 * working directory is /work (or /). */
int mounts_build_box(const Plan *p, BoxError *err);

/* The kernel paths masked in the box's /proc (documented in kdc-run(1)). */
extern const char *const mounts_proc_masked[];
