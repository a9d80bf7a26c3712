/*
 * image_files — files.img (CRIU file_entry{INETSK} with inet_sk_entry, one per socket) and
 * sockshift's manifest, mapped to and from struct image_conn. CRIU fields are filled the way
 * CRIU 3.17 fills them (legacy keepalive fields in sk_opts, ports in host order, addresses as
 * network-order bytes in u32 words); what CRIU has no field for goes into the manifest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "image_int.h"
#include "sk_inet.pb-c.h"
#include "manifest.pb-c.h"

static void addr_words(const union repair_addr *a, uint32_t *w, size_t *n, uint32_t *port)
{
	if (a->sa.sa_family == AF_INET) {
		memcpy(w, &a->v4.sin_addr, 4);
		*n = 1;
		*port = ntohs(a->v4.sin_port);
	} else {
		memcpy(w, &a->v6.sin6_addr, 16);
		*n = 4;
		*port = ntohs(a->v6.sin6_port);
	}
}

static void words_addr(union repair_addr *a, int family, const uint32_t *w, uint32_t port)
{
	memset(a, 0, sizeof(*a));
	a->sa.sa_family = family;
	if (family == AF_INET) {
		memcpy(&a->v4.sin_addr, w, 4);
		a->v4.sin_port = htons(port);
	} else {
		memcpy(&a->v6.sin6_addr, w, 16);
		a->v6.sin6_port = htons(port);
	}
}

int image_files_encode(const struct image_set *set, void **buf, size_t *len)
{
	struct image_wr w = { 0 };

	image_wr_magic(&w, IMAGE_MAGIC_FILES);
	for (size_t i = 0; i < set->nconns && !w.err; i++) {
		const struct image_conn *c = &set->conns[i];
		const struct repair_opts *o = &c->data.opts;
		FileEntry fe = FILE_ENTRY__INIT;
		InetSkEntry ie = INET_SK_ENTRY__INIT;
		FownEntry fown = FOWN_ENTRY__INIT;
		SkOptsEntry so = SK_OPTS_ENTRY__INIT;
		IpOptsEntry ipo = IP_OPTS_ENTRY__INIT;
		uint32_t src[4], dst[4] = { 0 };
		size_t n;
		uint8_t *pb;

		if (c->self.sa.sa_family != AF_INET && c->self.sa.sa_family != AF_INET6) {
			free(w.p);
			return -EAFNOSUPPORT;
		}
		fe.type = FD_TYPES__INETSK;
		fe.id = c->id;
		fe.isk = &ie;
		ie.id = ie.ino = c->id;
		ie.family = c->self.sa.sa_family;
		ie.type = SOCK_STREAM;
		ie.proto = IPPROTO_TCP;
		ie.state = c->listening ? TCP_LISTEN : c->data.state;
		ie.flags = o->file_flags;
		ie.backlog = c->backlog;
		addr_words(&c->self, src, &ie.n_src_addr, &ie.src_port);
		ie.src_addr = src;
		if (!c->listening) {
			addr_words(&c->peer, dst, &ie.n_dst_addr, &ie.dst_port);
			ie.dst_addr = dst;
		}
		ie.fown = &fown;
		ie.opts = &so;
		so.so_sndbuf = o->sndbuf;
		so.so_rcvbuf = o->rcvbuf;
		so.has_reuseaddr = 1;
		so.reuseaddr = !!o->reuseaddr;
		so.has_so_priority = 1;
		so.so_priority = o->priority;
		so.has_so_mark = !!o->mark;
		so.so_mark = o->mark;
		so.has_so_reuseport = 1;
		so.so_reuseport = !!o->reuseport;
		so.has_so_keepalive = 1;
		so.so_keepalive = !!o->keepalive;
		so.has_tcp_keepcnt = so.has_tcp_keepidle = so.has_tcp_keepintvl = 1;
		so.tcp_keepcnt = o->keepcnt;
		so.tcp_keepidle = o->keepidle;
		so.tcp_keepintvl = o->keepintvl;
		so.has_so_linger = !!o->linger_on;
		so.so_linger = o->linger_sec;
		so.has_so_buf_lock = 1;
		so.so_buf_lock = o->set & (REPAIR_OPT_SNDBUF | REPAIR_OPT_RCVBUF);
		if (ie.family == AF_INET6) {
			ie.has_v6only = 1;
			ie.v6only = !!o->v6only;
		}
		if (o->tos) {
			ipo.has_tos = 1;
			ipo.tos = o->tos;
			ie.ip_opts = &ipo;
		}
		ie.has_shutdown = 1;
		ie.shutdown = (SkShutdown)(o->shutdown & 3);
		n = file_entry__get_packed_size(&fe);
		pb = image_wr_entry(&w, n);
		if (pb)
			file_entry__pack(&fe, pb);
	}
	if (w.err) {
		free(w.p);
		return w.err;
	}
	*buf = w.p;
	*len = w.len;
	return 0;
}

static int check_inet(const struct image_rd *r, const FileEntry *fe)
{
	const InetSkEntry *ie = fe->isk;
	size_t alen;

	if (fe->type != FD_TYPES__INETSK || !ie)
		return image_bad(r, "file entry is not an inet socket");
	if (ie->id != fe->id)
		return image_bad(r, "file id and socket id differ");
	if (ie->family != AF_INET && ie->family != AF_INET6)
		return image_bad(r, "address family not inet");
	if (ie->type != SOCK_STREAM || ie->proto != IPPROTO_TCP)
		return image_bad(r, "not a TCP socket");
	if (ie->state != TCP_LISTEN && !repair_state_ok(ie->state))
		return image_bad(r, "TCP state not restorable");
	alen = ie->family == AF_INET ? 1 : 4;
	if (ie->n_src_addr != alen || (ie->state != TCP_LISTEN && ie->n_dst_addr != alen) ||
	    (ie->n_dst_addr != 0 && ie->n_dst_addr != alen))
		return image_bad(r, "address length does not match the family");
	if (ie->src_port > 65535 || ie->dst_port > 65535)
		return image_bad(r, "port out of range");
	if (ie->has_shutdown && (unsigned)ie->shutdown > 3)
		return image_bad(r, "shutdown out of range");
	return 0;
}

static void inet_to_conn(const InetSkEntry *ie, struct image_conn *c)
{
	const SkOptsEntry *so = ie->opts;
	struct repair_opts *o = &c->data.opts;
	uint32_t zero[4] = { 0 };

	c->id = ie->id;
	c->listening = ie->state == TCP_LISTEN;
	c->backlog = ie->backlog;
	c->data.state = c->listening ? 0 : ie->state;
	words_addr(&c->self, ie->family, ie->src_addr, ie->src_port);
	words_addr(&c->peer, ie->family, ie->n_dst_addr ? ie->dst_addr : zero, ie->dst_port);
	o->file_flags = ie->flags;
	o->sndbuf = so->so_sndbuf;
	o->rcvbuf = so->so_rcvbuf;
	o->reuseaddr = so->has_reuseaddr && so->reuseaddr;
	o->priority = so->has_so_priority ? so->so_priority : 0;
	o->mark = so->has_so_mark ? so->so_mark : 0;
	o->reuseport = so->has_so_reuseport && so->so_reuseport;
	o->keepalive = so->has_so_keepalive && so->so_keepalive;
	o->keepcnt = so->has_tcp_keepcnt ? so->tcp_keepcnt : 0;
	o->keepidle = so->has_tcp_keepidle ? so->tcp_keepidle : 0;
	o->keepintvl = so->has_tcp_keepintvl ? so->tcp_keepintvl : 0;
	o->linger_on = so->has_so_linger;
	o->linger_sec = so->has_so_linger ? so->so_linger : 0;
	o->set |= so->has_so_buf_lock ? (so->so_buf_lock & (REPAIR_OPT_SNDBUF | REPAIR_OPT_RCVBUF)) : 0;
	if (ie->family == AF_INET6) {
		o->set |= REPAIR_OPT_V6ONLY;
		o->v6only = ie->has_v6only && ie->v6only;
	}
	o->tos = ie->ip_opts && ie->ip_opts->has_tos ? ie->ip_opts->tos : 0;
	o->shutdown = ie->has_shutdown ? (uint32_t)ie->shutdown : 0;
}

int image_files_decode(const void *buf, size_t len, struct image_set *out)
{
	struct image_rd r = { .p = buf, .len = len, .what = IMAGE_FILES };
	const uint8_t *pb;
	size_t n, cap = 0;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = image_rd_magic(&r, IMAGE_MAGIC_FILES)))
		return err;
	while ((err = image_rd_entry(&r, &pb, &n)) == 0) {
		FileEntry *fe = file_entry__unpack(NULL, n, pb);

		if (!fe) {
			err = image_bad(&r, "file_entry malformed or missing a required field");
			break;
		}
		err = check_inet(&r, fe);
		if (!err && out->nconns >= IMAGE_MAX_CONNS)
			err = image_bad(&r, "too many sockets");
		if (!err && out->nconns == cap) {
			struct image_conn *nc;

			cap = cap ? cap * 2 : 16;
			nc = realloc(out->conns, cap * sizeof(*nc));
			if (!nc)
				err = -ENOMEM;
			else
				out->conns = nc;
		}
		if (!err) {
			struct image_conn *c = &out->conns[out->nconns++];

			memset(c, 0, sizeof(*c));
			c->fd = -1;
			inet_to_conn(fe->isk, c);
			for (size_t i = 0; i + 1 < out->nconns && !err; i++)
				if (out->conns[i].id == c->id)
					err = image_bad(&r, "two sockets with one id");
		}
		file_entry__free_unpacked(fe, NULL);
		if (err)
			break;
	}
	if (err == -ENODATA)
		return 0;
	free(out->conns);
	out->conns = NULL;
	out->nconns = 0;
	return err;
}

/* ---- manifest ---- */

