/*
 * stack_plugin — stacks loaded from libioth plug-ins (core/plugins/ioth_abi.h has the ABI):
 *     plugin:NAME[,OPTIONS] [VNL ...]
 * NAME is looked for, first match wins, as
 *     $HOME/.ioth/ioth_NAME-r.so       dlopen  (reentrant: the program's link-map namespace)
 *     $HOME/.ioth/ioth_NAME.so         dlmopen (LM_ID_NEWLM: a private copy per stack)
 *     DIR/ioth/ioth_NAME-r.so, DIR/ioth/ioth_NAME.so
 * for DIR = the directory libsockshift.so was loaded from, then the configured LIBDIR
 * ($HOME unset: "."). Every member X of struct ioth_functions is looked up as ioth_NAME_X;
 * newstack(vnlv, OPTIONS, &functions) makes the stack, and getstackdata() answers the
 * stackdata of the stack on whose behalf sockshift is calling.
 *
 * A plug-in whose socket() returns a kernel socket of the family asked for (kernel,
 * vdestack: the kernel-backed ones) needs nothing more: every later call the program makes
 * works on that fd directly. Anything else is a user-space stack's vpoll fd, handed to
 * stack_vpoll.c, which forwards every later call on it to the plug-in.
 * vdestack:VNL is this loader with NAME "vdestack" (stack_vde.c).
 *
 * One host per configuration: a program exec'd by one on a plug-in stack (socat's EXEC:,
 * a shell, timeout) inherits the same configuration, and a new stack of its own would be a
 * second host with the same addresses on the same network, answering ARP for them and
 * resetting connections meant for the first. So each image records the stacks it made in
 * SOCKSHIFT_PLUGIN_NS ("HASH:PID:INO ...": a hash of plug-in name, options and VNLs, the
 * helper task that lives in the stack's namespace and that namespace's inode, so a reused
 * pid is not mistaken for it), and a later image with the same spec joins that namespace (a netns stack on /proc/PID/ns/net) instead of plugging in again.
 * A new stack is made only if that helper is gone (its host is off the network then).
 * Helpers die with the process that made them, and a process that execs ends first the
 * stacks no inherited socket needs (stack_helper.h), so only a stack kept for such a
 * socket, or one of a parent that forked us, is there to join.
 * The earlier image configured that namespace with the same net commands: on a joined
 * stack an address or an identical route that is there already counts as done (netconf.c).
 * A plug-in's own socket() calls come back through the shim when its code runs under it:
 * on the same thread (current_stackdata set) or in a helper process it started in
 * newstack and which shares our memory (libvdestack's); both go straight to the kernel.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "plugins/ioth_abi.h"
#include "log.h"
#include "plugin_license.h"
#include "rawsys.h"
#include "real.h"
#include "stack.h"
#include "stack_helper.h"
#include "stack_vpoll.h"

#ifndef SOCKSHIFT_LIBDIR
#define SOCKSHIFT_LIBDIR "/usr/local/lib"
#endif

#define VNL_MAX 8

struct plugin {
	long owner;             /* the process that made the stack */
	void *dl;
	void *stackdata;
	struct ioth_functions f;
	int *(*errno_location)(void);   /* the errno its functions set (its own libc's) */
};

static struct plugin plugins[STACK_MAX];
static unsigned char joined[STACK_MAX];   /* by stack id: joined an earlier image's stack */

#define PLUGIN_NS_ENV "SOCKSHIFT_PLUGIN_NS"
static __thread void *current_stackdata;

/* Processes a plug-in started inside newstack (libvdestack's helper: CLONE_VM, so it runs
 * our code and reaches the shim when it makes the socket we asked for). */
#define HELPERS_MAX (2 * STACK_MAX)
static long helpers[HELPERS_MAX];
static int nhelpers;

