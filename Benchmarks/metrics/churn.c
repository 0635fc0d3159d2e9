// churn.c - connection churn against an echo server on 127.0.0.1: C client threads each loop
// connect, send S bytes, read them back (verified), close; for D seconds after W of warm-up. The
// per-connection work of a server (accept, handler start, close, and its metrics) is what this
// measures, where a ping-pong on held connections measures the per-request path. Last line:
//   RESULT conns_per_s=... errors=...
// With -n N it makes N connections in all instead (no warm-up): for counting instructions.
// Bounded: every socket has 5 s send/receive timeouts, the run stops after W + D seconds.
// Build: gcc -O2 -Wall -pthread -o churn churn.c
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port, size = 64, threads = 2;
static double warmup = 1, duration = 3;
static long limit;  // -n: stop after this many connections in all (0: by time)
static atomic_long done, errors, started;
static atomic_int measuring, stopping;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int once(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    char out[65536], in[65536];
    for (int i = 0; i < size; i++) out[i] = 'a' + i % 26;
    out[size - 1] = '\n';
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && send(fd, out, size, MSG_NOSIGNAL) == size;
    int got = 0;
    while (ok && got < size) {
        ssize_t n = recv(fd, in + got, size - got, 0);
        if (n <= 0) ok = 0; else got += n;
    }
    ok = ok && memcmp(in, out, size) == 0;
    close(fd);
    return ok ? 0 : -1;
}

static void *worker(void *unused) {
    (void)unused;
    while (!atomic_load(&stopping)) {
        if (limit > 0 && atomic_fetch_add(&started, 1) >= limit) break;
        int r = once();
        if (atomic_load(&measuring)) {
            if (r == 0) atomic_fetch_add(&done, 1); else atomic_fetch_add(&errors, 1);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-p")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-t")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-s")) size = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-w")) warmup = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "-d")) duration = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "-n")) limit = atol(argv[i + 1]);
    }
    if (port <= 0 || size < 1 || size > 65536 || threads < 1 || threads > 64) {
        fprintf(stderr, "usage: churn -p PORT [-t THREADS] [-s SIZE] [-w WARMUP] [-d SECONDS]\n");
        return 2;
    }
    pthread_t t[64];
    if (limit > 0) {  // a count, for instruction counting: no warm-up, no clock, every connection counted
        atomic_store(&measuring, 1);
        for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, NULL);
        for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
        printf("RESULT conns=%ld errors=%ld\n", atomic_load(&done), atomic_load(&errors));
        return atomic_load(&errors) == 0 ? 0 : 1;
    }
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, NULL);
    usleep((useconds_t)(warmup * 1e6));
    atomic_store(&measuring, 1);
    double start = now();
    usleep((useconds_t)(duration * 1e6));
    atomic_store(&measuring, 0);
    double elapsed = now() - start;
    atomic_store(&stopping, 1);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    printf("RESULT conns_per_s=%.0f errors=%ld\n", atomic_load(&done) / elapsed, atomic_load(&errors));
    return 0;
}
