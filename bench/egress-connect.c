/* SPDX-License-Identifier: MIT */
/* egress-connect: times connect() and prints the median and the 90th
 * percentile in nanoseconds ("median_ns p90_ns").
 *
 *   egress-connect [-n N] udp|tcp|tcp-refused ADDR PORT
 *
 * udp: a fresh UDP socket connect()ed N times (no packet is sent: route
 * lookup plus the connect4/6 hooks). tcp: socket, connect to a listener,
 * close with RST (SO_LINGER 0, so no TIME_WAIT piles up), N times.
 * tcp-refused: connect to a port nobody listens on, which must fail with
 * ECONNREFUSED: the SYN goes out (through cgroup_skb/egress) and the RST
 * comes back within the call, with no server process to schedule. Only
 * the connect() call is timed. Part of bench/egress. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss = {};
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	socklen_t len;
	uint64_t *t;
	long n = 20000;
	int tcp, refused, a = 1;

	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		n = atol(argv[2]);
		a = 3;
	}
	if (argc - a != 3 || n <= 0) {
		fprintf(stderr, "usage: egress-connect [-n N] udp|tcp|tcp-refused ADDR PORT\n");
		return 2;
	}
	refused = strcmp(argv[a], "tcp-refused") == 0;
	tcp = refused || strcmp(argv[a], "tcp") == 0;
	if (inet_pton(AF_INET, argv[a + 1], &((struct sockaddr_in *) &ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *) &ss)->sin_port = htons((uint16_t) atoi(argv[a + 2]));
		len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, argv[a + 1], &((struct sockaddr_in6 *) &ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *) &ss)->sin6_port = htons((uint16_t) atoi(argv[a + 2]));
		len = sizeof(struct sockaddr_in6);
	} else
		return 2;

	t = calloc((size_t) n, sizeof(*t));
	if (!t)
		return 1;
	for (long i = 0; i < n; i++) {
		int fd = socket(ss.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
		uint64_t t0;
		if (fd < 0) {
			perror("socket");
			return 1;
		}
		t0 = now_ns();
		if ((connect(fd, (struct sockaddr *) &ss, len) < 0) != refused || (refused && errno != ECONNREFUSED)) {
			perror("connect");
			return 1;
		}
		t[i] = now_ns() - t0;
		if (tcp)
			(void) setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	qsort(t, (size_t) n, sizeof(*t), cmp);
	printf("%llu %llu\n", (unsigned long long) t[n / 2], (unsigned long long) t[n * 9 / 10]);
	free(t);
	return 0;
}
