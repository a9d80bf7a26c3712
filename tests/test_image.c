/*
 * test_image — checkpoint images: round trips through a directory (every field, queues,
 * permissions, atomicity), a live connection saved to images and restored from them, Debian's
 * `crit decode` reading our files (the decoded JSON fields are checked), and every class of
 * corrupt image getting a clean error.
 */
#include "test_util.h"
#include <criterion/parameterized.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "image.h"
#include "repair_fixture.h"

TestSuite(image, .timeout = 60);

static char tmpdir[64];

static const char *mk_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sockshift-img-XXXXXX");
	cr_assert(mkdtemp(tmpdir) != NULL);
	return tmpdir;
}

static void rm_tree(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_warn("cleanup of %s failed", dir);
}

static void *bytes(size_t n, int seed)
{
	uint8_t *b = malloc(n);

	for (size_t i = 0; i < n; i++)
		b[i] = fx_pat(seed, i);
	return b;
}

/* A set with an IPv4 connection, an IPv6 half-closed one, and a v4-mapped listener. */
static void sample_set(struct image_set *s)
{
	struct image_conn *c;

	memset(s, 0, sizeof(*s));
	strcpy(s->stack, "kernel");
	s->nconns = 3;
	s->conns = calloc(3, sizeof(*c));
	c = &s->conns[0];
	c->id = 0x1234;
	c->fd = 7;
	c->self = fx_addr(FAM4, 8080);
	c->peer = fx_addr(FAM4, 40000);
	c->data = (struct repair_data){
		.state = TCP_ESTABLISHED, .inq_len = 15, .inq_seq = 0x11223344, .outq_len = 19,
		.outq_seq = 0x55667788, .unsq_len = 4, .opt_mask = 7, .mss_clamp = 65483,
		.snd_wscale = 7, .rcv_wscale = 9, .timestamp = 0xabcdef01, .flags = REPAIR_FLAG_WINDOW,
		.snd_wl1 = 1, .snd_wnd = 2, .max_window = 3, .rcv_wnd = 4, .rcv_wup = 5,
	};
	c->data.opts = (struct repair_opts){
		.set = REPAIR_OPT_SNDBUF, .file_flags = 0x802, .reuseaddr = 1, .keepalive = 1,
		.nodelay = 1, .keepidle = 77, .keepintvl = 11, .keepcnt = 5, .sndbuf = 600000,
		.rcvbuf = 131072, .linger_on = 1, .linger_sec = 7, .user_timeout = 12345,
		.tos = 0x10, .priority = 5, .mark = 42, .congestion = "reno",
	};
	c->inq = bytes(15, 1);
	c->outq = bytes(19, 2);
	strcpy(c->stack, "blue");       /* each socket's stack, by name (format 2) */
	c = &s->conns[1];
	c->id = 0xbeef;
	c->fd = 9;
	c->self = fx_addr(FAM6, 443);
	c->peer = fx_addr(FAM6, 50000);
	c->data = (struct repair_data){ .state = TCP_CLOSE_WAIT, .inq_len = 100000, .inq_seq = 5,
					.outq_seq = 9, .opt_mask = 2, .mss_clamp = 1440 };
	c->data.opts = (struct repair_opts){ .set = REPAIR_OPT_V6ONLY | REPAIR_OPT_TCLASS,
					     .v6only = 1, .tclass = 0x20, .shutdown = REPAIR_SHUT_RD,
					     .cork = 1, .congestion = "cubic" };
	c->inq = bytes(100000, 3);
	strcpy(c->stack, "vdestack:vde:///tmp/sw");
	c = &s->conns[2];
	c->id = 0x77;
	c->fd = 3;
	c->listening = 1;
	c->backlog = 128;
	c->self = fx_addr(FAM46, 9000);
	c->data.opts = (struct repair_opts){ .set = REPAIR_OPT_V6ONLY, .reuseaddr = 1,
					     .congestion = "cubic" };
}