int image_manifest_encode(const struct image_set *set, const struct image_manifest_file *files,
			  size_t nfiles, void **buf, size_t *len)
{
	SsManifestEntry m = SS_MANIFEST_ENTRY__INIT;
	SsConnEntry *ce = calloc(set->nconns ? set->nconns : 1, sizeof(*ce));
	SsConnEntry **cp = calloc(set->nconns ? set->nconns : 1, sizeof(*cp));
	SsFileEntry *fe = calloc(nfiles ? nfiles : 1, sizeof(*fe));
	SsFileEntry **fp = calloc(nfiles ? nfiles : 1, sizeof(*fp));
	SsSkippedEntry *se = calloc(set->nskipped ? set->nskipped : 1, sizeof(*se));
	SsSkippedEntry **sp = calloc(set->nskipped ? set->nskipped : 1, sizeof(*sp));
	struct image_wr w = { 0 };
	uint8_t *pb;
	int err = -ENOMEM;

	if (!ce || !cp || !fe || !fp || !se || !sp)
		goto free_all;
	for (size_t i = 0; i < set->nskipped; i++) {
		ss_skipped_entry__init(&se[i]);
		se[i].fd = set->skipped[i].fd;
		se[i].reason = (char *)set->skipped[i].reason;
		sp[i] = &se[i];
	}
	m.n_skipped = set->nskipped;
	m.skipped = sp;
	if (set->netlock[0])
		m.netlock = (char *)set->netlock;
	m.has_pid = set->pid != 0;
	m.pid = set->pid;
	m.format_version = IMAGE_FORMAT_VERSION;
	m.stack = (char *)set->stack;
	m.tool_version = (char *)"sockshift";
	for (size_t i = 0; i < set->nconns; i++) {
		const struct image_conn *c = &set->conns[i];
		const struct repair_opts *o = &c->data.opts;

		ss_conn_entry__init(&ce[i]);
		ce[i].id = c->id;
		ce[i].fd = c->fd;
		ce[i].has_state = 1;
		ce[i].state = c->listening ? TCP_LISTEN : c->data.state;
		ce[i].has_user_timeout = 1;
		ce[i].user_timeout = o->user_timeout;
		ce[i].congestion = (char *)o->congestion;
		ce[i].has_tclass = 1;
		ce[i].tclass = o->tclass;
		ce[i].has_linger_on = 1;
		ce[i].linger_on = !!o->linger_on;
		ce[i].has_cork = ce[i].has_nodelay = 1;
		ce[i].cork = !!o->cork;
		ce[i].nodelay = !!o->nodelay;
		ce[i].has_opt_set = 1;
		ce[i].opt_set = o->set;
		if (c->stack[0])
			ce[i].stack = (char *)c->stack;
		cp[i] = &ce[i];
	}
	for (size_t i = 0; i < nfiles; i++) {
		ss_file_entry__init(&fe[i]);
		fe[i].name = (char *)files[i].name;
		fe[i].size = files[i].size;
		fe[i].crc32c = files[i].crc32c;
		fp[i] = &fe[i];
	}
	m.n_conns = set->nconns;
	m.conns = cp;
	m.n_files = nfiles;
	m.files = fp;
	image_wr_magic(&w, IMAGE_MAGIC_MANIFEST);
	pb = image_wr_entry(&w, ss_manifest_entry__get_packed_size(&m));
	if (pb)
		ss_manifest_entry__pack(&m, pb);
	if (!w.err)
		image_wr_u32(&w, image_crc32c(0, w.p, w.len));
	err = w.err;
	if (err) {
		free(w.p);
	} else {
		*buf = w.p;
		*len = w.len;
	}
free_all:
	free(ce);
	free(cp);
	free(fe);
	free(fp);
	free(se);
	free(sp);
	return err;
}

