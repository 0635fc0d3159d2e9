// proxy_loadgen.c - what ../shared/bench/loadgen.c cannot do: start every connection with a PROXY
// protocol header (v1 or v2), and open a new connection per request, so that the header's cost
// (paid once a connection) can be measured where it is largest.
//
//   gcc -O2 -Wall -o /tmp/proxy_loadgen Benchmarks/proxy/proxy_loadgen.c
//   /tmp/proxy_loadgen -p PORT -c 16 -d 5 -w 1 --proxy v2 --per-request
//
// Single-threaded epoll. Each of C connections: connect, send [header] + one S-byte request
// ending in '\n', read the S-byte echo (verified), then either send the next request on the same
// connection (ping-pong, default) or close with SO_LINGER 0 (no TIME_WAIT to run out of ports)
// and connect again (--per-request). Prints `RESULT rps=… requests=… errors=…`.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { CONNECTING, SENDING, READING };
typedef struct { int fd, state; size_t sent, got, out_len; const unsigned char *out; } conn_t;

static int port = 9000, conns = 1, per_request = 0, size = 64;
static double dur = 5, warm = 1;
static const char *proxy = "none";
static unsigned char first[4096], req[4096];  // first: header + request
static size_t header_len = 0;
static struct sockaddr_in sa;
static int ep;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void build_header(void) {
    if (strcmp(proxy, "v1") == 0) {
        header_len = (size_t)sprintf((char *)first, "PROXY TCP4 203.0.113.7 192.0.2.1 40001 443\r\n");
    } else if (strcmp(proxy, "v2") == 0) {
        static const unsigned char sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
        memcpy(first, sig, 12);
        first[12] = 0x21; first[13] = 0x11; first[14] = 0; first[15] = 12;
        unsigned char body[12] = {203, 0, 113, 7, 192, 0, 2, 1, 0x9C, 0x41, 0x01, 0xBB};
        memcpy(first + 16, body, 12);
        header_len = 28;
    }
    for (int i = 0; i < size - 1; i++) req[i] = (unsigned char)('a' + i % 26);
    req[size - 1] = '\n';
    memcpy(first + header_len, req, (size_t)size);
}

static void start(conn_t *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) { perror("socket"); exit(1); }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->out = first;
    c->out_len = header_len + (size_t)size;
    c->sent = c->got = 0;
    c->state = CONNECTING;
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) { perror("connect"); exit(1); }
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void finish(conn_t *c) {
    struct linger lg = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c->fd);
}

int main(int argc, char **argv) {
    static struct option lo[] = {{"port", 1, 0, 'p'}, {"conns", 1, 0, 'c'}, {"duration", 1, 0, 'd'},
                                 {"warmup", 1, 0, 'w'}, {"size", 1, 0, 's'}, {"proxy", 1, 0, 'x'},
                                 {"per-request", 0, 0, 'r'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "p:c:d:w:s:x:r", lo, NULL)) != -1) {
        switch (ch) {
        case 'p': port = atoi(optarg); break;
        case 'c': conns = atoi(optarg); break;
        case 'd': dur = atof(optarg); break;
        case 'w': warm = atof(optarg); break;
        case 's': size = atoi(optarg); break;
        case 'x': proxy = optarg; break;
        case 'r': per_request = 1; break;
        default: fprintf(stderr, "usage: %s -p PORT [-c C] [-d S] [-w S] [-s BYTES] [--proxy none|v1|v2] [--per-request]\n", argv[0]); return 2;
        }
    }
    if (size < 1 || size > 1024 || conns < 1) return 2;
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    build_header();
    ep = epoll_create1(EPOLL_CLOEXEC);
    conn_t *cs = calloc((size_t)conns, sizeof *cs);
    for (int i = 0; i < conns; i++) start(&cs[i]);
    uint64_t t0 = now_ns(), measure_from = t0 + (uint64_t)(warm * 1e9), end = measure_from + (uint64_t)(dur * 1e9);
    long long requests = 0, errors = 0;
    unsigned char buf[4096];
    struct epoll_event evs[256];
    for (;;) {
        uint64_t t = now_ns();
        if (t >= end) break;
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (evs[i].events & (EPOLLERR | EPOLLHUP) && c->state != READING) {
                errors++; finish(c); start(c); continue;
            }
            if (c->state == CONNECTING || c->state == SENDING) {
                ssize_t w = send(c->fd, c->out + c->sent, c->out_len - c->sent, MSG_NOSIGNAL);
                if (w < 0) { if (errno == EAGAIN) continue; errors++; finish(c); start(c); continue; }
                c->sent += (size_t)w;
                if (c->sent < c->out_len) { c->state = SENDING; continue; }
                c->state = READING;
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            } else {
                ssize_t r = recv(c->fd, buf, sizeof buf, 0);
                if (r < 0 && errno == EAGAIN) continue;
                if (r <= 0 || memcmp(buf, req + c->got, (size_t)r) != 0) { errors++; finish(c); start(c); continue; }
                c->got += (size_t)r;
                if (c->got < (size_t)size) continue;
                if (now_ns() >= measure_from) requests++;
                if (per_request) { finish(c); start(c); continue; }
                // Ping-pong on the same connection: no header again.
                c->out = req;
                c->out_len = (size_t)size;
                c->sent = c->got = 0;
                c->state = SENDING;
                struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            }
        }
    }
    printf("RESULT rps=%.0f requests=%lld errors=%lld conns=%d proxy=%s per_request=%d\n",
           (double)requests / dur, requests, errors, conns, proxy, per_request);
    return 0;
}
