/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>

#include "core/net.h"
#include "shared/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_sock *, nl_socket_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_msg *, nlmsg_free)

/* libnl returns its own positive NLE_* codes; map the ones we can meet. */
static int nl_to_errno(int e)
{
	switch (e < 0 ? -e : e) {
	case NLE_PERM:
		return -EPERM;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:
		return -ENODEV;
	case NLE_NOACCESS:
		return -EACCES;
	default:
		return -EIO;
	}
}

int net_loopback_up(void)
{
	_cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
	_cleanup_(nlmsg_freep) struct nl_msg *m = NULL;
	struct ifinfomsg ifi = {
	    .ifi_family = AF_UNSPEC,
	    .ifi_flags = IFF_UP,
	    .ifi_change = IFF_UP,
	};
	unsigned idx;
	int r;

	idx = if_nametoindex("lo");
	if (idx == 0)
		return errno == ENXIO || errno == ENODEV ? -ENODEV : negative_errno();
	ifi.ifi_index = (int) idx;

	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0)
		return nl_to_errno(r);
	/* What `ip link set lo up` sends: RTM_NEWLINK on an existing link,
	 * changing IFF_UP only. No dump and no parsing of the link. */
	m = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
	if (!m)
		return -ENOMEM;
	r = nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO);
	if (r >= 0)
		r = nl_send_auto(sk, m);
	if (r >= 0)
		r = nl_wait_for_ack(sk);
	if (r < 0)
		return nl_to_errno(r);
	return 0;
}