static void assert_conn_eq(const struct image_conn *a, const struct image_conn *b)
{
	cr_assert(eq(u32, a->id, b->id));
	cr_assert(eq(i32, a->fd, b->fd));
	cr_assert(eq(int, a->listening, b->listening));
	cr_assert(eq(u32, a->backlog, b->backlog));
	cr_assert(eq(str, (char *)a->stack, (char *)b->stack), "stack of %x", a->id);
	cr_assert(eq(int, memcmp(&a->self, &b->self, sizeof(a->self)), 0), "self address");
	if (!a->listening)
		cr_assert(eq(int, memcmp(&a->peer, &b->peer, sizeof(a->peer)), 0), "peer address");
	cr_assert(eq(int, memcmp(&a->data, &b->data, offsetof(struct repair_data, opts)), 0),
		  "repair data of %x", a->id);
	cr_assert(eq(int, memcmp(&a->data.opts, &b->data.opts, sizeof(a->data.opts)), 0),
		  "options of %x", a->id);
	if (a->data.inq_len)
		cr_assert(eq(int, memcmp(a->inq, b->inq, a->data.inq_len), 0));
	if (a->data.outq_len)
		cr_assert(eq(int, memcmp(a->outq, b->outq, a->data.outq_len), 0));
}

Test(image, dir_round_trip)
{
	struct image_set s, back;
	char dir[128];
	struct stat st;
	DIR *d;
	struct dirent *e;
	int files = 0;

	sample_set(&s);
	snprintf(dir, sizeof(dir), "%s/ckpt", mk_tmpdir());
	cr_assert(eq(int, image_write_dir(dir, &s), 0));
	cr_assert(eq(int, stat(dir, &st), 0));
	cr_assert(eq(u32, st.st_mode & 07777, 0700u), "checkpoint dir is 0700");
	d = opendir(dir);
	while ((e = readdir(d))) {
		char p[512];

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		stat(p, &st);
		cr_assert(eq(u32, st.st_mode & 07777, 0600u), "%s is 0600", e->d_name);
		files++;
	}
	closedir(d);
	cr_assert(eq(int, files, 4), "manifest, files.img and two tcp-stream images");
	cr_assert(eq(int, access("/dev/null", F_OK), 0));
	{
		char p[256];

		snprintf(p, sizeof(p), "%s/tcp-stream-1234.img", dir);
		cr_assert(eq(int, access(p, F_OK), 0), "named by the id in hex");
	}
	cr_assert(eq(int, image_read_dir(dir, &back), 0));
	cr_assert(eq(u32, back.format_version, (uint32_t)IMAGE_FORMAT_VERSION));
	cr_assert(eq(str, back.stack, "kernel"));
	cr_assert(eq(sz, back.nconns, (size_t)3));
	for (int i = 0; i < 3; i++)
		assert_conn_eq(&s.conns[i], &back.conns[i]);
	/* a second write to the same place fails and leaves no temporary behind */
	cr_assert(lt(int, image_write_dir(dir, &s), 0));
	d = opendir(tmpdir);
	files = 0;
	while ((e = readdir(d)))
		files += e->d_name[0] != '.';
	closedir(d);
	cr_assert(eq(int, files, 1), "only the checkpoint, no leftover temp dir");
	image_set_free(&back);
	image_set_free(&s);
	rm_tree(tmpdir);
}

/* Rewrites the manifest's format_version (its first protobuf field) and its CRC. */
static void set_manifest_version(const char *dir, uint8_t version)
{
	char path[256];
	void *buf;
	size_t len;
	uint8_t *b;
	FILE *f;

	snprintf(path, sizeof(path), "%s/" IMAGE_MANIFEST, dir);
	cr_assert(eq(int, image_load(path, &buf, &len), 0));
	b = buf;
	/* [common magic][manifest magic][u32 size] then field 1, varint: 0x08 VERSION */
	cr_assert(eq(u8, b[12], 0x08));
	cr_assert(eq(u8, b[13], (uint8_t)IMAGE_FORMAT_VERSION));
	b[13] = version;
	uint32_t crc = image_crc32c(0, b, len - 4);
	memcpy(b + len - 4, &crc, 4);
	f = fopen(path, "w");
	cr_assert(f != NULL);
	cr_assert(eq(sz, fwrite(b, 1, len, f), len));
	fclose(f);
	free(buf);
}

/* Format 2 records each socket's stack; format 1 images (no stacks) still read, with ""
 * for every socket's stack, and a format newer than ours is refused. */
