/*
 * cmd_show — `sockshift show DIR|FILE [--json]`: decode checkpoint images for people (one
 * summary per socket: addresses, state, sequence numbers, queue sizes) or for scripts (--json,
 * one object). DIR is a checkpoint directory (fully validated, checksums included); FILE is one
 * image: tcp-stream-*.img, files.img or sockshift-manifest.img. All decoding is core/image.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>

#include "image.h"
#include "log.h"
#include "util.h"

int cmd_show(int argc, char **argv);

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sockshift show [--json] DIR|FILE\n"
		"\n"
		"Decode a checkpoint directory or one image file.\n"
		"  DIR    a checkpoint directory: every image is validated, checksums included\n"
		"  FILE   tcp-stream-<id>.img, files.img or sockshift-manifest.img\n"
		"  --json one JSON object on stdout, for scripts\n"
		"\n"
		"Exit status: 0 decoded, 1 invalid or unreadable image, 2 usage.\n");
}

static void fmt_addr(const union repair_addr *a, char *buf, size_t len, unsigned *port)
{
	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->v4.sin_addr, buf, len);
		*port = ntohs(a->v4.sin_port);
	} else if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->v6.sin6_addr, buf, len);
		*port = ntohs(a->v6.sin6_port);
	} else {
		snprintf(buf, len, "?");
		*port = 0;
	}
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* what: bit 1 = addresses known, bit 2 = queue data known, bit 4 = state known */
#define K_ADDR 1
#define K_QUEUE 2
#define K_STATE 4

static void show_conn_json(const struct image_conn *c, unsigned what)
{
	const struct repair_data *d = &c->data;
	char s[INET6_ADDRSTRLEN], p[INET6_ADDRSTRLEN];
	unsigned sp, pp;

	printf("{\"id\":%u,\"fd\":%d", c->id, c->fd);
	if (c->stack[0]) {
		printf(",\"stack\":");
		json_str(c->stack);
	}
	if (what & K_STATE) {
		printf(",\"state\":");
		json_str(c->listening ? "LISTEN" : repair_state_name(d->state));
		printf(",\"listening\":%s", c->listening ? "true" : "false");
	}
	if (what & K_ADDR) {
		fmt_addr(&c->self, s, sizeof(s), &sp);
		fmt_addr(&c->peer, p, sizeof(p), &pp);
		printf(",\"family\":\"%s\",\"src\":\"%s\",\"src_port\":%u",
		       c->self.sa.sa_family == AF_INET ? "inet" : "inet6", s, sp);
		if (!c->listening)
			printf(",\"dst\":\"%s\",\"dst_port\":%u", p, pp);
		else
			printf(",\"backlog\":%u", c->backlog);
	}
	if ((what & K_QUEUE) && !c->listening) {
		printf(",\"inq_len\":%u,\"inq_seq\":%u,\"outq_len\":%u,\"outq_seq\":%u,"
		       "\"unsq_len\":%u,\"opt_mask\":%u,\"mss_clamp\":%u,\"snd_wscale\":%u,"
		       "\"rcv_wscale\":%u,\"timestamp\":%u",
		       d->inq_len, d->inq_seq, d->outq_len, d->outq_seq, d->unsq_len, d->opt_mask,
		       d->mss_clamp, d->snd_wscale, d->rcv_wscale, d->timestamp);
		if (d->flags & REPAIR_FLAG_WINDOW)
			printf(",\"snd_wl1\":%u,\"snd_wnd\":%u,\"max_window\":%u,\"rcv_wnd\":%u,"
			       "\"rcv_wup\":%u", d->snd_wl1, d->snd_wnd, d->max_window, d->rcv_wnd,
			       d->rcv_wup);
	}
	printf("}");
}

