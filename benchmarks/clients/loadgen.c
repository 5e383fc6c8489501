/*
 * loadgen: the neutral load client of the echo and http workloads.
 *
 *     loadgen HOST PORT CONNECTIONS SECONDS echo|http|http-close
 *
 * Opens CONNECTIONS TCP connections and keeps exactly one request in flight
 * on each (closed loop) for SECONDS: in echo mode a 64-byte message that must
 * come back byte for byte, in http mode a keep-alive GET whose response is
 * read to the end of its Content-Length body. http-close is for servers that
 * do not keep connections alive (gunicorn's sync worker): each GET says
 * "Connection: close", its response (any framing) is read until the server
 * closes, and the next request goes out on a new connection; the latency
 * counts the connect. One thread, one epoll set, so it costs one core and the
 * server gets the other. Prints one JSON line:
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
#include <time.h>
#include <unistd.h>

#define ECHO_SIZE 64
#define BUF_SIZE 8192
#define HIST_US 100000 /* latency histogram: 1 us buckets up to 100 ms */

static const char HTTP_REQUEST[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
static const char CLOSE_REQUEST[] = "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";

enum mode { ECHO, HTTP, HTTP_CLOSE };

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

static int send_request(struct conn *c, enum mode mode) {
    const char *msg = mode == HTTP ? HTTP_REQUEST : mode == HTTP_CLOSE ? CLOSE_REQUEST : echo_msg;
    size_t len = mode == HTTP ? sizeof(HTTP_REQUEST) - 1
                 : mode == HTTP_CLOSE ? sizeof(CLOSE_REQUEST) - 1 : ECHO_SIZE;
    c->have = 0;
    if (mode != HTTP_CLOSE) c->sent_at = now(); /* http-close: set before the connect */
    /* Small and the socket buffer is empty: one send() takes it all. */
    return send(c->fd, msg, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* A new connection for c (http-close: one per request), watched by ep. */
static int open_conn(struct conn *c, int ep, struct sockaddr_in *addr) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)addr, sizeof *addr) != 0) {
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->have = 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

/* http-close: the whole response is in c->buf (the server has closed): 1 if it is a 200. */
static int closed_response_ok(struct conn *c) {
    c->buf[c->have] = 0;
    return c->have > 12 && strncmp(c->buf, "HTTP/1.1 200", 12) == 0 && strstr(c->buf, "\r\n\r\n") != NULL;
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
        fprintf(stderr, "usage: %s HOST PORT CONNECTIONS SECONDS echo|http|http-close\n", argv[0]);
        return 2;
    }
    int n = atoi(argv[3]);
    double seconds = atof(argv[4]);
    enum mode mode = strcmp(argv[5], "http") == 0         ? HTTP
                     : strcmp(argv[5], "http-close") == 0 ? HTTP_CLOSE
                     : strcmp(argv[5], "echo") == 0       ? ECHO
                                                          : -1;
    int http = mode == HTTP;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    if (n <= 0 || seconds <= 0 || (int)mode < 0 || inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    for (int i = 0; i < ECHO_SIZE; i++) echo_msg[i] = 'a' + i % 26;

    struct conn *conns = calloc(n, sizeof *conns);
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        conns[i].sent_at = now();
        if (open_conn(&conns[i], ep, &addr) != 0) {
            perror("connect");
            return 1;
        }
    }
    long round_trips = 0, errors = 0;
    double start = now(), deadline = start + seconds;
    for (int i = 0; i < n; i++)
        if (send_request(&conns[i], mode) != 0) errors++;
    struct epoll_event events[256];
    char sink[BUF_SIZE];
    while (now() < deadline) {
        int k = epoll_wait(ep, events, 256, 100);
        for (int j = 0; j < k; j++) {
            struct conn *c = events[j].data.ptr;
            if (mode == HTTP_CLOSE) {
                /* Read to the end of the stream; past the buffer, only the head matters. */
                size_t room = BUF_SIZE - 1 - c->have;
                ssize_t got = room ? recv(c->fd, c->buf + c->have, room, 0) : recv(c->fd, sink, sizeof sink, 0);
                if (got < 0 && errno == EAGAIN) continue;
                if (got > 0) {
                    if (room) c->have += got;
                    continue;
                }
                if (got == 0 && closed_response_ok(c)) {
                    long us = (long)((now() - c->sent_at) * 1e6);
                    hist[us < HIST_US ? us : HIST_US]++;
                    round_trips++;
                } else {
                    errors++;
                }
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
                c->sent_at = now();
                if (open_conn(c, ep, &addr) != 0 || send_request(c, mode) != 0) errors++;
                continue;
            }
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
            if (send_request(c, mode) != 0) errors++;
        }
    }
    double elapsed = now() - start;
    /* Close gracefully: no more requests, then read what is still coming until the
     * server closes too, on every connection at once (a server that lingers after its
     * own close, as gunicorn's sync worker does, must not be waited for one by one).
     * Closing with unread data would send a reset, which the server would have to
     * treat as an error. */
    int open = 0;
    for (int i = 0; i < n; i++) {
        if (conns[i].fd < 0) continue;
        shutdown(conns[i].fd, SHUT_WR);
        open++;
    }
    double drain_until = now() + 5;
    while (open > 0 && now() < drain_until) {
        int k = epoll_wait(ep, events, 256, 100);
        for (int j = 0; j < k; j++) {
            struct conn *c = events[j].data.ptr;
            ssize_t got = recv(c->fd, sink, sizeof sink, 0);
            if (got > 0 || (got < 0 && errno == EAGAIN)) continue;
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->fd = -1;
            open--;
        }
    }
    for (int i = 0; i < n; i++)
        if (conns[i].fd >= 0) close(conns[i].fd);
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
