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
    *received = info.tcpi_bytes_received;
    *sent = info.tcpi_bytes_acked + (uint64_t)(queued > 0 ? queued : 0);
    return 0;
}
