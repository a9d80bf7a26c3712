/*
 * ioth_abi — the libioth plug-in ABI, written from its documented contract so that
 * sockshift can load existing libioth plug-ins and build its own (core/plugins/ioth_*.c).
 *
 * A plug-in NAME is a shared object named ioth_NAME-r.so (reentrant: loaded once, in the
 * program's link-map namespace, several stacks share it) or ioth_NAME.so (loaded in a new
 * link-map namespace per stack, so its globals are private). Its entry points are found by
 * name with dlsym:
 *     void *ioth_NAME_newstack(const char *vnlv[], const char *options, struct ioth_functions *f);
 *         mandatory; returns the stack's private data (stackdata), NULL with errno on error.
 *     int   ioth_NAME_delstack(void *stackdata);                        optional
 *     ioth_NAME_X for each X in struct ioth_functions after delstack    optional
 * The plug-in may also fill members of *f inside newstack. Calls carry no stack argument:
 * a plug-in function asks f->getstackdata() for the stackdata of the stack it is
 * serving, which the loader sets before every call it forwards.
 */
#ifndef SOCKSHIFT_IOTH_ABI_H
#define SOCKSHIFT_IOTH_ABI_H

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <unistd.h>

struct ioth_functions;

typedef void *ioth_newstack_t(const char *vnlv[], const char *options, struct ioth_functions *f);

/* X(member, type) in ABI order: never reorder, only append. */
#define IOTH_FUNCTIONS(X)                                                      \
	X(getstackdata, void *(*)(void))                                       \
	X(newstack, ioth_newstack_t *)                                         \
	X(delstack, int (*)(void *stackdata))                                  \
	X(socket, typeof(socket) *) X(close, typeof(close) *)                  \
	X(bind, typeof(bind) *) X(connect, typeof(connect) *)                  \
	X(listen, typeof(listen) *) X(accept, typeof(accept) *)                \
	X(getsockname, typeof(getsockname) *)                                  \
	X(getpeername, typeof(getpeername) *)                                  \
	X(setsockopt, typeof(setsockopt) *) X(getsockopt, typeof(getsockopt) *) \
	X(shutdown, typeof(shutdown) *) X(ioctl, int (*)(int, unsigned long, ...)) \
	X(fcntl, typeof(fcntl) *) X(read, typeof(read) *) X(readv, typeof(readv) *) \
	X(recv, typeof(recv) *) X(recvfrom, typeof(recvfrom) *)                \
	X(recvmsg, typeof(recvmsg) *) X(write, typeof(write) *)                \
	X(writev, typeof(writev) *) X(send, typeof(send) *)                    \
	X(sendto, typeof(sendto) *) X(sendmsg, typeof(sendmsg) *)

struct ioth_functions {
#define IOTH_MEMBER(name, type) typeof(type) name;
	IOTH_FUNCTIONS(IOTH_MEMBER)
#undef IOTH_MEMBER
};

#endif
