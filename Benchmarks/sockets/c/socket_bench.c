// The C counterpart of Sources/SocketBenchmarks/main.swift: the same two loops with plain
// blocking sockets (gcc -O2 -pthread). pingpong N: round trips/s; bulk BYTES: GB/s.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(1); }

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int listener(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(fd, 4096) < 0) die("listen");
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
    return fd;
}

static void send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0) die("send");
        p += k;
        n -= (size_t)k;
    }
}

static int recv_exactly(int fd, char *p, size_t n) {
    while (n > 0) {
        ssize_t k = recv(fd, p, n, 0);
        if (k < 0) die("recv");
        if (k == 0) return 0;
        p += k;
        n -= (size_t)k;
    }
    return 1;
}

static int lfd;
static long total_bytes;

static void *echo_server(void *arg) {
    (void)arg;
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[64];
    while (recv_exactly(c, buf, 64)) send_all(c, buf, 64);
    close(c);
    return NULL;
}

static void *bulk_sender(void *arg) {
    (void)arg;
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    static char buf[65536];
    memset(buf, 0x62, sizeof buf);
    long sent = 0;
    while (sent < total_bytes) {
        long n = total_bytes - sent < 65536 ? total_bytes - sent : 65536;
        send_all(c, buf, (size_t)n);
        sent += n;
    }
    close(c);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s pingpong ROUNDS | bulk BYTES\n", argv[0]); return 1; }
    long count = atol(argv[2]);
    int port;
    lfd = listener(&port);
    pthread_t t;
    if (strcmp(argv[1], "pingpong") == 0) {
        pthread_create(&t, NULL, echo_server, NULL);
        int c = connect_to(port);
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char msg[64], reply[64];
        memset(msg, 0x61, sizeof msg);
        for (int i = 0; i < 1000; i++) { send_all(c, msg, 64); if (!recv_exactly(c, reply, 64)) die("closed"); }
        double start = now();
        for (long i = 0; i < count; i++) { send_all(c, msg, 64); if (!recv_exactly(c, reply, 64)) die("closed"); }
        double took = now() - start;
        close(c);
        pthread_join(t, NULL);
        printf("%.0f\n", count / took);
    } else {
        total_bytes = count;
        pthread_create(&t, NULL, bulk_sender, NULL);
        int c = connect_to(port);
        static char buf[65536];
        long received = 0;
        double start = now();
        for (;;) {
            ssize_t k = recv(c, buf, sizeof buf, 0);
            if (k < 0) die("recv");
            if (k == 0) break;
            received += k;
        }
        double took = now() - start;
        pthread_join(t, NULL);
        if (received != count) { fprintf(stderr, "received %ld of %ld\n", received, count); return 1; }
        printf("%.3f\n", count / took / 1e9);
    }
    return 0;
}