static int name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < 64 && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static int manifest_fill(const struct image_rd *r, const SsManifestEntry *e,
			 struct image_manifest *m)
{
	if (e->format_version < IMAGE_FORMAT_VERSION_MIN || e->format_version > IMAGE_FORMAT_VERSION) {
		loge("image: manifest format version %u, this sockshift reads %u to %u",
		     e->format_version, IMAGE_FORMAT_VERSION_MIN, IMAGE_FORMAT_VERSION);
		return -EPROTO;
	}
	if (!e->stack[0] || strlen(e->stack) >= sizeof(m->stack))
		return image_bad(r, "stack name empty or too long");
	if (e->n_conns > IMAGE_MAX_CONNS || e->n_files > IMAGE_MAX_CONNS + 2)
		return image_bad(r, "too many entries");
	m->format_version = e->format_version;
	strcpy(m->stack, e->stack);
	if (e->n_skipped > IMAGE_MAX_CONNS || (e->netlock && strlen(e->netlock) >= sizeof(m->netlock)))
		return image_bad(r, "bad skipped list or lock name");
	if (e->netlock)
		strcpy(m->netlock, e->netlock);
	m->pid = e->has_pid ? e->pid : 0;
	m->skipped = calloc(e->n_skipped ? e->n_skipped : 1, sizeof(*m->skipped));
	if (!m->skipped)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_skipped; i++) {
		m->skipped[i].fd = e->skipped[i]->fd;
		log_fmt(m->skipped[i].reason, sizeof(m->skipped[i].reason), "%s", e->skipped[i]->reason);
		m->nskipped++;
	}
	m->files = calloc(e->n_files ? e->n_files : 1, sizeof(*m->files));
	m->conns = calloc(e->n_conns ? e->n_conns : 1, sizeof(*m->conns));
	if (!m->files || !m->conns)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_files; i++) {
		if (!name_ok(e->files[i]->name))
			return image_bad(r, "bad file name");
		strcpy(m->files[i].name, e->files[i]->name);
		m->files[i].size = e->files[i]->size;
		m->files[i].crc32c = e->files[i]->crc32c;
		m->nfiles++;
	}
	for (size_t i = 0; i < e->n_conns; i++) {
		const SsConnEntry *ce = e->conns[i];
		struct image_conn *c = &m->conns[i];
		struct repair_opts *o = &c->data.opts;

		if (ce->congestion && strlen(ce->congestion) >= sizeof(o->congestion))
			return image_bad(r, "congestion name too long");
		if (ce->stack && (!ce->stack[0] || strlen(ce->stack) >= sizeof(c->stack)))
			return image_bad(r, "a connection's stack name is empty or too long");
		if (ce->has_state && ce->state != TCP_LISTEN && !repair_state_ok(ce->state))
			return image_bad(r, "TCP state not restorable");
		for (size_t j = 0; j < i; j++)
			if (m->conns[j].id == ce->id)
				return image_bad(r, "two connections with one id");
		c->id = ce->id;
		c->fd = ce->fd;
		c->listening = ce->has_state && ce->state == TCP_LISTEN;
		c->data.state = ce->has_state && !c->listening ? ce->state : 0;
		o->user_timeout = ce->has_user_timeout ? ce->user_timeout : 0;
		if (ce->congestion)
			strcpy(o->congestion, ce->congestion);
		if (ce->stack)
			strcpy(c->stack, ce->stack);
		o->tclass = ce->has_tclass ? ce->tclass : 0;
		o->linger_on = ce->has_linger_on && ce->linger_on;
		o->cork = ce->has_cork && ce->cork;
		o->nodelay = ce->has_nodelay && ce->nodelay;
		o->set = ce->has_opt_set ? ce->opt_set : 0;
		m->nconns++;
	}
	return 0;
}

