// tls_loadgen.c - epoll, non-blocking TLS echo load generator (OpenSSL), for tls-compare.sh.
//
// Modes, each over C connections to HOST:PORT with TLS (1.2 minimum; --tls12 / --tls13 pin one):
//   ping-pong (default)  each connection writes S bytes (the last is '\n'), reads S bytes back,
//                        verifies them, repeats. 64-byte requests at 16/128 connections are the
//                        latency figure, 64 KiB on one connection the bulk figure (MBps).
//   --handshakes         each connection does one full handshake, one verified S-byte echo,
//                        close_notify and close, then connects again: handshakes per second
//                        (--resume resumes the previous session instead of a full handshake).
// Warm-up W seconds (not recorded), then D seconds measured; every byte is verified against a
// pattern that depends on the connection and the request, so lost, repeated or crossed bytes
// count as mismatches. The last line is machine readable:
//   RESULT mode=pingpong|handshakes label=... conns=C size=S rps=... MBps=... hps=... p50_us=...
//          p99_us=... srv_cpu=... errors=...
// Every loop is bounded (a hard deadline of W + D + 5 s). Numeric IPv4 hosts only (127.0.0.1).
// Certificates are not verified unless --cafile is given (the servers' cost is what is measured).
//
// Build: gcc -O2 -Wall -o tls_loadgen tls_loadgen.c -lssl -lcrypto
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// Latency histogram: 1 us buckets up to 100 ms, then one overflow bucket.
#define HBUCKETS 100001
static uint64_t hist[HBUCKETS];
static uint64_t hist_count;
static void hrec(uint64_t ns) {
    uint64_t us = ns / 1000;
    hist[us < HBUCKETS - 1 ? us : HBUCKETS - 1]++;
    hist_count++;
}
static double hpct(double p) {
    if (!hist_count) return 0;
    uint64_t want = (uint64_t)(p / 100.0 * (double)hist_count + 0.999999), seen = 0;
    for (int i = 0; i < HBUCKETS; i++) {
        seen += hist[i];
        if (seen >= want) return i;
    }
    return HBUCKETS - 1;
}

static const char *opt_host = "127.0.0.1";
static int opt_port = 9443, opt_conns = 1, opt_handshakes = 0, opt_resume = 0, opt_quiet = 0, opt_server_pid = 0;
static int opt_version = 0;  // 0 any, 12, 13
static long opt_size = 64;
static double opt_dur = 5, opt_warm = 1;
static const char *opt_label = "", *opt_cafile = NULL;

enum { S_CONNECTING, S_HANDSHAKE, S_IO, S_DEAD };
typedef struct {
    int fd, state, idx;
    SSL *ssl;
    SSL_SESSION *session;
    long sent, recvd;
    uint64_t seq, started;
    unsigned char *rbuf;
    uint32_t events;
} conn_t;

#define NPAT 26
static unsigned char *pat[NPAT];
static SSL_CTX *ctx;
static int ep;
static struct sockaddr_in addr;
static uint64_t t_measure, t_end;
static uint64_t n_reqs, n_bytes, n_handshakes, n_errors, n_mismatch, n_resumed;

static unsigned long long srv_cpu_ticks(void) {
    if (!opt_server_pid) return 0;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", opt_server_pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return 0;
    unsigned long long ut = 0, st = 0;
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
        field++;
        if (field == 14) ut = strtoull(tok, NULL, 10);
        if (field == 15) { st = strtoull(tok, NULL, 10); break; }
    }
    return ut + st;
}

static void set_events(conn_t *c, uint32_t events) {
    if (c->events == events) return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->events = events;
}

static void open_conn(conn_t *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->state = S_CONNECTING;
    c->sent = c->recvd = 0;
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
        n_errors++;
    }
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_connect_state(c->ssl);
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    if (opt_resume && c->session) SSL_set_session(c->ssl, c->session);
    c->started = now_ns();
    c->events = EPOLLOUT;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void close_conn(conn_t *c, int clean) {
    if (clean) SSL_shutdown(c->ssl);  // one call: our close_notify, no wait for the peer's
    SSL_free(c->ssl);
    c->ssl = NULL;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->state = S_DEAD;
}

