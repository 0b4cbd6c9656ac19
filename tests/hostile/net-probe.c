/* SPDX-License-Identifier: MIT */
/* net-probe: performs one network action and prints "ok", or the errno name
 * of the step that failed ("EPERM"), on stdout; exit status 0 for ok, 1
 * otherwise, 2 for usage errors. A wait that runs out prints "ETIMEDOUT".
 *
 *   net-probe [-t MS] tcp-connect ADDR PORT     connect()
 *   net-probe [-t MS] tcp-fastopen ADDR PORT    sendto(MSG_FASTOPEN) of one byte
 *   net-probe [-t MS] udp-connect ADDR PORT     connect(), send, wait for the echo
 *   net-probe [-t MS] udp-sendto ADDR PORT      unconnected sendto(), wait for the echo
 *   net-probe [-t MS] raw ADDR                  raw ICMP echo request, wait for a reply
 *   net-probe [-t MS] icmp ADDR                 ICMP datagram ("ping") socket, unconnected
 *   net-probe packet IFNAME                     AF_PACKET frame out of IFNAME
 *   net-probe bind ADDR PORT [udp]              bind()
 *   net-probe abstract-connect NAME             AF_UNIX connect to "@NAME"
 *   net-probe unix-connect PATH                 AF_UNIX connect to PATH
 *
 * Servers for the positive controls (print "ready" once listening, then
 * serve until killed):
 *   net-probe tcp-serve ADDR PORT               accept and close (dual-stack on ::)
 *   net-probe udp-serve ADDR PORT               echo datagrams
 *   net-probe abstract-serve NAME | unix-serve PATH
 *
 * ADDR is an IPv4 or IPv6 literal; an IPv6 one (also ::ffff:a.b.c.d) uses an
 * AF_INET6 socket. Only ever pointed at loopback or at namespaces the test
 * built. */

#include <arpa/inet.h>
#include <errno.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int timeout_ms = 2000;

static int fail(const char *step)
{
	int e = errno;
	const char *name = strerrorname_np(e);

	fprintf(stderr, "net-probe: %s: %s\n", step, strerror(e));
	printf("%s\n", name ? name : "EUNKNOWN");
	return 1;
}

static int timed_out(const char *step)
{
	fprintf(stderr, "net-probe: %s: no answer within %d ms\n", step, timeout_ms);
	printf("ETIMEDOUT\n");
	return 1;
}

static int ok(void)
{
	printf("ok\n");
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: net-probe [-t MS] ACTION ARGS... (see the source)\n");
	exit(2);
}

static socklen_t parse_addr(const char *addr, const char *port, struct sockaddr_storage *ss)
{
	unsigned long p = port ? strtoul(port, NULL, 10) : 0;

	memset(ss, 0, sizeof(*ss));
	if (p > 65535)
		usage();
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *) ss)->sin_addr) == 1) {
		struct sockaddr_in *s = (struct sockaddr_in *) ss;
		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t) p);
		return sizeof(*s);
	}
	if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *) ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *) ss;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons((uint16_t) p);
		return sizeof(*s);
	}
	fprintf(stderr, "net-probe: not an address: %s\n", addr);
	exit(2);
}

static void set_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	(void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static int tcp_connect(const char *addr, const char *port, bool fastopen)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(addr, port, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail("socket");
	set_timeouts(fd);
	if (fastopen) {
		if (sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *) &ss, len) < 0)
			return errno == EINPROGRESS ? timed_out("sendto") : fail("sendto");
	} else if (connect(fd, (struct sockaddr *) &ss, len) < 0)
		/* SO_SNDTIMEO bounds a blocking connect; it then fails with EINPROGRESS. */
		return errno == EINPROGRESS ? timed_out("connect") : fail("connect");
	close(fd);
	return ok();
}

static int udp(const char *addr, const char *port, bool connected)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(addr, port, &ss);
	char buf[64];
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail("socket");
	set_timeouts(fd);
	if (connected) {
		if (connect(fd, (struct sockaddr *) &ss, len) < 0)
			return fail("connect");
		if (send(fd, "ping", 4, 0) < 0)
			return fail("send");
	} else if (sendto(fd, "ping", 4, 0, (struct sockaddr *) &ss, len) < 0)
		return fail("sendto");
	if (recv(fd, buf, sizeof(buf), 0) < 0)
		return errno == EAGAIN ? timed_out("recv") : fail("recv");
	close(fd);
	return ok();
}

static uint16_t icmp_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t) (p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t) (p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t) ~sum);
}

/* raw: SOCK_RAW (needs CAP_NET_RAW); icmp: the unprivileged ping socket. */
static int icmp_echo(const char *addr, bool raw)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(addr, NULL, &ss);
	bool v6 = ss.ss_family == AF_INET6;
	uint8_t pkt[16] = {}, buf[256];
	int fd;

	fd = socket(ss.ss_family, (raw ? SOCK_RAW : SOCK_DGRAM) | SOCK_CLOEXEC, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	if (fd < 0)
		return fail("socket");
	set_timeouts(fd);
	pkt[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	pkt[5] = 1; /* id 1 */
	pkt[7] = 1; /* seq 1 */
	memcpy(pkt + 8, "kdcprobe", 8);
	if (!v6) {
		uint16_t c = icmp_checksum(pkt, sizeof(pkt));
		memcpy(pkt + 2, &c, 2);
	}
	if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *) &ss, len) < 0)
		return fail("sendto");
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		size_t off = 0;
		if (n < 0)
			return errno == EAGAIN ? timed_out("recv") : fail("recv");
		if (raw && !v6)
			off = (size_t) (buf[0] & 0xf) * 4; /* a raw IPv4 socket sees the IP header */
		if ((size_t) n > off && buf[off] == (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY))
			break;
	}
	close(fd);
	return ok();
}

