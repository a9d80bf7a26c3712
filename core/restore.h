/*
 * restore — a new process takes over the connections of a checkpoint (SOCKSHIFT_RESTORE=DIR).
 *
 * At start (before main), restore_start() reads and validates the whole image directory
 * (a bad, partial or foreign-owned directory stops the program with exit status 125 before
 * anything is rebuilt), rebuilds every connection with the repair engine on hidden fds,
 * lifts the network lock of each one as soon as it is rebuilt, and keeps them pending.
 * The program then gets them the way it expects:
 *   - a server: after its listen() on the address a connection was accepted on, the listener
 *     is made readable (one loopback connect per pending connection), so epoll, poll and
 *     select report it; accept()/accept4() hand out the restored connection in place of that
 *     placeholder, under the fd number the kernel chose;
 *   - a client: connect() to the peer of a pending client connection returns 0 at once with
 *     the restored connection under the program's fd.
 * Connections nobody claims within SOCKSHIFT_RESTORE_GRACE are closed cleanly (FIN).
 */
#ifndef SOCKSHIFT_RESTORE_H
#define SOCKSHIFT_RESTORE_H

#include <stddef.h>
#include <sys/socket.h>

struct config;

/* Remembers SOCKSHIFT_RESTORE and the grace period (during the shim's init). */
void restore_prepare(const struct config *cfg);
/* Does the work, once the shim's hooks are usable (the constructor, before main):
 * 0 (nothing to do, or everything rebuilt) or -errno with a message in err. */
int restore_run(char *err, size_t errlen);
/* After the program's listen(fd): queue placeholders for the pending connections of its
 * address. Returns how many. */
int restore_listened(int fd);
/* After accept returned nfd on listener lfd: if nfd is a placeholder, put the restored
 * connection under nfd (flags: SOCK_NONBLOCK/SOCK_CLOEXEC of accept4) and fill addr.
 * 1 if swapped, 0 if nfd is an ordinary connection, -errno. */
int restore_accepted(int lfd, int nfd, struct sockaddr *addr, socklen_t *len, int flags);
/* A failed hand-over gives back a live connection the checkpoint accepted from listener lfd's
 * queue (fd: in the program's fd table): the program gets it from accept() on lfd like a
 * restored one (a placeholder connect), within the grace period. 0, or -errno with fd
 * untouched (the caller still owns it). */
int restore_adopt(int fd, int lfd);
/* After restore_adopt on a thread with its own fd table (progfd.h): the program pulls each
 * connection into its table at accept() (pidfd_getfd), and this thread must close its own
 * copies: waits until the program took them, at most timeout_ms (0: the restore grace
 * period; then the rest are closed with a FIN). Returns at once on a thread sharing the
 * program's table (nothing of its own to close). */
void restore_adopt_settle(unsigned timeout_ms);
/* Before the program's connect(fd, addr): 1 if a pending connection to addr now sits
 * under fd (connect succeeds), 0 to let the real connect go on. */
int restore_connect(int fd, const struct sockaddr *addr, socklen_t len);
/* Nonzero while restored connections wait to be claimed: the hooks' one-load test. */
extern int restore_active;
#define unlikely_restore() __builtin_expect(__atomic_load_n(&restore_active, __ATOMIC_RELAXED), 0)

/* Pending connections left, for the control thread. */
unsigned restore_pending(void);
/* Milliseconds until the grace period ends (-1: nothing pending). */
int restore_next_timeout_ms(void);
/* Closes what the grace period left unclaimed. */
void restore_expire(void);

#endif