static const struct { uint8_t version; int want; } versions[] = {
	{ 1, 0 }, { IMAGE_FORMAT_VERSION, 0 }, { IMAGE_FORMAT_VERSION + 1, -EPROTO }, { 0, -EPROTO },
};
ParameterizedTestParameters(image, format_versions) { return test_index_params(4); }
ParameterizedTest(int *i, image, format_versions)
{
	struct image_set s, back;
	char dir[128];

	sample_set(&s);
	for (size_t k = 0; k < s.nconns; k++)
		s.conns[k].stack[0] = '\0';     /* what a format-1 writer had: no stacks */
	snprintf(dir, sizeof(dir), "%s/ckpt", mk_tmpdir());
	cr_assert(eq(int, image_write_dir(dir, &s), 0));
	set_manifest_version(dir, versions[*i].version);
	cr_assert(eq(int, image_read_dir(dir, &back), versions[*i].want));
	if (versions[*i].want == 0) {
		cr_assert(eq(u32, back.format_version, (uint32_t)versions[*i].version));
		for (size_t k = 0; k < back.nconns; k++)
			assert_conn_eq(&s.conns[k], &back.conns[k]);
		image_set_free(&back);
	}
	image_set_free(&s);
	rm_tree(tmpdir);
}

/* A stack name that does not fit is refused on write. */
Test(image, stack_name_bounds)
{
	struct image_set s;
	char dir[128];

	sample_set(&s);
	memset(s.conns[0].stack, 'x', sizeof(s.conns[0].stack));   /* no NUL */
	snprintf(dir, sizeof(dir), "%s/ckpt", mk_tmpdir());
	cr_assert(eq(int, image_write_dir(dir, &s), -EINVAL));
	image_set_free(&s);
	rm_tree(tmpdir);
}

/* A live connection: save -> images -> read -> restore; the streams go on byte-exact. */
Test(image, live_save_to_images_and_restore)
{
	struct netlock *nl = NULL;
	struct netlock_conn nc;
	struct repair_sk *sk;
	struct image_set set = { .stack = "kernel" }, back;
	struct image_conn *c;
	uint64_t ps = 0, pr = 0, ss = 0, sr = 0;
	char dir[128];
	uint16_t port = 0;
	size_t wy;
	int lfd, p, s, s2, err;
	struct stat st;

	err = fx_netns();
	if (err == -EPERM)
		cr_skip_test("cannot unshare a network namespace");
	cr_assert(eq(int, err, 0));
	lfd = fx_listen(FAM6, 0, &port);
	p = fx_connect(FAM6, port, 4096);
	s = accept(lfd, NULL, NULL);
	cr_assert(eq(sz, fx_send(p, 1, &ps, 30000), (size_t)30000));
	cr_assert(eq(int, fx_wait_inq(s, 30000, 5000), 0));
	nc = fx_conn(s);
	cr_assert(eq(int, netlock_create(&nl), 0));
	cr_assert(eq(int, netlock_add(nl, &nc, 1, NETLOCK_BOTH), 0));
	wy = fx_send(s, 0, &ss, 50000);

	set.nconns = 1;
	set.conns = c = calloc(1, sizeof(*c));
	fstat(s, &st);
	c->id = (uint32_t)st.st_ino;
	c->fd = s;
	cr_assert(eq(int, repair_pause(s, &sk), 0));
	cr_assert(eq(int, repair_save(sk, &c->data, sizeof(c->data)), 0));
	{
		size_t l;

		repair_get_queue(sk, REPAIR_RECVQ, &c->inq, &l, REPAIR_TAKE);
		repair_get_queue(sk, REPAIR_SENDQ, &c->outq, &l, REPAIR_TAKE);
	}
	repair_get_addr(sk, REPAIR_SELF, &c->self);
	repair_get_addr(sk, REPAIR_PEER, &c->peer);
	repair_release(sk);
	close(s);
	snprintf(dir, sizeof(dir), "%s/live", mk_tmpdir());
	cr_assert(eq(int, image_write_dir(dir, &set), 0));
	image_set_free(&set);

	cr_assert(eq(int, image_read_dir(dir, &back), 0));
	c = &back.conns[0];
	s2 = socket(AF_INET6, SOCK_STREAM, 0);
	cr_assert(eq(int, repair_pause(s2, &sk), 0));
	repair_set_addr(sk, REPAIR_SELF, &c->self, 0);
	repair_set_addr(sk, REPAIR_PEER, &c->peer, 0);
	repair_set_queue(sk, REPAIR_RECVQ, c->inq, c->data.inq_len, REPAIR_TAKE);
	repair_set_queue(sk, REPAIR_SENDQ, c->outq, c->data.outq_len, REPAIR_TAKE);
	c->inq = c->outq = NULL;
	cr_assert(eq(int, repair_restore(sk, &c->data, sizeof(c->data)), 0));
	cr_assert(eq(int, netlock_destroy(nl), 0));
	cr_assert(eq(int, repair_resume(sk), 0));
	image_set_free(&back);
	rm_tree(tmpdir);
	cr_assert(eq(int, fx_recv_check(s2, 1, &sr, 30000, 5000), 0));
	cr_assert(eq(int, fx_recv_check(p, 0, &pr, wy, 5000), 0));
	cr_assert(eq(int, fx_send_all(s2, 0, &ss, 1000, 5000), 0));
	cr_assert(eq(int, fx_recv_check(p, 0, &pr, 1000, 5000), 0));
}

