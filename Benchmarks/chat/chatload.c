// chatload: load generator for the chat room of `loom chat serve` (and asyncio_chat.py).
//
// N members join, then each keeps WINDOW of its own messages in flight (sent, not yet seen
// back) for DURATION seconds; then sending stops and it waits until every member has
// received every message. Every delivery is verified: each member must receive each sender's
// messages exactly once and in order, and nothing else (no error, no leave). One thread, epoll,
// non-blocking sockets, lines parsed in place: cheap enough not to be the bottleneck.
//
//   chatload PORT [MEMBERS=100] [DURATION=5] [WINDOW=8]
// prints: members=100 window=8 seconds=5.02 sent=... deliveries=... rate=... verified=ok
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd, id;
    char *in;          // unparsed input
    size_t inLength;
    char out[65536];   // unsent output
    size_t outLength;
    long sent, inflight, joinsSeen;
    long *nextFrom;    // next sequence expected from each sender
} Member;

static int members, window_;
static Member *m;
static long deliveries, failures;
static int sending = 1;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void fail(const char *what, Member *x, const char *line, size_t length) {
    if (failures++ < 5) fprintf(stderr, "chatload: member %d: %s: %.*s\n", x ? x->id : -1, what, (int)(length > 200 ? 200 : length), line ? line : "");
}

static void flushOut(Member *x) {
    while (x->outLength > 0) {
        ssize_t n = send(x->fd, x->out, x->outLength, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) fail("send failed", x, strerror(errno), strlen(strerror(errno)));
            return;
        }
        memmove(x->out, x->out + n, x->outLength - n);
        x->outLength -= n;
    }
}

static void fill(Member *x) {
    while (sending && x->inflight < window_ && x->outLength + 64 < sizeof x->out) {
        x->outLength += sprintf(x->out + x->outLength, "{\"msg\":\"%ld\"}\n", x->sent++);
        x->inflight++;
    }
    flushOut(x);
}

// {"from":"m12","msg":"345"} or {"event":"join","name":"m3"}
static void onLine(Member *x, const char *line, size_t length) {
    if (length > 10 && memcmp(line, "{\"from\":\"m", 10) == 0) {
        char *end;
        long from = strtol(line + 10, &end, 10);
        if (from < 0 || from >= members || memcmp(end, "\",\"msg\":\"", 9) != 0) return fail("bad message", x, line, length);
        long sequence = strtol(end + 9, NULL, 10);
        if (sequence != x->nextFrom[from]) return fail("out of order or duplicate", x, line, length);
        x->nextFrom[from]++;
        deliveries++;
        if (from == x->id) x->inflight--;
        return;
    }
    if (length > 16 && memcmp(line, "{\"event\":\"join\"", 15) == 0) { x->joinsSeen++; return; }
    fail("unexpected line", x, line, length);
}

static void readInput(Member *x) {
    char buffer[65536];
    while (1) {
        ssize_t n = recv(x->fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { if (errno != EAGAIN) fail("recv failed", x, strerror(errno), strlen(strerror(errno))); return; }
        if (n == 0) { fail("server closed", x, "", 0); close(x->fd); x->fd = -1; return; }
        x->in = realloc(x->in, x->inLength + n);
        memcpy(x->in + x->inLength, buffer, n);
        x->inLength += n;
        size_t start = 0;
        char *newline;
        while ((newline = memchr(x->in + start, '\n', x->inLength - start))) {
            onLine(x, x->in + start, newline - (x->in + start));
            start = newline - x->in + 1;
        }
        memmove(x->in, x->in + start, x->inLength - start);
        x->inLength -= start;
        if (n < (ssize_t)sizeof buffer) return;
    }
}

static int pollOnce(int ep, int ms) {
    struct epoll_event events[256];
    int n = epoll_wait(ep, events, 256, ms);
    for (int i = 0; i < n; i++) {
        Member *x = &m[events[i].data.u32];
        if (x->fd < 0) continue;
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) readInput(x);
        if (x->fd >= 0) fill(x);
    }
    return n;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: chatload PORT [MEMBERS] [DURATION] [WINDOW]\n"); return 2; }
    int port = atoi(argv[1]);
    members = argc > 2 ? atoi(argv[2]) : 100;
    double duration = argc > 3 ? atof(argv[3]) : 5;
    window_ = argc > 4 ? atoi(argv[4]) : 8;
    m = calloc(members, sizeof *m);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    for (int i = 0; i < members; i++) {
        Member *x = &m[i];
        x->id = i;
        x->nextFrom = calloc(members, sizeof(long));
        x->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(x->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(x->fd, (struct sockaddr *)&address, sizeof address) != 0) { perror("chatload: connect"); return 1; }
        char join[64];
        int length = sprintf(join, "{\"name\":\"m%d\"}\n", i);
        if (send(x->fd, join, length, MSG_NOSIGNAL) != length) { perror("chatload: send"); return 1; }
        // Joined once our own join event is back (joins are the only lines before the load).
        while (x->joinsSeen < 1) {
            char line[256];
            ssize_t n = recv(x->fd, line, sizeof line, MSG_PEEK);
            if (n <= 0) { fprintf(stderr, "chatload: join refused or closed\n"); return 1; }
            readInput(x);
        }
        for (int j = 0; j < i; j++) {  // the earlier members see this join
            while (m[j].joinsSeen < i - j + 1) readInput(&m[j]);
        }
    }
    for (int i = 0; i < members; i++) {
        fcntl(m[i].fd, F_SETFL, fcntl(m[i].fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event event = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_ADD, m[i].fd, &event);
    }
    double start = now();
    for (int i = 0; i < members; i++) fill(&m[i]);
    while (now() - start < duration && !failures) pollOnce(ep, 100);
    sending = 0;
    double stopSending = now();
    long total = 0;
    for (int i = 0; i < members; i++) total += m[i].sent;
    // Drain: every member must receive every message sent, bounded by 30 s.
    while (deliveries < total * members && now() - stopSending < 30 && !failures) pollOnce(ep, 100);
    double seconds = now() - start;
    for (int i = 0; i < members; i++)
        for (int j = 0; j < members; j++)
            if (m[i].nextFrom[j] != m[j].sent) { failures++; break; }
    printf("members=%d window=%d seconds=%.2f sent=%ld deliveries=%ld rate=%.0f verified=%s\n", members, window_, seconds,
           total, deliveries, deliveries / seconds, failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
