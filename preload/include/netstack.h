/*
 * netstack.h: the explicit C interface of libnetstack_preload.so.
 *
 * The library is normally preloaded (`netstack run -- PROGRAM`): it then takes
 * over the socket calls of an unmodified program, and this header is not needed.
 * A program may also link it on purpose:
 *
 *     cc prog.c -I preload/include -L target/release -lnetstack_preload \
 *        -Wl,-rpath,$PWD/target/release
 *
 * and call the netstack_ names below to say which calls are the stack's. They
 * behave exactly as the calls without the prefix: AF_INET sockets live on the
 * stack (started from the NETSTACK_* environment: NETSTACK_TAP, NETSTACK_ADDR,
 * NETSTACK_GW, NETSTACK_MTU, NETSTACK_PCAP, NETSTACK_LOSS, NETSTACK_SEED, ...;
 * see `netstack run --help`), every other descriptor goes to the C library.
 * Linking the library also makes the plain names (socket, read, ...) the
 * stack's, as preloading does.
 *
 * Statically linked programs cannot use the library; write them against the
 * Rust API (crate netstack-sockets), which has the same calls.
 */
#ifndef NETSTACK_H
#define NETSTACK_H

#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts the stack now (otherwise the first AF_INET socket does): 0, or -1
 * with errno ENETDOWN and the reason on stderr. */
int netstack_start(void);
/* 1 when fd is a socket of the stack, 0 otherwise. */
int netstack_is_socket(int fd);

int netstack_socket(int domain, int type, int protocol);
int netstack_bind(int fd, const struct sockaddr *addr, socklen_t len);
int netstack_listen(int fd, int backlog);
int netstack_accept(int fd, struct sockaddr *addr, socklen_t *len);
int netstack_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int netstack_connect(int fd, const struct sockaddr *addr, socklen_t len);
int netstack_shutdown(int fd, int how);
int netstack_close(int fd);
int netstack_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
int netstack_getpeername(int fd, struct sockaddr *addr, socklen_t *len);
int netstack_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int netstack_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
/* The third argument is an int or a pointer, as for fcntl(2) and ioctl(2). */
int netstack_fcntl(int fd, int cmd, unsigned long arg);
int netstack_ioctl(int fd, unsigned long request, void *arg);
int netstack_sockatmark(int fd);
int netstack_dup(int fd);
int netstack_dup2(int fd, int newfd);
ssize_t netstack_read(int fd, void *buf, size_t n);
ssize_t netstack_write(int fd, const void *buf, size_t n);
ssize_t netstack_readv(int fd, const struct iovec *iov, int n);
ssize_t netstack_writev(int fd, const struct iovec *iov, int n);
ssize_t netstack_recv(int fd, void *buf, size_t n, int flags);
ssize_t netstack_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from,
                          socklen_t *fromlen);
ssize_t netstack_recvmsg(int fd, struct msghdr *msg, int flags);
ssize_t netstack_send(int fd, const void *buf, size_t n, int flags);
ssize_t netstack_sendto(int fd, const void *buf, size_t n, int flags,
                        const struct sockaddr *to, socklen_t tolen);
ssize_t netstack_sendmsg(int fd, const struct msghdr *msg, int flags);
int netstack_poll(struct pollfd *fds, nfds_t n, int timeout);
int netstack_select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *timeout);

#ifdef __cplusplus
}
#endif

#endif /* NETSTACK_H */