static void show_conn_text(const struct image_conn *c, unsigned what)
{
	const struct repair_data *d = &c->data;
	char s[INET6_ADDRSTRLEN], p[INET6_ADDRSTRLEN];
	unsigned sp, pp;

	printf("socket %x", c->id);
	if (c->fd >= 0)
		printf("  fd %d", c->fd);
	if (c->stack[0])
		printf("  stack %s", c->stack);
	if (what & K_STATE)
		printf("  %s", c->listening ? "LISTEN" : repair_state_name(d->state));
	if (what & K_ADDR) {
		fmt_addr(&c->self, s, sizeof(s), &sp);
		fmt_addr(&c->peer, p, sizeof(p), &pp);
		if (c->listening)
			printf("  [%s]:%u backlog %u", s, sp, c->backlog);
		else
			printf("  [%s]:%u -> [%s]:%u", s, sp, p, pp);
	}
	printf("\n");
	if (!(what & K_QUEUE) || c->listening)
		return;
	printf("    seq      rcv_nxt %u  write_seq %u\n", d->inq_seq, d->outq_seq);
	printf("    queues   recv %u B, send %u B (%u sent-unacked, %u unsent)\n", d->inq_len,
	       d->outq_len, d->outq_len - d->unsq_len, d->unsq_len);
	printf("    options  mss %u%s%s%s", d->mss_clamp, d->opt_mask & 2 ? " sack" : "",
	       d->opt_mask & 1 ? " timestamps" : "", d->opt_mask & 4 ? " wscale" : "");
	if (d->opt_mask & 4)
		printf(" %u/%u", d->snd_wscale, d->rcv_wscale);
	printf("\n");
	if (d->flags & REPAIR_FLAG_WINDOW)
		printf("    window   snd_wnd %u max %u rcv_wnd %u\n", d->snd_wnd, d->max_window,
		       d->rcv_wnd);
}

static void show_set(const char *what_name, const struct image_set *set, unsigned what, int json,
		     const char *stack, int version)
{
	if (json) {
		printf("{\"path\":");
		json_str(what_name);
		if (stack) {
			printf(",\"format_version\":%d,\"stack\":", version);
			json_str(stack);
		}
		printf(",\"sockets\":[");
		for (size_t i = 0; i < set->nconns; i++) {
			if (i)
				putchar(',');
			show_conn_json(&set->conns[i], what);
		}
		printf("]}\n");
		return;
	}
	printf("%s:", what_name);
	if (stack)
		printf(" format %d, stack %s,", version, stack);
	printf(" %zu socket%s\n", set->nconns, set->nconns == 1 ? "" : "s");
	for (size_t i = 0; i < set->nconns; i++)
		show_conn_text(&set->conns[i], what);
}

static int show_file(const char *path, int json)
{
	struct image_set set = { 0 };
	struct image_conn c;
	struct image_manifest m;
	void *buf;
	size_t len;
	int err;

	err = image_load(path, &buf, &len);
	if (err) {
		fprintf(stderr, "sockshift show: %s: %s\n", path, strerror(-err));
		return EXIT_OPFAIL;
	}
	switch (image_kind(buf, len)) {
	case IMAGE_KIND_TCP_STREAM:
		memset(&c, 0, sizeof(c));
		c.fd = -1;
		err = image_tcp_stream_decode(buf, len, &c);
		if (!err) {
			set.nconns = 1;
			set.conns = &c;
			show_set(path, &set, K_QUEUE, json, NULL, 0);
			image_conn_clear(&c);
		}
		break;
	case IMAGE_KIND_FILES:
		err = image_files_decode(buf, len, &set);
		if (!err) {
			show_set(path, &set, K_ADDR | K_STATE, json, NULL, 0);
			image_set_free(&set);
		}
		break;
	case IMAGE_KIND_MANIFEST:
		err = image_manifest_decode(buf, len, &m);
		if (!err) {
			set.nconns = m.nconns;
			set.conns = m.conns;
			show_set(path, &set, K_STATE, json, m.stack, (int)m.format_version);
			image_manifest_free(&m);
		}
		break;
	default:
		err = -EBADMSG;
		fprintf(stderr, "sockshift show: %s: not a tcp-stream, files or manifest image\n",
			path);
	}
	free(buf);
	if (err) {
		fprintf(stderr, "sockshift show: %s: invalid image (%s)\n", path, strerror(-err));
		return EXIT_OPFAIL;
	}
	return 0;
}

int cmd_show(int argc, char **argv)
{
	const char *path = NULL;
	struct image_set set;
	struct stat st;
	int json = 0, err;

	for (int i = 1; i < argc; i++) {
		if (util_is_help(argv[i])) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "sockshift show: unknown option %s\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		} else if (!path) {
			path = argv[i];
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!path) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (stat(path, &st) < 0) {
		fprintf(stderr, "sockshift show: %s: %s\n", path, strerror(errno));
		return EXIT_OPFAIL;
	}
	if (!S_ISDIR(st.st_mode))
		return show_file(path, json);
	err = image_read_dir(path, &set);
	if (err) {
		fprintf(stderr, "sockshift show: %s: invalid checkpoint (%s)\n", path, strerror(-err));
		return EXIT_OPFAIL;
	}
	show_set(path, &set, K_ADDR | K_QUEUE | K_STATE, json, set.stack, (int)set.format_version);
	image_set_free(&set);
	return 0;
}