/* Debian's crit reads our tcp-stream and files.img; check the decoded fields, not the exit code. */
Test(image, crit_decode)
{
	struct image_set s;
	char dir[128], cmd[4096];
	int rc;

	if (system("command -v crit >/dev/null 2>&1") != 0)
		cr_skip_test("crit not installed (Debian package criu)");
	sample_set(&s);
	snprintf(dir, sizeof(dir), "%s/ckpt", mk_tmpdir());
	cr_assert(eq(int, image_write_dir(dir, &s), 0));
	image_set_free(&s);
	snprintf(cmd, sizeof(cmd),
		 "crit decode --pretty -i %s/tcp-stream-1234.img > %s/ts.json && "
		 "crit decode --pretty -i %s/files.img > %s/files.json && python3 - %s <<'EOF'\n"
		 "import json, sys, base64\n"
		 "d = sys.argv[1]\n"
		 "ts = json.load(open(d + '/ts.json'))\n"
		 "assert ts['magic'] == 'TCP_STREAM', ts['magic']\n"
		 "e = ts['entries'][0]\n"
		 "want = dict(inq_len=15, inq_seq=0x11223344, outq_len=19, outq_seq=0x55667788,\n"
		 "            snd_wscale=7, rcv_wscale=9, mss_clamp=65483, unsq_len=4,\n"
		 "            timestamp=0xabcdef01, snd_wl1=1, snd_wnd=2, max_window=3, rcv_wnd=4,\n"
		 "            rcv_wup=5, nodelay=True)\n"
		 "for k, v in want.items(): assert e[k] == v, (k, e[k], v)\n"
		 "assert e['opt_mask'] in ('0x7', 7), e['opt_mask']\n"
		 "assert len(base64.b64decode(e['extra']['inq'])) == 15\n"
		 "assert len(base64.b64decode(e['extra']['outq'])) == 19\n"
		 "f = json.load(open(d + '/files.json'))\n"
		 "assert f['magic'] == 'FILES', f['magic']\n"
		 "isk = [x['isk'] for x in f['entries']]\n"
		 "assert [x['type'] for x in f['entries']] == ['INETSK'] * 3\n"
		 "a = isk[0]\n"
		 "assert a['family'] == 'INET' and a['state'] == 'ESTABLISHED', a\n"
		 "assert a['src_addr'] == ['127.0.0.1'] and a['src_port'] == 8080, a\n"
		 "assert a['dst_addr'] == ['127.0.0.1'] and a['dst_port'] == 40000, a\n"
		 "assert a['opts']['so_sndbuf'] == 600000 and a['opts']['so_mark'] == 42, a\n"
		 "assert a['opts']['tcp_keepidle'] == 77 and a['opts']['so_linger'] == 7, a\n"
		 "b = isk[1]\n"
		 "assert b['family'] == 'INET6' and b['state'] == 'CLOSE_WAIT', b\n"
		 "assert b['src_addr'] == ['::1'] and b['v6only'] is True, b\n"
		 "l = isk[2]\n"
		 "assert l['state'] == 'LISTEN' and l['backlog'] == 128, l\n"
		 "import ipaddress\n"
		 "assert ipaddress.ip_address(l['src_addr'][0]) == ipaddress.ip_address('::ffff:127.0.0.1'), l\n"
		 "print('crit fields ok')\n"
		 "EOF\n", dir, dir, dir, dir, dir);
	rc = system(cmd);
	rm_tree(tmpdir);
	cr_assert(eq(int, rc, 0), "crit decode output differs (see stderr)");
}

/* ---- corrupt images ---- */

/* A hand-rolled protobuf writer, to build entries our encoder would never produce. */
struct pbw { uint8_t b[256]; size_t n; };

static void pb_varint(struct pbw *w, uint64_t v)
{
	do {
		w->b[w->n++] = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v);
}

static void pb_u32(struct pbw *w, int field, uint64_t v)
{
	pb_varint(w, (uint64_t)field << 3);
	pb_varint(w, v);
}

