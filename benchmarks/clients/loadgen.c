/*
 * loadgen: the neutral load client of the echo and http workloads.
 *
 *     loadgen HOST PORT CONNECTIONS SECONDS echo|http
 *
 * Opens CONNECTIONS TCP connections and keeps exactly one request in flight
 * on each (closed loop) for SECONDS: in echo mode a 64-byte message that must
 * come back byte for byte, in http mode a keep-alive GET whose response is
 * read to the end of its Content-Length body. One thread, one epoll set, so it
 * costs one core and the server gets the other. Prints one JSON line:
 *     {"round_trips": N, "errors": E, "elapsed_s": T, "p99_us": P}
 * benchmarks/clients/loadgen.py is the same client in Python, used where no C
 * compiler is found.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define ECHO_SIZE 64
#define BUF_SIZE 8192
#define HIST_US 100000 /* latency histogram: 1 us buckets up to 100 ms */

static const char HTTP_REQUEST[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";

struct conn {
    int fd;
    size_t have;        /* bytes of the current response received */
    double sent_at;
    char buf[BUF_SIZE];
};

static long hist[HIST_US + 1];

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char echo_msg[ECHO_SIZE];

static int send_request(struct conn *c, int http) {
    const char *msg = http ? HTTP_REQUEST : echo_msg;
    size_t len = http ? sizeof(HTTP_REQUEST) - 1 : ECHO_SIZE;
    c->have = 0;
    c->sent_at = now();
    /* Small and the socket buffer is empty: one send() takes it all. */
    return send(c->fd, msg, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* 1 if the response in c->buf is complete, 0 if more is needed, -1 if it is wrong. */
static int response_done(struct conn *c, int http) {
    if (!http) {
        if (c->have < ECHO_SIZE) return 0;
        return c->have == ECHO_SIZE && memcmp(c->buf, echo_msg, ECHO_SIZE) == 0 ? 1 : -1;
    }
    c->buf[c->have] = 0;
    char *end = strstr(c->buf, "\r\n\r\n");
    if (!end) return 0;
    if (strncmp(c->buf, "HTTP/1.1 200", 12) != 0) return -1;
    char *cl = strcasestr(c->buf, "content-length:");
    if (!cl || cl > end) return -1;
    size_t body = strtoul(cl + 15, NULL, 10);
    size_t total = (size_t)(end + 4 - c->buf) + body;
    if (c->have < total) return 0;
    return c->have == total ? 1 : -1;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s HOST PORT CONNECTIONS SECONDS echo|http\n", argv[0]);
        return 2;
    }
    int n = atoi(argv[3]);
    double seconds = atof(argv[4]);
    int http = strcmp(argv[5], "http") == 0;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    if (n <= 0 || seconds <= 0 || inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    for (int i = 0; i < ECHO_SIZE; i++) echo_msg[i] = 'a' + i % 26;

    struct conn *conns = calloc(n, sizeof *conns);
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
            perror("connect");
            return 1;
        }
        conns[i].fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    long round_trips = 0, errors = 0;
    double start = now(), deadline = start + seconds;
    for (int i = 0; i < n; i++)
        if (send_request(&conns[i], http) != 0) errors++;
    struct epoll_event events[256];
    while (now() < deadline) {
        int k = epoll_wait(ep, events, 256, 100);
        for (int j = 0; j < k; j++) {
            struct conn *c = events[j].data.ptr;
            ssize_t got = recv(c->fd, c->buf + c->have, BUF_SIZE - 1 - c->have, 0);
            if (got <= 0) {
                if (got < 0 && errno == EAGAIN) continue;
                errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                continue;
            }
            c->have += got;
            int done = response_done(c, http);
            if (done == 0) continue;
            if (done < 0) {
                errors++;
                c->have = 0;
            } else {
                long us = (long)((now() - c->sent_at) * 1e6);
                hist[us < HIST_US ? us : HIST_US]++;
                round_trips++;
            }
            if (send_request(c, http) != 0) errors++;
        }
    }
    double elapsed = now() - start;
    /* Close gracefully: no more requests, then read what is still coming until
     * the server closes too. Closing with unread data would send a reset,
     * which the server would have to treat as an error. */
    for (int i = 0; i < n; i++) {
        shutdown(conns[i].fd, SHUT_WR);
        char sink[BUF_SIZE];
        struct timeval tv = {.tv_sec = 5};
        setsockopt(conns[i].fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        while (recv(conns[i].fd, sink, sizeof sink, 0) > 0) {
        }
        close(conns[i].fd);
    }
    long target = round_trips - round_trips / 100, seen = 0, p99 = 0;
    for (long us = 0; us <= HIST_US; us++) {
        seen += hist[us];
        if (seen >= target && round_trips) {
            p99 = us;
            break;
        }
    }
    printf("{\"round_trips\": %ld, \"errors\": %ld, \"elapsed_s\": %.6f, \"p99_us\": %ld}\n",
           round_trips, errors, elapsed, p99);
    return 0;
}