/* The children of the calling thread, from /proc (CONFIG_PROC_CHILDREN). */
static int children(long *out, int max)
{
	char path[64], buf[1024];
	int n = 0;

	log_fmt(path, sizeof(path), "/proc/self/task/%ld/children", rawsys0(SYS_gettid));
	long fd = rawsys4(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	long len = rawsys3(SYS_read, fd, (long)buf, sizeof(buf) - 1);
	rawsys1(SYS_close, fd);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	for (char *p = buf, *end; *p && n < max; p = end) {
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		out[n++] = v;
	}
	return n;
}

static int is_helper(void)
{
	long pid = rawsys0(SYS_getpid);

	for (int i = 0; i < nhelpers; i++)
		if (helpers[i] == pid)
			return 1;
	return 0;
}

static void *plugin_getstackdata(void)
{
	return current_stackdata;
}

static void *plugin_set_current(void *stackdata)
{
	void *prev = current_stackdata;

	current_stackdata = stackdata;
	return prev;
}

/* Hands a user-space stack's socket to stack_vpoll.c, which forwards every later call on
 * it to the plug-in; fd or -errno. */
static int vpoll_adopt(struct stack *st, struct plugin *p, int fd, int type)
{
	struct stack_vpoll_backend be = {
		.f = &p->f, .stackdata = p->stackdata, .owner = p->owner,
		.set_current = plugin_set_current, .errno_location = p->errno_location,
	};
	int r = stack_vpoll_register(st->id, &be);

	if (r == 0)
		r = stack_vpoll_adopt(st->id, fd, type & SOCK_NONBLOCK);
	if (r < 0) {
		logw("stack %s: cannot map the plug-in's socket %d: %s", st->name, fd, log_errname(r));
		current_stackdata = p->stackdata;
		if (p->f.close)
			p->f.close(fd);
		current_stackdata = NULL;
		return r;
	}
	return fd;
}

static int plugin_socket(struct stack *st, int domain, int type, int protocol)
{
	struct plugin *p = st->priv;
	int fd, e = errno, dom;
	socklen_t l = sizeof(dom);

	if (!p->f.socket)
		return -ENOSYS;
	/* Re-entered: the plug-in's own code creating the socket inside its stack
	 * (libvdestack's helper task shares our memory, TLS included, and its socket()
	 * reaches the shim). That one is the kernel's, in the helper's namespace. */
	if (current_stackdata || is_helper()) {
		fd = real.socket(domain, type, protocol);
		return fd < 0 ? -errno : fd;
	}
	/* A forked child has a copy of the stack's data but not its helpers (libvdestack's
	 * shares the parent's fd table: the fd number it answers would be the parent's).
	 * Fail closed rather than hand out a number that means something else here. */
	if (rawsys0(SYS_getpid) != p->owner) {
		logw("stack %s: a plug-in stack made by process %ld cannot make sockets in a forked "
		     "child", st->name, p->owner);
		return -ENETDOWN;
	}
	current_stackdata = p->stackdata;
	fd = p->f.socket(domain, type, protocol);
	current_stackdata = NULL;
	if (fd < 0) {
		fd = errno ? -errno : -EIO;
		errno = e;
		return fd;
	}
	errno = e;
	/* Not a kernel socket of that family: a user-space stack's vpoll fd (stack_vpoll.h). */
	if (real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 || dom != domain) {
		errno = e;
		return vpoll_adopt(st, p, fd, type);
	}
	errno = e;
	return fd;
}

static const struct stack_ops plugin_ops = { .socket = plugin_socket };

static int exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* A non-reentrant plug-in gets a new link-map namespace, with a libc of its own. That
 * libc keeps its own table of thread-specific keys but stores values in the threads'
 * shared descriptors, so its first keys would alias the program's (LWIPv6's per-thread
 * data read socat's: a crash). The namespace is made by loading its libc first, which
 * then hands out (and keeps) the low keys, before the plug-in is loaded there. */
#define PRIVATE_KEYS_RESERVED 256

static void *load_private(const char *path)
{
	void *libc = dlmopen(LM_ID_NEWLM, "libc.so.6", RTLD_NOW | RTLD_LOCAL);
	Lmid_t lm;

	if (!libc || dlinfo(libc, RTLD_DI_LMID, &lm) != 0)
		return dlmopen(LM_ID_NEWLM, path, RTLD_NOW | RTLD_LOCAL);
	int (*key_create)(pthread_key_t *, void (*)(void *)) =
		(int (*)(pthread_key_t *, void (*)(void *)))dlsym(libc, "pthread_key_create");
	for (int i = 0; key_create && i < PRIVATE_KEYS_RESERVED; i++) {
		pthread_key_t k;
		if (key_create(&k, NULL) != 0)
			break;
	}
	return dlmopen(lm, path, RTLD_NOW | RTLD_LOCAL);
}

/* Finds and loads ioth_NAME; 0 or -errno with why filled. */
static int load(const char *name, void **dl, char *why, size_t whylen)
{
	const char *home = getenv("HOME");
	char dirs[3][4096], path[4200];
	Dl_info info;
	int ndirs = 0;

	log_fmt(dirs[ndirs++], sizeof(dirs[0]), "%s/.ioth", home ? home : ".");
	if (dladdr((void *)&stack_plugin_open, &info) && info.dli_fname && strchr(info.dli_fname, '/')) {
		log_fmt(dirs[ndirs], sizeof(dirs[0]), "%s", info.dli_fname);
		*strrchr(dirs[ndirs], '/') = '\0';
		log_fmt(dirs[ndirs] + strlen(dirs[ndirs]), sizeof(dirs[0]) - strlen(dirs[ndirs]), "/ioth");
		ndirs++;
	}
	log_fmt(dirs[ndirs++], sizeof(dirs[0]), "%s/ioth", SOCKSHIFT_LIBDIR);
	for (int i = 0; i < ndirs; i++) {
		for (int reentrant = 1; reentrant >= 0; reentrant--) {
			log_fmt(path, sizeof(path), "%s/ioth_%s%s.so", dirs[i], name, reentrant ? "-r" : "");
			if (!exists(path))
				continue;
			*dl = reentrant ? dlopen(path, RTLD_NOW | RTLD_LOCAL)
					: load_private(path);
			if (!*dl) {
				const char *e = dlerror();
				log_fmt(why, whylen, "cannot load plug-in %s: %s", path, e ? e : "?");
				return -ELIBBAD;
			}
			logi("plug-in %s loaded from %s", name, path);
			return 0;
		}
	}
	log_fmt(why, whylen, "no plug-in ioth_%s[-r].so in %s, %s%s%s", name, dirs[0], dirs[1],
		ndirs > 2 ? " or " : "", ndirs > 2 ? dirs[2] : "");
	return -ENOENT;
}

/* What identifies a plug-in stack's network attachment: FNV-1a of name, options, VNLs. */
static unsigned long spec_hash(const char *name, const char *options, const char *const *vnlv)
{
	unsigned long h = 1469598103934665603UL;
	const char *parts[VNL_MAX + 3] = { name, options ? options : "" };
	int n = 2;

	for (int i = 0; vnlv && vnlv[i] && i < VNL_MAX; i++)
		parts[n++] = vnlv[i];
	for (int i = 0; i < n; i++) {
		for (const char *c = parts[i]; *c; c++)
			h = (h ^ (unsigned char)*c) * 1099511628211UL;
		h = (h ^ 0xff) * 1099511628211UL; /* separator */
	}
	return h;
}

/* The helper pid (and its namespace's inode in *ino) recorded for hash h, or 0. */
static long recorded_helper(unsigned long h, unsigned long *ino)
{
	const char *v = getenv(PLUGIN_NS_ENV);
	char *end;

	while (v && *v) {
		unsigned long eh = strtoul(v, &end, 16);
		if (end == v || *end != ':')
			return 0;
		long pid = strtol(end + 1, &end, 10);
		if (*end != ':')
			return 0;
		unsigned long eino = strtoul(end + 1, &end, 10);
		if (eh == h && pid > 0) {
			*ino = eino;
			return pid;
		}
		v = end + strspn(end, " ");
	}
	return 0;
}

/* Records (or replaces) "h:pid:ino" in SOCKSHIFT_PLUGIN_NS for the images this one execs. */
static void record_helper(unsigned long h, long pid, unsigned long ino)
{
	const char *v = getenv(PLUGIN_NS_ENV);
	char buf[STACK_MAX * 40] = "", *end;
	size_t len = 0;

	while (v && *v) {
		unsigned long eh = strtoul(v, &end, 16);
		if (end == v || *end != ':')
			break;
		long epid = strtol(end + 1, &end, 10);
		if (*end != ':')
			break;
		unsigned long eino = strtoul(end + 1, &end, 10);
		if (eh != h)
			len += (size_t)log_fmt(buf + len, sizeof(buf) - len, "%s%lx:%ld:%lu", len ? " " : "",
					       eh, epid, eino);
		v = end + strspn(end, " ");
		if (len >= sizeof(buf) - 40)
			break;
	}
	log_fmt(buf + len, sizeof(buf) - len, "%s%lx:%ld:%lu", len ? " " : "", h, pid, ino);
	setenv(PLUGIN_NS_ENV, buf, 1);
}

/* The network namespace inode of /proc/PID (0 = self), 0 if it cannot be read. */
static unsigned long netns_ino(long pid)
{
	char path[64];
	struct stat sb;

	if (pid)
		log_fmt(path, sizeof(path), "/proc/%ld/ns/net", pid);
	else
		log_fmt(path, sizeof(path), "/proc/self/ns/net");
	return stat(path, &sb) == 0 ? (unsigned long)sb.st_ino : 0;
}

/* Joins the namespace of the stack an earlier image made for the same spec, if its helper
 * still lives in a namespace other than ours: 1 joined, 0 none to join, -errno + why. */
static int join_earlier(struct stack *st, unsigned long h, char *why, size_t whylen)
{
	unsigned long ns, want = 0, self = netns_ino(0);
	long pid = recorded_helper(h, &want);
	char path[64];
	int r;

	if (!pid)
		return 0;
	ns = netns_ino(pid);
	if (!ns || ns == self || ns != want) {
		logd("stack %s: the helper %ld an earlier image recorded is gone (or is not in its "
		     "namespace any more); making a new stack",
		     st->name, pid);
		return 0;
	}
	log_fmt(path, sizeof(path), "/proc/%ld/ns/net", pid);
	r = stack_netns_open(st, path, why, whylen);
	if (r < 0)
		return r;
	struct stat sb;
	if (fstat(st->nsfd, &sb) < 0 || (unsigned long)sb.st_ino != want) {
		/* the pid was reused between the check and the open */
		log_fmt(why, whylen, "the helper %ld of the stack an earlier image made went away while "
			"joining it", pid);
		return -ESRCH;
	}
	joined[st->id] = 1;
	logi("stack %s: joined the namespace of the same stack made by an earlier image (helper %ld), "
	     "not a second host with the same addresses", st->name, pid);
	return 1;
}

int stack_plugin_joined(const struct stack *st)
{
	return st && st->id < STACK_MAX && joined[st->id];
}

static void lookup(void *dl, const char *name, struct ioth_functions *f)
{
	char sym[128];

	memset(f, 0, sizeof(*f));
#define IOTH_LOOKUP(member, type)                                          \
	log_fmt(sym, sizeof(sym), "ioth_%s_" #member, name);               \
	f->member = (type)dlsym(dl, sym);
	IOTH_FUNCTIONS(IOTH_LOOKUP)
#undef IOTH_LOOKUP
	f->getstackdata = plugin_getstackdata;
}

int stack_plugin_load(struct stack *st, const char *name, const char *options, const char *const *vnlv,
		      char *why, size_t whylen)
{
	struct plugin *p = &plugins[st->id];
	int r;

	for (const char *c = name; *c; c++)
		if (!(*c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9'))) {
			log_fmt(why, whylen, "plug-in name '%.60s' may hold only letters, digits and '_'",
				name);
			return -EINVAL;
		}
	if (!name[0]) {
		log_fmt(why, whylen, "the plug-in name is empty");
		return -EINVAL;
	}
	unsigned long h = spec_hash(name, options, vnlv);
	r = join_earlier(st, h, why, whylen);
	if (r != 0)
		return r < 0 ? r : 0;
	r = load(name, &p->dl, why, whylen);
	if (r < 0)
		return r;
	lookup(p->dl, name, &p->f);
	char sym[128];
	log_fmt(sym, sizeof(sym), "ioth_%s_license", name);
	const char *const *tag = dlsym(p->dl, sym);     /* libioth: a const char * variable */
	r = plugin_license_check(name, tag ? *tag : NULL, why, whylen);
	if (r < 0)
		goto err_dl;
	p->errno_location = (int *(*)(void))dlsym(p->dl, "__errno_location");
	if (!p->f.newstack) {
		log_fmt(why, whylen, "plug-in %s has no ioth_%s_newstack", name, name);
		r = -ENOEXEC;
		goto err_dl;
	}
	long before[64], after[64], helper = 0;
	int nb = children(before, 64), na;
	errno = 0;
	stack_helper_watch_begin(); /* its helper processes end with us (stack_helper.h) */
	p->stackdata = p->f.newstack((const char **)vnlv, options, &p->f);
	stack_helper_watch_end();
	na = children(after, 64);
	for (int i = 0; i < na && nhelpers < HELPERS_MAX; i++) {
		int old = 0;
		for (int j = 0; j < nb; j++)
			old |= before[j] == after[i];
		if (!old) {
			helpers[nhelpers++] = after[i];
			if (!helper && netns_ino(after[i]) != netns_ino(0))
				helper = after[i];
		}
	}
	if (!p->stackdata) {
		int pe = p->errno_location ? *p->errno_location() : errno;   /* its libc's errno */
		r = pe > 0 ? -pe : -EIO;
		log_fmt(why, whylen, "plug-in %s could not make a stack on %s: %s (%s)", name,
			vnlv[0] ? vnlv[0] : "(no VNL)", strerror(-r), log_errname(r));
		goto err_dl;
	}
	p->f.getstackdata = plugin_getstackdata; /* ours, whatever newstack did */
	p->owner = rawsys0(SYS_getpid);
	if (helper)
		record_helper(h, helper, netns_ino(helper));
	st->priv = p;
	st->ops = &plugin_ops;
	return 0;

err_dl:
	dlclose(p->dl);
	p->dl = NULL;
	return r;
}

int stack_plugin_open(struct stack *st, const char *arg, char *why, size_t whylen)
{
	char buf[256], *name, *opts, *vnls, *save = NULL;
	const char *vnlv[VNL_MAX + 1] = { NULL };
	int n = 0;

	log_fmt(buf, sizeof(buf), "%s", arg);
	vnls = buf + strcspn(buf, " \t");
	if (*vnls)
		*vnls++ = '\0';
	name = buf;
	opts = strchr(name, ',');
	if (opts)
		*opts++ = '\0';
	for (char *v = strtok_r(vnls, " \t", &save); v; v = strtok_r(NULL, " \t", &save)) {
		if (n == VNL_MAX) {
			log_fmt(why, whylen, "at most %d VNLs per plug-in stack", VNL_MAX);
			return -E2BIG;
		}
		vnlv[n++] = v;
	}
	return stack_plugin_load(st, name, opts ? opts : "", vnlv, why, whylen);
}

static int closed_socket(struct stack *st, int domain, int type, int protocol)
{
	(void)domain, (void)type, (void)protocol;
	logw("stack %s was ended (before an exec that failed); no new sockets on it", st->name);
	return -ENETDOWN;
}

static const struct stack_ops closed_ops = { .socket = closed_socket };

int stack_plugin_owned(const struct stack *st)
{
	const struct plugin *p = st->priv;

	return st->ops == &plugin_ops && p && p->owner == rawsys0(SYS_getpid) && p->stackdata;
}

/* Ends (delstack) a plug-in stack this process made; its sockets stay open, new ones fail
 * with ENETDOWN. 1 ended, 0 not ours to end, -ENOTSUP without a delstack. */
int stack_plugin_close(struct stack *st)
{
	struct plugin *p = st->priv;

	if (!stack_plugin_owned(st))
		return 0;
	if (!p->f.delstack)
		return -ENOTSUP;
	current_stackdata = p->stackdata;
	p->f.delstack(p->stackdata);
	current_stackdata = NULL;
	p->stackdata = NULL;
	st->ops = &closed_ops;
	return 1;
}