static void fail(conn_t *c, const char *what) {
    n_errors++;
    if (!opt_quiet) {
        char reason[256];
        ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
        fprintf(stderr, "connection %d: %s (%s)\n", c->idx, what, reason);
    }
    ERR_clear_error();
    close_conn(c, 0);
    if (now_ns() < t_end) open_conn(c);
}

static int want(conn_t *c, int r, const char *what) {  // 1 = keep going later, 0 = failed
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) { set_events(c, EPOLLIN); return 1; }
    if (e == SSL_ERROR_WANT_WRITE) { set_events(c, EPOLLIN | EPOLLOUT); return 1; }
    fail(c, what);
    return 0;
}

static void drive(conn_t *c) {
    if (c->state == S_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) { errno = err; fail(c, "connect"); return; }
        c->state = S_HANDSHAKE;
    }
    if (c->state == S_HANDSHAKE) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) { want(c, r, "handshake"); return; }
        c->state = S_IO;
        if (SSL_session_reused(c->ssl) && c->started >= t_measure) n_resumed++;
    }
    while (c->state == S_IO) {
        const unsigned char *payload = pat[(c->seq + (uint64_t)c->idx) % NPAT];
        while (c->sent < opt_size) {
            size_t n = 0;
            int r = SSL_write_ex(c->ssl, payload + c->sent, (size_t)(opt_size - c->sent), &n);
            if (r != 1) {
                if (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_WRITE) break;
                want(c, r, "write");
                return;
            }
            c->sent += (long)n;
        }
        size_t n = 0;
        int r = SSL_read_ex(c->ssl, c->rbuf + c->recvd, (size_t)(opt_size - c->recvd), &n);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                set_events(c, EPOLLIN | (c->sent < opt_size || e == SSL_ERROR_WANT_WRITE ? EPOLLOUT : 0));
                return;
            }
            fail(c, e == SSL_ERROR_ZERO_RETURN ? "server closed" : "read");
            return;
        }
        if (memcmp(c->rbuf + c->recvd, payload + c->recvd, n) != 0) { n_mismatch++; fail(c, "mismatch"); return; }
        c->recvd += (long)n;
        if (c->recvd < opt_size) continue;
        uint64_t t = now_ns();
        if (c->started >= t_measure && t <= t_end) {
            n_reqs++;
            n_bytes += (uint64_t)opt_size;
            hrec(t - c->started);
            if (opt_handshakes) n_handshakes++;
        }
        c->seq++;
        if (opt_handshakes) {
            if (opt_resume && !c->session) c->session = SSL_get1_session(c->ssl);
            close_conn(c, 1);
            if (t < t_end) open_conn(c);
            return;
        }
        c->sent = c->recvd = 0;
        c->started = t;
        if (t >= t_end) return;
    }
}

