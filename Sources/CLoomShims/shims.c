// accept4 is declared only under _GNU_SOURCE, which the imported header must not define (see
// CLoomShims.h), so this file defines it out of line; everything else is inline in the header.
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include "CLoomShims.h"

int cloom_accept4(int fd, void *addr, uint32_t *len, int flags) {
    return accept4(fd, (struct sockaddr *)addr, (socklen_t *)len, flags);
}

int cloom_set_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}

int cloom_tcp_byte_totals(int fd, uint64_t *received, uint64_t *sent) {
    struct tcp_info info;
    memset(&info, 0, sizeof info);
    socklen_t length = sizeof info;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) == -1) return -1;
    if (length < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received) {
        errno = ENOPROTOOPT;
        return -1;
    }
    int queued = 0;
    if (ioctl(fd, SIOCOUTQ, &queued) == -1) return -1;
    // Both counters follow sequence numbers, in which a FIN takes one: take it out again.
    // States (the kernel's numbering): 4 FIN_WAIT1, 5 FIN_WAIT2, 6 TIME_WAIT, 8 CLOSE_WAIT,
    // 9 LAST_ACK, 11 CLOSING.
    int finReceived = info.tcpi_state == 6 || info.tcpi_state == 8 || info.tcpi_state == 9 || info.tcpi_state == 11;
    int finSent = info.tcpi_state == 4 || info.tcpi_state == 5 || info.tcpi_state == 6 || info.tcpi_state == 9
        || info.tcpi_state == 11;
    uint64_t inSequence = info.tcpi_bytes_acked + (uint64_t)(queued > 0 ? queued : 0);
    *received = info.tcpi_bytes_received - (finReceived && info.tcpi_bytes_received > 0 ? 1 : 0);
    *sent = inSequence - (finSent && inSequence > 0 ? 1 : 0);
    return 0;
}
