#ifndef CLOOM_SHIMS_H
#define CLOOM_SHIMS_H

// What Glibc does not expose to Swift: epoll, eventfd, accept4, gettid, and the variadic syscall()
// (futex). The wrappers are static inline, except accept4 (see below).
//
// This header must NOT define _GNU_SOURCE: it is imported into Swift next to Glibc, and
// _GNU_SOURCE changes the layout names of shared types (fd_set's `fds_bits`), which makes the
// Clang module conflict with SwiftGlibc ("'__fds_bits' is not present in definition of fd_set").
// accept4 is only declared under _GNU_SOURCE, so it is defined out of line in shims.c.
// Nor may it include <sys/socket.h> (see cloom_accept4).
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline int cloom_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static inline int cloom_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

/// The size of one kernel `struct epoll_event` (packed on x86-64, so Swift cannot lay it out):
/// callers size the scratch buffer of `cloom_epoll_wait` with it.
static inline size_t cloom_epoll_event_size(void) { return sizeof(struct epoll_event); }

/// Waits for up to `maxevents` events (any number) into the caller's `scratch` buffer of
/// `maxevents * cloom_epoll_event_size()` bytes, then copies them into two plain arrays Swift can
/// read safely.
static inline int cloom_epoll_wait(int epfd, void *scratch, uint32_t *events, uint64_t *datas, int maxevents,
                                   int timeout_ms) {
    struct epoll_event *evs = (struct epoll_event *)scratch;
    int n = epoll_wait(epfd, evs, maxevents, timeout_ms);
    for (int i = 0; i < n; i++) {
        events[i] = evs[i].events;
        datas[i] = evs[i].data.u64;
    }
    return n;
}

static inline int cloom_eventfd(unsigned int initval) { return eventfd(initval, EFD_CLOEXEC | EFD_NONBLOCK); }

/// accept4(2); defined in shims.c, the one translation unit compiled with _GNU_SOURCE. Declared
/// with `void *` and `uint32_t *` (socklen_t) so this header needs no <sys/socket.h>: including it
/// here makes Clang give SOCK_STREAM & co. to this module instead of Glibc, and Swift files
/// that import only Glibc then fail to find them in whole-module (release) builds.
int cloom_accept4(int fd, void *addr, uint32_t *len, int flags);

static inline pid_t cloom_gettid(void) { return (pid_t)syscall(SYS_gettid); }

/// Sleeps while *addr == expected, at most until the absolute CLOCK_MONOTONIC deadline (NULL: forever).
static inline int cloom_futex_wait(uint32_t *addr, uint32_t expected, const struct timespec *deadline) {
    return (int)syscall(SYS_futex, addr, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, deadline, NULL,
                        FUTEX_BITSET_MATCH_ANY);
}

static inline int cloom_futex_wake(uint32_t *addr, int count) {
    return (int)syscall(SYS_futex, addr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count, NULL, NULL, 0);
}

/// CPUs this thread may run on (its affinity mask, so `taskset -c 0` gives 1), at least 1.
static inline int cloom_cpu_count(void) {
    unsigned long mask[16] = {0};
    long bytes = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
    int count = 0;
    for (long i = 0; bytes > 0 && i < bytes / (long)sizeof(unsigned long); i++) count += __builtin_popcountl(mask[i]);
    if (count <= 0) count = (int)sysconf(_SC_NPROCESSORS_ONLN);
    return count > 0 ? count : 1;
}

/// Names the calling thread (15 bytes at most), as `top -H` shows it; defined in shims.c
/// (pthread_setname_np needs _GNU_SOURCE).
int cloom_set_thread_name(const char *name);

static inline int cloom_errno(void) { return errno; }

/// A TCP connection's byte totals from the kernel: `received` from TCP_INFO's tcpi_bytes_received,
/// `sent` = tcpi_bytes_acked + SIOCOUTQ (acknowledged, plus queued and not yet acknowledged: all
/// the application handed over), less the FIN each counts once it was received or sent. Defined in shims.c, whose <linux/tcp.h> has those fields (glibc's
/// <netinet/tcp.h>, which Swift's Glibc imports, does not, and the two cannot meet in one file).
/// Returns 0, or -1 with errno (EOPNOTSUPP for a socket that is not TCP, ENOPROTOOPT for a kernel
/// older than 4.1 without those fields).
int cloom_tcp_byte_totals(int fd, uint64_t *received, uint64_t *sent);

#endif
