/* SPDX-License-Identifier: MIT */
#pragma once

/* Brings up "lo" in the current (new) network namespace, with libnl-route. */
int net_loopback_up(void);