/* tcp-stream image with the given entry fields (-1 = absent) and payload length. */
static size_t mk_stream(uint8_t *out, const int64_t *f, size_t nf, size_t payload)
{
	struct pbw w = { .n = 0 };
	uint32_t m[3] = { IMAGE_MAGIC_COMMON, IMAGE_MAGIC_TCP_STREAM, 0 };

	for (size_t i = 0; i < nf; i++)
		if (f[i] >= 0)
			pb_u32(&w, (int)i + 1, (uint64_t)f[i]);
	m[2] = (uint32_t)w.n;
	memcpy(out, m, 12);
	memcpy(out + 12, w.b, w.n);
	memset(out + 12 + w.n, 'q', payload);
	return 12 + w.n + payload;
}

struct bad { const char *name; int64_t f[12]; size_t payload; int cut; int err; };

/* fields 1..12: inq_len inq_seq outq_len outq_seq opt_mask snd_wscale mss_clamp rcv_wscale
 * timestamp cork nodelay unsq_len */
#define GOOD 10, 1, 5, 2, 7, 7, 1460, 7, 0, -1, -1, 2

ParameterizedTestParameters(image, corrupt_stream)
{
	static struct bad b[] = {
		{ "valid", { GOOD }, 15, 0, 0 },
		{ "missing mss_clamp", { 10, 1, 5, 2, 7, 7, -1, 7, 0, -1, -1, 2 }, 15, 0, -EBADMSG },
		{ "missing inq_len", { -1, 1, 5, 2, 7, 7, 1460, 7, 0, -1, -1, 2 }, 5, 0, -EBADMSG },
		{ "missing unsq_len", { 10, 1, 5, 2, 7, 7, 1460, 7, 0, -1, -1, -1 }, 15, 0, -EBADMSG },
		{ "snd_wscale 15", { 10, 1, 5, 2, 7, 15, 1460, 7, 0, -1, -1, 2 }, 15, 0, -EBADMSG },
		{ "rcv_wscale 200", { 10, 1, 5, 2, 7, 7, 1460, 200, 0, -1, -1, 2 }, 15, 0, -EBADMSG },
		{ "unsq > outq", { 10, 1, 5, 2, 7, 7, 1460, 7, 0, -1, -1, 6 }, 15, 0, -EBADMSG },
		{ "queue truncated", { GOOD }, 14, 0, -EBADMSG },
		{ "trailing bytes", { GOOD }, 16, 0, -EBADMSG },
		{ "huge inq_len", { 0xfffffff0, 1, 5, 2, 7, 7, 1460, 7, 0, -1, -1, 2 }, 15, 0, -EBADMSG },
		{ "mss out of range", { 10, 1, 5, 2, 7, 7, 1 << 20, 7, 0, -1, -1, 2 }, 15, 0, -EBADMSG },
		{ "cut in magic", { GOOD }, 15, 5, -EBADMSG },
		{ "cut in size", { GOOD }, 15, 10, -EBADMSG },
		{ "cut in entry", { GOOD }, 15, 14, -EBADMSG },
		{ "magic only", { GOOD }, 15, 8, -EBADMSG },
	};

	return cr_make_param_array(struct bad, b, sizeof(b) / sizeof(b[0]));
}

ParameterizedTest(struct bad *b, image, corrupt_stream)
{
	uint8_t buf[512];
	struct image_conn c;
	size_t n = mk_stream(buf, b->f, 12, b->payload);

	memset(&c, 0, sizeof(c));
	if (b->cut)
		n = (size_t)b->cut;
	cr_assert(eq(int, image_tcp_stream_decode(buf, n, &c), b->err), "%s", b->name);
	image_conn_clear(&c);
}

Test(image, corrupt_framing)
{
	uint8_t buf[512];
	int64_t f[12] = { GOOD };
	struct image_conn c;
	size_t n = mk_stream(buf, f, 12, 15);
	uint32_t v;

	memset(&c, 0, sizeof(c));
	buf[0] ^= 1;
	cr_assert(eq(int, image_tcp_stream_decode(buf, n, &c), -EBADMSG), "bad common magic");
	buf[0] ^= 1;
	buf[4] ^= 1;
	cr_assert(eq(int, image_tcp_stream_decode(buf, n, &c), -EBADMSG), "bad type magic");
	buf[4] ^= 1;
	v = 0xfffffff0;
	memcpy(buf + 8, &v, 4);
	cr_assert(eq(int, image_tcp_stream_decode(buf, n, &c), -EBADMSG), "oversize entry length");
	v = IMAGE_MAX_ENTRY - 1;
	memcpy(buf + 8, &v, 4);
	cr_assert(eq(int, image_tcp_stream_decode(buf, n, &c), -EBADMSG), "entry past the end");
	cr_assert(eq(int, image_tcp_stream_decode(buf, 0, &c), -EBADMSG), "empty");
	{
		struct image_set s;

		cr_assert(eq(int, image_files_decode(buf, n, &s), -EBADMSG), "stream as files.img");
	}
	{
		struct image_manifest m;

		cr_assert(lt(int, image_manifest_decode(buf, n, &m), 0), "stream as manifest");
	}
}

