/*
 * rehome — moves a socket that has not been bound or connected yet to another stack,
 * under the same fd number.
 *
 *     new = to->ops->socket(domain, type, protocol)      in the target stack
 *     replay the options recorded in the fd table        (setsockopt, in order)
 *     copy O_NONBLOCK/O_ASYNC etc. (F_GETFL of the old)  the dup3 below would lose them
 *     dup3(new, fd, FD_CLOEXEC as the old had)           same number, new socket
 *     re-add the old socket's epoll registrations        (epolltrack.h)
 * Used by sock.c when a routing rule picks another stack at connect/sendto/bind time.
 * On failure before dup3 the old socket is untouched; afterwards only the epoll re-add
 * can fail, reported as -errno with the socket already moved.
 */
#ifndef SOCKSHIFT_REHOME_H
#define SOCKSHIFT_REHOME_H

#include "stack.h"

/* 0 or -errno. fd must be a known socket of the fd table. */
int rehome_fd(int fd, struct stack *to);

#endif
