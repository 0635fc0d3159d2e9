// accept4 is declared only under _GNU_SOURCE, which the imported header must not define (see
// CLoomShims.h), so this file defines it out of line; everything else is inline in the header.
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/socket.h>
#include "CLoomShims.h"

int cloom_accept4(int fd, void *addr, uint32_t *len, int flags) {
    return accept4(fd, (struct sockaddr *)addr, (socklen_t *)len, flags);
}

int cloom_set_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}