int main(int argc, char **argv) {
    static struct option longs[] = {
        {"host", 1, 0, 'H'}, {"port", 1, 0, 'p'}, {"conns", 1, 0, 'c'}, {"size", 1, 0, 's'},
        {"duration", 1, 0, 'd'}, {"warmup", 1, 0, 'w'}, {"handshakes", 0, 0, 'h'}, {"resume", 0, 0, 'r'},
        {"cafile", 1, 0, 'a'}, {"label", 1, 0, 'l'}, {"server-pid", 1, 0, 'P'}, {"quiet", 0, 0, 'q'},
        {"tls12", 0, 0, '2'}, {"tls13", 0, 0, '3'}, {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "H:p:c:s:d:w:q", longs, NULL)) != -1) {
        switch (o) {
        case 'H': opt_host = optarg; break;
        case 'p': opt_port = atoi(optarg); break;
        case 'c': opt_conns = atoi(optarg); break;
        case 's': opt_size = atol(optarg); break;
        case 'd': opt_dur = atof(optarg); break;
        case 'w': opt_warm = atof(optarg); break;
        case 'h': opt_handshakes = 1; break;
        case 'r': opt_resume = 1; break;
        case 'a': opt_cafile = optarg; break;
        case 'l': opt_label = optarg; break;
        case 'P': opt_server_pid = atoi(optarg); break;
        case 'q': opt_quiet = 1; break;
        case '2': opt_version = 12; break;
        case '3': opt_version = 13; break;
        default:
            fprintf(stderr, "usage: %s -p PORT [-c CONNS] [-s SIZE] [-d SEC] [-w SEC] [--handshakes [--resume]] "
                            "[--tls12|--tls13] [--cafile CA.pem] [--server-pid PID] [--label TEXT] [-q]\n", argv[0]);
            return 2;
        }
    }
    if (opt_conns < 1 || opt_size < 1 || opt_dur <= 0) { fprintf(stderr, "bad arguments\n"); return 2; }
    signal(SIGPIPE, SIG_IGN);  // a benchmark tool, not a library: OpenSSL's socket BIO writes with write(2)
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)opt_port);
    if (inet_pton(AF_INET, opt_host, &addr.sin_addr) != 1) { fprintf(stderr, "numeric IPv4 host only\n"); return 2; }

    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, opt_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    if (opt_version) SSL_CTX_set_max_proto_version(ctx, opt_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
    if (opt_cafile) {
        if (SSL_CTX_load_verify_locations(ctx, opt_cafile, NULL) != 1) { fprintf(stderr, "cannot load %s\n", opt_cafile); return 2; }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    for (int i = 0; i < NPAT; i++) {
        pat[i] = malloc((size_t)opt_size);
        for (long j = 0; j < opt_size; j++) pat[i][j] = (unsigned char)('a' + (i + j) % 26);
        pat[i][opt_size - 1] = '\n';
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    conn_t *conns = calloc((size_t)opt_conns, sizeof *conns);
    uint64_t t0 = now_ns();
    t_measure = t0 + (uint64_t)(opt_warm * 1e9);
    t_end = t_measure + (uint64_t)(opt_dur * 1e9);
    uint64_t hard_end = t_end + 5000000000ull;
    for (int i = 0; i < opt_conns; i++) {
        conns[i].idx = i;
        conns[i].rbuf = malloc((size_t)opt_size);
        open_conn(&conns[i]);
    }
    unsigned long long cpu0 = 0, cpu1 = 0;
    int measuring = 0;
    struct epoll_event events[1024];
    while (1) {
        uint64_t t = now_ns();
        if (!measuring && t >= t_measure) { measuring = 1; cpu0 = srv_cpu_ticks(); }
        if (t >= t_end) break;
        if (t >= hard_end) break;
        int n = epoll_wait(ep, events, 1024, 50);
        for (int i = 0; i < n; i++) drive(events[i].data.ptr);
    }
    cpu1 = srv_cpu_ticks();
    for (int i = 0; i < opt_conns; i++) if (conns[i].state != S_DEAD) close_conn(&conns[i], 0);
    double secs = opt_dur;
    double rps = (double)n_reqs / secs;
    double mbps = (double)n_bytes / secs / 1e6;
    double hps = (double)n_handshakes / secs;
    double srv_cpu = opt_server_pid ? (double)(cpu1 - cpu0) / (double)sysconf(_SC_CLK_TCK) / secs : -1;
    if (!opt_quiet)
        fprintf(stderr, "%s: %d conns x %ld B: %llu requests in %.1f s = %.0f/s, %.2f MB/s each way, %.0f handshakes/s\n",
                opt_handshakes ? "handshakes" : "ping-pong", opt_conns, opt_size, (unsigned long long)n_reqs, secs, rps,
                mbps, hps);
    printf("RESULT mode=%s label=%s conns=%d size=%ld dur_s=%.1f reqs=%llu rps=%.0f MBps=%.2f hps=%.0f resumed=%llu "
           "p50_us=%.0f p99_us=%.0f srv_cpu=%.2f mismatches=%llu errors=%llu\n",
           opt_handshakes ? "handshakes" : "pingpong", opt_label, opt_conns, opt_size, secs, (unsigned long long)n_reqs,
           rps, mbps, hps, (unsigned long long)n_resumed, hpct(50), hpct(99), srv_cpu,
           (unsigned long long)n_mismatch, (unsigned long long)(n_errors + n_mismatch));
    return n_reqs == 0 ? 1 : 0;
}
