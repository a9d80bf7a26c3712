/*
 * ownfd — the few fds that belong to sockshift itself inside a host program (the log file).
 *
 * Programs close every fd at start, or dup2 onto "free" numbers. The shim's hooks ask here
 * first: close() of an own fd is answered without closing it, and dup2()/dup3() onto one
 * moves ours out of the way before the program's dup happens. Own fds are FD_CLOEXEC, so
 * exec'd children never see them. Lock-free: a handful of atomic slots.
 */
#ifndef SOCKSHIFT_OWNFD_H
#define SOCKSHIFT_OWNFD_H

#define OWNFD_MAX 32
#define OWNFD_MIN_NUMBER 900   /* own fds live high, away from numbers programs pick */

/* Moves fd to a high FD_CLOEXEC number and registers it; returns the new fd or -errno. */
int ownfd_adopt(int fd);
int ownfd_is(int fd);
/* If fd is ours, moves it elsewhere (and tells its users); 0 or -errno. */
int ownfd_evacuate(int fd);
/* Called when an own fd moved: the logger, for example, re-points its sink. */
void ownfd_set_moved_cb(void (*cb)(int oldfd, int newfd));

#endif
