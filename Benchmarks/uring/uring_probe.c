// uring_probe.c - does io_uring work here, and what does a refusal look like?
//
// Prints, one line each:
//   - kernel.io_uring_disabled (0 allowed, 1 only for io_uring_group / CAP_SYS_ADMIN, 2 refused);
//   - io_uring_setup(2) here, and the features an engine needs (buffer rings: register works;
//     multishot accept and receive: their first completion is not -EINVAL);
//   - io_uring_setup(2) in a child under a seccomp filter that refuses it the way container
//     runtimes do (Docker's default profile: EPERM; a kernel without CONFIG_IO_URING, or a policy
//     returning ENOSYS: ENOSYS), so an engine's fallback rule can be tested without root.
// The machine's own settings are only read, never changed.
//
// Build: gcc -O2 -Wall -o uring_probe uring_probe.c -luring
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int raw_setup(void) {  // the bare system call: -errno or 0
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    long fd = syscall(__NR_io_uring_setup, 8, &p);
    if (fd < 0) return -errno;
    close((int)fd);
    return 0;
}

static void refuse_with(int err) {  // seccomp: io_uring_setup returns -err, everything else allowed
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        perror("seccomp");
        _exit(2);
    }
}

static void under_policy(const char *name, int err) {
    pid_t pid = fork();
    if (pid == 0) {
        refuse_with(err);
        int r = raw_setup();
        struct io_uring ring;
        int q = io_uring_queue_init(8, &ring, 0);
        printf("under seccomp (%s): io_uring_setup -> %s (errno %d); io_uring_queue_init -> %d\n", name,
               r ? strerror(-r) : "ok", -r, q);
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
}

static int first_res(struct io_uring *ring) {  // result of the first completion, bounded wait
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = {.tv_sec = 2};
    int r = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, NULL);
    if (r < 0) return r;
    int res = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    return res;
}

static void features(void) {
    struct io_uring ring;
    int r = io_uring_queue_init(8, &ring, 0);
    if (r < 0) return;
    printf("features=0x%x\n", ring.features);
    // buffer ring
    struct io_uring_buf_ring *br = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = 8, .bgid = 0};
    r = io_uring_register_buf_ring(&ring, &reg, 0);
    printf("provided buffer ring (5.19+): %s\n", r ? strerror(-r) : "ok");
    // multishot accept on a loopback listener, then multishot receive on the accepted socket
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    bind(l, (struct sockaddr *)&sa, sizeof sa);
    listen(l, 8);
    getsockname(l, (struct sockaddr *)&sa, &sl);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    connect(c, (struct sockaddr *)&sa, sizeof sa);
    struct io_uring_sqe *s = io_uring_get_sqe(&ring);
    io_uring_prep_multishot_accept(s, l, NULL, NULL, SOCK_CLOEXEC);
    int a = first_res(&ring);
    printf("multishot accept (5.19+): %s\n", a >= 0 ? "ok" : strerror(-a));
    if (a >= 0 && r == 0) {
        static char bufs[8][64];
        io_uring_buf_ring_init(br);
        for (int i = 0; i < 8; i++) io_uring_buf_ring_add(br, bufs[i], 64, (unsigned short)i, 7, i);
        io_uring_buf_ring_advance(br, 8);
        (void)!write(c, "x", 1);
        s = io_uring_get_sqe(&ring);
        io_uring_prep_recv_multishot(s, a, NULL, 0, 0);
        s->flags |= IOSQE_BUFFER_SELECT;
        s->buf_group = 0;
        int m = first_res(&ring);
        printf("multishot receive with provided buffers (6.0+): %s\n", m > 0 ? "ok" : strerror(-m));
        close(a);
    }
    close(c);
    close(l);
    io_uring_queue_exit(&ring);
}

int main(void) {
    FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
    int disabled = -1;
    if (f) {
        if (fscanf(f, "%d", &disabled) != 1) disabled = -1;
        fclose(f);
    }
    printf("kernel.io_uring_disabled=%d%s\n", disabled, disabled < 0 ? " (no such sysctl: kernel < 6.6)" : "");
    int r = raw_setup();
    printf("io_uring_setup here: %s (errno %d)\n", r ? strerror(-r) : "ok", -r);
    if (r == 0) features();
    fflush(stdout);
    under_policy("EPERM, like Docker's default profile or io_uring_disabled=2", EPERM);
    under_policy("ENOSYS, like a kernel built without CONFIG_IO_URING", ENOSYS);
    return r ? 1 : 0;
}
