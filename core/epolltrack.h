/*
 * epolltrack — the epoll registrations of sockets that may still be re-homed.
 *
 * Swapping the socket under an fd number (rehome.h) silently drops every epoll
 * registration of the old socket; nginx registers its upstream sockets before connect().
 * So while routing rules are active, epoll_ctl() on a known socket goes through
 * epolltrack_ctl(), which makes the call and remembers (epfd, fd, events, data); rehome
 * re-adds them on the new socket. Registrations of a fd are forgotten when the fd gets a
 * new socket (epolltrack_forget, called when the fd table records one) or on EPOLL_CTL_DEL.
 * A fixed table (EPOLLTRACK_MAX) under one mutex; without routing rules nothing is kept
 * and epoll_ctl costs one extra branch.
 */
#ifndef SOCKSHIFT_EPOLLTRACK_H
#define SOCKSHIFT_EPOLLTRACK_H

#include <sys/epoll.h>

#define EPOLLTRACK_MAX 1024

/* epoll_ctl through the kernel, recording when it succeeds; 0 or -errno. */
int epolltrack_ctl(int epfd, int op, int fd, struct epoll_event *ev);
void epolltrack_forget(int fd);
/* Re-adds every recorded registration of fd (after fd got a new socket); returns how
 * many were restored, or -errno of the first that failed. */
int epolltrack_restore(int fd);
/* Registrations recorded for fd (tests). */
int epolltrack_count(int fd);
/* When off (default), epolltrack_ctl only forwards. */
void epolltrack_enable(int on);

#endif
