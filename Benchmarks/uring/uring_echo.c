// uring_echo.c - single-threaded io_uring echo server: the upper bound of any io_uring engine.
//
// Behaves like ../../../shared/bench/epoll_echo.c (binds 127.0.0.1, echoes exactly the bytes it
// receives, TCP_NODELAY on accepted sockets, listen backlog 4096), built the way an io_uring
// engine would be:
//   - one multishot accept on the listener (re-armed only when the kernel ends it);
//   - one multishot receive per connection, into a provided buffer ring (one buffer group of
//     NBUFS buffers of BUFSZ bytes shared by every connection: no buffer per idle connection);
//   - the received buffer itself is sent back (IORING_OP_SEND, MSG_NOSIGNAL) and returned to the
//     ring when the send completes; at most one send in flight per connection, later buffers wait
//     in order behind it (a short send resends its tail first), so bytes never reorder;
//   - batched submission: every completion of a wake-up is handled, the SQEs it produced go to
//     the kernel in one io_uring_submit_and_wait, which also waits for the next completion;
//   - IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN when the kernel takes them
//     (6.1+), else COOP_TASKRUN, else none; the ring's own fd registered (io_uring_register_ring_fd).
// Not used: direct (fixed) descriptors for accepted sockets - TCP_NODELAY would then need the
// io_uring setsockopt command (6.7+), which liburing 2.3 has no helper for.
// A descriptor is closed only when no operation on it is in flight (its multishot receive ended
// and no send pending), so a completion can never name a reused descriptor.
// Back-pressure: a peer that sends but does not read holds at most PAUSE_AT buffers: then its
// receive is cancelled, and re-armed when its queue drains (epoll_echo stops reading the same
// way). When the ring runs out of buffers anyway, a multishot receive ends with -ENOBUFS; that
// connection is re-armed once a buffer comes back.
// Known limit: the ring is shared, so peers that send but never read can hold it all (each up to
// PAUSE_AT buffers, plus what arrives before its cancel lands): about NBUFS / PAUSE_AT = 128 such
// peers stall every other connection until they read. epoll_echo has no such limit (its unsent
// data is per connection). An engine would need a fallback: a one-shot receive into a buffer of
// the connection's own when the ring is dry.
//
// Usage: uring_echo PORT [BACKLOG] [--sync-send] [--no-defer]
//          --sync-send  echo with a plain send(2) from the completion loop (a hybrid, to measure
//                       what the send SQEs cost); a short or blocked send falls back to the ring
//          --no-defer   no SINGLE_ISSUER/DEFER_TASKRUN (what older kernels get)
//        uring_echo --probe   report whether io_uring_setup works here and exit (0 = yes)
// Build: gcc -O2 -Wall -o uring_echo uring_echo.c -luring      (Debian: apt-get install liburing-dev)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef NBUFS                // -DNBUFS=16 starves the ring on purpose (run.sh checks that build too)
#define NBUFS 1024          // power of two, at most 32768 (8 MiB in all, touched as the ring cycles)
#endif
#define BUFSZ 8192
#define BGID 0
#define NONE 0xffff

enum { OP_ACCEPT = 1, OP_RECV = 2, OP_SEND = 3, OP_CANCEL = 4 };
#define PAUSE_AT 8          // buffers queued on one connection before its receive is cancelled

typedef struct {
    uint16_t head, tail;    // queue of buffer ids waiting to be sent (NONE when empty)
    uint8_t recv_armed;     // a multishot receive is in flight
    uint8_t send_busy;      // a send is in flight (the head of the queue)
    uint8_t closing;        // EOF or error seen: close once nothing is in flight
    uint8_t want_rearm;     // receive ended with ENOBUFS: re-arm when a buffer returns
    uint8_t open;
    uint8_t listed;         // in starved_fds (kept across close, so each fd is listed at most once)
    uint8_t paused;         // receive cancelled because the peer does not read: re-armed when drained
    uint16_t queued;        // buffers in the send queue
    uint8_t eof;            // the peer finished sending: close once the queue is sent
} conn_t;

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static uint16_t next_of[NBUFS];   // per buffer: next in its connection's send queue
static uint32_t off_of[NBUFS], len_of[NBUFS];
static conn_t *conns;
static size_t cap;
static int lfd, sync_send;
static int returned;              // buffers given back since the last advance
static int *starved_fds;          // connections that ran dry, to re-arm when buffers return
static size_t starved;

static inline uint64_t ud(int op, int fd, unsigned bid) {
    return ((uint64_t)op << 56) | ((uint64_t)bid << 32) | (uint32_t)fd;
}

static struct io_uring_sqe *sqe_get(void) {
    struct io_uring_sqe *s = io_uring_get_sqe(&ring);
    while (!s) {                      // SQ full: hand this batch to the kernel, then retry
        io_uring_submit(&ring);
        s = io_uring_get_sqe(&ring);
    }
    return s;
}

