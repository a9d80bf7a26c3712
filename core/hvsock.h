/*
 * hvsock — the host side of "hybrid vsock", the vsock device of Firecracker and Cloud
 * Hypervisor, which the host reaches through Unix sockets instead of AF_VSOCK.
 *
 * Host -> guest: connect to the VMM's socket uds_path, send "CONNECT <port>\n" in one
 * write; the VMM answers "OK <host_port>\n" once the guest's listener accepted, and guest
 * data may follow the OK line in the same read (so the line is read byte by byte and not a
 * byte beyond it is consumed). No guest listener: the VMM just closes (-> ECONNREFUSED).
 *     int fd = socket(AF_UNIX, SOCK_STREAM, 0);
 *     uint32_t hp;
 *     int r = hvsock_connect(fd, "/run/fc/v.sock", 5000, 2000, &hp);   // 0 or -errno
 * Guest -> host: the VMM connects to the Unix socket "<uds_path>_<port>" for a guest
 * connect to CID 2 port <port>; hvsock_listen_path() builds that name.
 *
 * hvsock_connect() runs the whole handshake before it returns, also on a non-blocking
 * socket (it waits with poll, at most timeout_ms in all), and leaves the socket's file
 * status flags as they were; hvsock_start() + hvsock_answer() split it in two.
 * Errors: -ECONNREFUSED (VMM closed or reset before OK, or nothing listens on uds_path),
 * -ETIMEDOUT, -EPROTO (an answer that is not "OK <u32>"), -ENAMETOOLONG, or the errno of
 * the failed call.
 */
#ifndef SOCKSHIFT_HVSOCK_H
#define SOCKSHIFT_HVSOCK_H

#include <stddef.h>
#include <stdint.h>

#define HVSOCK_LINE_MAX    32       /* longest answer line accepted (Firecracker's buffer) */
#define HVSOCK_TIMEOUT_MS  2000     /* the VMMs' own CONN_REQUEST_TIMEOUT */

int hvsock_connect(int fd, const char *uds, uint32_t port, int timeout_ms, uint32_t *host_port);

/* hvsock_connect() in two halves, for a program's non-blocking connect (vsock_sock.c):
 * hvsock_start() connects to uds and sends the CONNECT line (both immediate on a local Unix
 * socket unless the VMM's backlog is full); hvsock_answer() later consumes the answer line,
 * waiting for it until deadline (an hvsock_now_ms() value). Same errors as hvsock_connect. */
long hvsock_now_ms(void);
int hvsock_start(int fd, const char *uds, uint32_t port, long deadline);
int hvsock_answer(int fd, long deadline, uint32_t *host_port);

/* "<uds>_<port>" into out; -ENAMETOOLONG if it does not fit a sun_path or size. */
int hvsock_listen_path(const char *uds, uint32_t port, char *out, size_t size);

/* "CONNECT <port>\n"; returns its length. */
size_t hvsock_format_connect(uint32_t port, char *buf, size_t size);
/* Parses an answer line without its '\n': "OK <u32>" (case-insensitive "ok"). 0 or -EPROTO. */
int hvsock_parse_ok(const char *line, size_t len, uint32_t *host_port);

#endif