static int packet(const char *ifname)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(0x88b5), .sll_halen = 6};
	uint8_t frame[60] = {};
	int fd;

	sll.sll_ifindex = (int) if_nametoindex(ifname);
	if (sll.sll_ifindex == 0)
		return fail("if_nametoindex");
	memset(sll.sll_addr, 0xff, 6);
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(0x88b5));
	if (fd < 0)
		return fail("socket");
	memcpy(frame, "kdc-probe", 9);
	if (sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *) &sll, sizeof(sll)) < 0)
		return fail("sendto");
	close(fd);
	return ok();
}

static int do_bind(const char *addr, const char *port, const char *proto)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(addr, port, &ss);
	bool is_udp = proto && strcmp(proto, "udp") == 0;
	int fd = socket(ss.ss_family, (is_udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail("socket");
	if (bind(fd, (struct sockaddr *) &ss, len) < 0)
		return fail("bind");
	close(fd);
	return ok();
}

static socklen_t unix_addr(const char *name, bool abstract, struct sockaddr_un *sun)
{
	size_t n = strlen(name);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (n + 1 >= sizeof(sun->sun_path))
		usage();
	if (abstract) {
		memcpy(sun->sun_path + 1, name, n);
		return (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + n);
	}
	memcpy(sun->sun_path, name, n);
	return (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + 1);
}

static int unix_connect(const char *name, bool abstract)
{
	struct sockaddr_un sun;
	socklen_t len = unix_addr(name, abstract, &sun);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail("socket");
	if (connect(fd, (struct sockaddr *) &sun, len) < 0)
		return fail("connect");
	close(fd);
	return ok();
}

static void ready(void)
{
	printf("ready\n");
	fflush(stdout);
}

static int serve_stream(int fd)
{
	if (listen(fd, SOMAXCONN) < 0)
		return fail("listen");
	ready();
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			close(c);
	}
}

static int tcp_serve(const char *addr, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(addr, port, &ss);
	int one = 1, zero = 0, fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail("socket");
	(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		(void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *) &ss, len) < 0)
		return fail("bind");
	return serve_stream(fd);
}

static int udp_serve(const char *addr, const char *port)
{
	struct sockaddr_storage ss, peer;
	socklen_t len = parse_addr(addr, port, &ss);
	int zero = 0, fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char buf[2048];

	if (fd < 0)
		return fail("socket");
	if (ss.ss_family == AF_INET6)
		(void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *) &ss, len) < 0)
		return fail("bind");
	ready();
	for (;;) {
		socklen_t plen = sizeof(peer);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *) &peer, &plen);
		if (n >= 0)
			(void) sendto(fd, buf, (size_t) n, 0, (struct sockaddr *) &peer, plen);
	}
}

static int unix_serve(const char *name, bool abstract)
{
	struct sockaddr_un sun;
	socklen_t len = unix_addr(name, abstract, &sun);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail("socket");
	if (bind(fd, (struct sockaddr *) &sun, len) < 0)
		return fail("bind");
	return serve_stream(fd);
}

int main(int argc, char **argv)
{
	const char *a;

	if (argc > 2 && strcmp(argv[1], "-t") == 0) {
		timeout_ms = atoi(argv[2]);
		if (timeout_ms <= 0)
			usage();
		argv += 2;
		argc -= 2;
	}
	if (argc < 3)
		usage();
	a = argv[1];
#define NEED(n)                  \
	do {                     \
		if (argc < (n))  \
			usage(); \
	} while (0)
	if (strcmp(a, "tcp-connect") == 0 || strcmp(a, "tcp-fastopen") == 0) {
		NEED(4);
		return tcp_connect(argv[2], argv[3], a[4] == 'f');
	}
	if (strcmp(a, "udp-connect") == 0 || strcmp(a, "udp-sendto") == 0) {
		NEED(4);
		return udp(argv[2], argv[3], a[4] == 'c');
	}
	if (strcmp(a, "raw") == 0)
		return icmp_echo(argv[2], true);
	if (strcmp(a, "icmp") == 0)
		return icmp_echo(argv[2], false);
	if (strcmp(a, "packet") == 0)
		return packet(argv[2]);
	if (strcmp(a, "bind") == 0) {
		NEED(4);
		return do_bind(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
	}
	if (strcmp(a, "abstract-connect") == 0)
		return unix_connect(argv[2], true);
	if (strcmp(a, "unix-connect") == 0)
		return unix_connect(argv[2], false);
	if (strcmp(a, "tcp-serve") == 0) {
		NEED(4);
		return tcp_serve(argv[2], argv[3]);
	}
	if (strcmp(a, "udp-serve") == 0) {
		NEED(4);
		return udp_serve(argv[2], argv[3]);
	}
	if (strcmp(a, "abstract-serve") == 0)
		return unix_serve(argv[2], true);
	if (strcmp(a, "unix-serve") == 0)
		return unix_serve(argv[2], false);
	usage();
}