static void flip_in(const char *dir, const char *name, long at)
{
	char p[256];
	FILE *f;
	int ch;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "r+b");
	cr_assert(f != NULL);
	fseek(f, at, at < 0 ? SEEK_END : SEEK_SET);
	ch = fgetc(f);
	fseek(f, -1, SEEK_CUR);
	fputc(ch ^ 0x40, f);
	fclose(f);
}

/* Checksums and cross-file consistency of a checkpoint directory. */
Test(image, corrupt_dir)
{
	struct image_set s, back;
	char dir[128], p[256];

	sample_set(&s);
	snprintf(dir, sizeof(dir), "%s/ckpt", mk_tmpdir());
	cr_assert(eq(int, image_write_dir(dir, &s), 0));
	flip_in(dir, "tcp-stream-1234.img", -1);     /* a queue byte */
	cr_assert(eq(int, image_read_dir(dir, &back), -EILSEQ), "queue byte flipped");
	flip_in(dir, "tcp-stream-1234.img", -1);
	cr_assert(eq(int, image_read_dir(dir, &back), 0));
	image_set_free(&back);
	flip_in(dir, IMAGE_FILES, 20);
	cr_assert(eq(int, image_read_dir(dir, &back), -EILSEQ), "files.img flipped");
	flip_in(dir, IMAGE_FILES, 20);
	flip_in(dir, IMAGE_MANIFEST, 14);
	cr_assert(eq(int, image_read_dir(dir, &back), -EILSEQ), "manifest flipped");
	flip_in(dir, IMAGE_MANIFEST, 14);
	snprintf(p, sizeof(p), "%s/tcp-stream-beef.img", dir);
	cr_assert(eq(int, truncate(p, 100), 0));
	cr_assert(eq(int, image_read_dir(dir, &back), -EBADMSG), "truncated stream");
	unlink(p);
	cr_assert(lt(int, image_read_dir(dir, &back), 0), "missing stream");
	cr_assert(eq(int, image_read_dir("/nonexistent-sockshift", &back), -ENOENT));
	image_set_free(&s);
	rm_tree(tmpdir);
}

/* files.img with impossible sockets: family, address length, state. */
Test(image, corrupt_files)
{
	struct image_set s, back;
	void *buf;
	size_t len;
	uint8_t *b;
	extern int image_files_encode(const struct image_set *, void **, size_t *);

	sample_set(&s);
	s.conns[0].data.state = TCP_TIME_WAIT;
	/* encoded through the writer (which does not validate), rejected by the reader */
	cr_assert(eq(int, image_files_encode(&s, &buf, &len), 0));
	cr_assert(eq(int, image_files_decode(buf, len, &back), -EBADMSG), "TIME_WAIT refused");
	free(buf);
	s.conns[0].data.state = TCP_ESTABLISHED;
	cr_assert(eq(int, image_files_encode(&s, &buf, &len), 0));
	cr_assert(eq(int, image_files_decode(buf, len, &back), 0));
	image_set_free(&back);
	b = buf;
	/* the first entry's bytes: find family=2 (field 3 varint: 0x18 0x02) and make it 99 */
	for (size_t i = 12; i + 1 < len; i++)
		if (b[i] == 0x18 && b[i + 1] == 0x02) {
			b[i + 1] = 99;
			break;
		}
	cr_assert(eq(int, image_files_decode(buf, len, &back), -EBADMSG), "family 99");
	cr_assert(eq(int, image_files_decode(buf, len - 3, &back), -EBADMSG), "truncated");
	free(buf);
	s.conns[1].id = s.conns[0].id;
	cr_assert(eq(int, image_files_encode(&s, &buf, &len), 0));
	cr_assert(eq(int, image_files_decode(buf, len, &back), -EBADMSG), "duplicate id");
	free(buf);
	image_set_free(&s);
}
