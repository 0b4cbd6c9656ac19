/* SPDX-License-Identifier: MIT */
#pragma once

/* Drops every capability for good: bounding set, ambient, inheritable,
 * permitted and effective, and locks the securebits so that uid 0 inside the
 * box (a root caller's identity map) regains nothing at execve. */
int caps_drop_all(void);