static void buf_return(unsigned bid) {
    io_uring_buf_ring_add(br, bufs + (size_t)bid * BUFSZ, BUFSZ, (unsigned short)bid,
                          io_uring_buf_ring_mask(NBUFS), returned++);
}

static void arm_accept(void) {
    struct io_uring_sqe *s = sqe_get();
    io_uring_prep_multishot_accept(s, lfd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(s, ud(OP_ACCEPT, lfd, 0));
}

static void arm_recv(int fd) {
    struct io_uring_sqe *s = sqe_get();
    io_uring_prep_recv_multishot(s, fd, NULL, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = BGID;
    io_uring_sqe_set_data64(s, ud(OP_RECV, fd, 0));
    conns[fd].recv_armed = 1;
}

static void submit_send(int fd, unsigned bid) {
    struct io_uring_sqe *s = sqe_get();
    io_uring_prep_send(s, fd, bufs + (size_t)bid * BUFSZ + off_of[bid], len_of[bid] - off_of[bid], MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, ud(OP_SEND, fd, bid));
    conns[fd].send_busy = 1;
}

static void maybe_close(int fd) {
    conn_t *c = &conns[fd];
    if (!c->closing || c->recv_armed || c->send_busy) return;
    while (c->head != NONE) {         // unsent data of a dead connection: buffers back
        unsigned b = c->head;
        c->head = next_of[b];
        buf_return(b);
    }
    uint8_t listed = c->listed;
    memset(c, 0, sizeof *c);
    c->head = c->tail = NONE;
    c->listed = listed;
    close(fd);
}

static void fail(int fd) {            // error: stop the receive (it ends with 0), then close
    conn_t *c = &conns[fd];
    if (!c->closing) {
        c->closing = 1;
        shutdown(fd, SHUT_RDWR);
    }
    maybe_close(fd);
}

static void enqueue(int fd, unsigned bid, unsigned len) {
    conn_t *c = &conns[fd];
    off_of[bid] = 0;
    len_of[bid] = len;
    if (!c->send_busy && c->head == NONE && sync_send) {
        ssize_t w = send(fd, bufs + (size_t)bid * BUFSZ, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w == (ssize_t)len) {
            buf_return(bid);
            return;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            buf_return(bid);
            fail(fd);
            return;
        }
        if (w > 0) off_of[bid] = (uint32_t)w;
    }
    next_of[bid] = NONE;
    if (c->head == NONE) c->head = bid; else next_of[c->tail] = (uint16_t)bid;
    c->tail = (uint16_t)bid;
    c->queued++;
    if (!c->send_busy) submit_send(fd, bid);
    if (c->queued >= PAUSE_AT && c->recv_armed && !c->paused) {
        c->paused = 1;
        struct io_uring_sqe *s = sqe_get();
        io_uring_prep_cancel64(s, ud(OP_RECV, fd, 0), 0);
        io_uring_sqe_set_data64(s, ud(OP_CANCEL, fd, 0));
    }
}

static void on_accept(struct io_uring_cqe *cqe) {
    if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept();
    int fd = cqe->res;
    if (fd < 0) {
        if (fd == -EMFILE || fd == -ENFILE) fprintf(stderr, "accept: %s\n", strerror(-fd));
        return;
    }
    if ((size_t)fd >= cap) {
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn_t *c = &conns[fd];
    uint8_t listed = c->listed;
    memset(c, 0, sizeof *c);
    c->head = c->tail = NONE;
    c->open = 1;
    c->listed = listed;
    arm_recv(fd);
}

static void on_recv(int fd, struct io_uring_cqe *cqe) {
    conn_t *c = &conns[fd];
    int more = cqe->flags & IORING_CQE_F_MORE;
    if (!more) c->recv_armed = 0;
    if (cqe->res > 0) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        if (c->closing) buf_return(bid); else enqueue(fd, bid, (unsigned)cqe->res);
        if (!more && !c->closing && !c->paused) arm_recv(fd);  // the kernel ended it: go on
    } else if (cqe->res == -ECANCELED && c->paused) {
        if (c->head == NONE) {                     // drained before the cancel landed
            c->paused = 0;
            arm_recv(fd);
        }                                          // else on_send re-arms when it drains
    } else if (cqe->res == -ENOBUFS && !c->closing) {
        c->want_rearm = 1;                         // ring empty: wait for a buffer to come back
        if (!c->listed) {
            c->listed = 1;
            starved_fds[starved++] = fd;
        }
    } else if (cqe->res == 0 && c->head != NONE) {
        c->eof = 1;                                // EOF: echo what is queued, then close
    } else if (cqe->res == 0 || !more) {
        c->closing = 1;                            // EOF, reset or any other end
    }
    maybe_close(fd);
}

static void on_send(int fd, unsigned bid, struct io_uring_cqe *cqe) {
    conn_t *c = &conns[fd];
    c->send_busy = 0;
    if (cqe->res < 0) {
        fail(fd);
        return;
    }
    off_of[bid] += (uint32_t)cqe->res;
    if (off_of[bid] < len_of[bid] && !c->closing) {   // short send: its tail goes first
        submit_send(fd, bid);
        return;
    }
    c->head = next_of[bid];
    if (c->head == NONE) c->tail = NONE;
    c->queued--;
    buf_return(bid);
    if (c->head != NONE && !c->closing) submit_send(fd, c->head);
    if (c->eof && c->head == NONE) c->closing = 1;
    if (c->paused && c->head == NONE && !c->recv_armed && !c->closing) {
        c->paused = 0;
        arm_recv(fd);
    }
    maybe_close(fd);
}

static void rearm_starved(void) {      // buffers came back: re-arm who ran dry (closed ones skipped)
    while (starved > 0) {
        int fd = starved_fds[--starved];
        conn_t *c = &conns[fd];
        c->listed = 0;
        if (c->open && c->want_rearm && !c->recv_armed && !c->closing && !c->paused) {
            c->want_rearm = 0;
            arm_recv(fd);
        }
    }
}

static int setup(unsigned entries, int defer) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 8;
    if (defer) {
        p.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
        int r = io_uring_queue_init_params(entries, &ring, &p);
        if (r != -EINVAL) return r;
        memset(&p, 0, sizeof p);
        p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN;
        p.cq_entries = entries * 8;
        r = io_uring_queue_init_params(entries, &ring, &p);
        if (r != -EINVAL) return r;
        memset(&p, 0, sizeof p);
        p.flags = IORING_SETUP_CQSIZE;
        p.cq_entries = entries * 8;
    }
    return io_uring_queue_init_params(entries, &ring, &p);
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "--probe") == 0) {
        int r = io_uring_queue_init(8, &ring, 0);
        if (r < 0) {
            printf("io_uring_setup refused: %s (errno %d)\n", strerror(-r), -r);
            return 1;
        }
        printf("io_uring_setup ok\n");
        io_uring_queue_exit(&ring);
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [BACKLOG] [--sync-send] [--no-defer] | --probe\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    int backlog = 4096, defer = 1;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--sync-send") == 0) sync_send = 1;
        else if (strcmp(argv[i], "--no-defer") == 0) defer = 0;
        else backlog = atoi(argv[i]);
    }
    signal(SIGPIPE, SIG_IGN);

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    cap = rl.rlim_cur > 1048576 ? 1048576 : (size_t)rl.rlim_cur;
    conns = calloc(cap, sizeof(conn_t));
    starved_fds = calloc(cap, sizeof(int));

    int r = setup(4096, defer);
    if (r < 0) {
        fprintf(stderr, "io_uring_setup: %s (errno %d)\n", strerror(-r), -r);
        return 1;
    }
    io_uring_register_ring_fd(&ring);  // io_uring_enter without an fd lookup (5.18+; ignored if refused)
    size_t ring_bytes = NBUFS * sizeof(struct io_uring_buf);
    br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    bufs = malloc((size_t)NBUFS * BUFSZ);
    if (br == MAP_FAILED || !bufs || !conns || !starved_fds) {
        perror("alloc");
        return 1;
    }
    struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = NBUFS, .bgid = BGID};
    if ((r = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) {
        fprintf(stderr, "io_uring_register_buf_ring: %s\n", strerror(-r));
        return 1;
    }
    io_uring_buf_ring_init(br);
    for (unsigned b = 0; b < NBUFS; b++) buf_return(b);
    io_uring_buf_ring_advance(br, returned);
    returned = 0;

    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, backlog) < 0) {
        perror("bind/listen");
        return 1;
    }
    arm_accept();
    printf("uring_echo listening on 127.0.0.1:%d pid=%d flags=0x%x sync_send=%d\n", port, getpid(),
           ring.flags, sync_send);
    fflush(stdout);

    for (;;) {
        r = io_uring_submit_and_wait(&ring, 1);
        if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
            fprintf(stderr, "io_uring_submit_and_wait: %s\n", strerror(-r));
            return 1;
        }
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            uint64_t d = io_uring_cqe_get_data64(cqe);
            int op = (int)(d >> 56), fd = (int)(uint32_t)d;
            unsigned bid = (unsigned)((d >> 32) & 0xffff);
            if (op == OP_ACCEPT) on_accept(cqe);
            else if (op == OP_RECV) on_recv(fd, cqe);
            else if (op == OP_SEND) on_send(fd, bid, cqe);
            // OP_CANCEL: its receive's own completion (-ECANCELED) carries the news
            seen++;
        }
        io_uring_cq_advance(&ring, seen);
        if (returned) {
            io_uring_buf_ring_advance(br, returned);
            returned = 0;
            if (starved) rearm_starved();
        }
    }
}
