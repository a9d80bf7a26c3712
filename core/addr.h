/*
 * addr — socket addresses as text, for logs and tools.
 *
 * addr_format() is async-signal-safe (no inet_ntop, no locale): it renders AF_INET
 * "1.2.3.4:80", AF_INET6 "[::1]:80", AF_UNIX "unix:/path" or "unix:@abstract", AF_NETLINK
 * "netlink:pid", AF_VSOCK "vsock:cid:port", anything else "family=N".
 */
#ifndef SOCKSHIFT_ADDR_H
#define SOCKSHIFT_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

#define ADDR_STRLEN 128

/* Writes at most size bytes including the NUL; returns buf. A NULL addr gives "-". */
char *addr_format(char *buf, size_t size, const struct sockaddr *addr, socklen_t len);
const char *addr_family_name(int family);
const char *addr_type_name(int type);

#endif