void image_manifest_free(struct image_manifest *m)
{
	free(m->skipped);
	free(m->files);
	free(m->conns);
	memset(m, 0, sizeof(*m));
}

int image_manifest_decode(const void *buf, size_t len, struct image_manifest *m)
{
	struct image_rd r = { .p = buf, .len = len, .what = IMAGE_MANIFEST };
	SsManifestEntry *e;
	const uint8_t *pb;
	uint32_t crc;
	size_t n;
	int err;

	memset(m, 0, sizeof(*m));
	if ((err = image_rd_magic(&r, IMAGE_MAGIC_MANIFEST)))
		return err;
	if (len < 12)
		return image_bad(&r, "truncated");
	memcpy(&crc, (const uint8_t *)buf + len - 4, 4);
	if (crc != image_crc32c(0, buf, len - 4)) {
		loge("image: %s: checksum mismatch", IMAGE_MANIFEST);
		return -EILSEQ;
	}
	r.len = len - 4;
	err = image_rd_entry(&r, &pb, &n);
	if (err == -ENODATA)
		return image_bad(&r, "no manifest entry");
	if (err)
		return err;
	if (r.off != r.len)
		return image_bad(&r, "trailing bytes");
	e = ss_manifest_entry__unpack(NULL, n, pb);
	if (!e)
		return image_bad(&r, "manifest malformed or missing a required field");
	err = manifest_fill(&r, e, m);
	ss_manifest_entry__free_unpacked(e, NULL);
	if (err)
		image_manifest_free(m);
	return err;
}
