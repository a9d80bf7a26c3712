/*
 * stack_helper — the processes a plug-in stack starts live no longer than the program.
 *
 * libvdestack makes each stack with a helper task (clone(CLONE_VM|CLONE_FILES|...)) that
 * lives in the stack's namespace and pumps frames between its tap and the VDE network.
 * Left alone, that helper outlives the program: Debian's libvdestack only checks every
 * 10 s whether its parent pid still exists (so a killed program's helper, holding the
 * program's fd table and with it every socket, stays up to 10 s), and an exec keeps the
 * pid, so the old image's helper, its memory and its whole fd table (close-on-exec
 * sockets included) stay for the life of the new image. Two measures:
 *
 *   - kill: every clone() a plug-in makes inside its newstack goes through
 *     stack_helper_clone(), which starts the child on a trampoline that asks the kernel
 *     for SIGKILL when its parent dies (PR_SET_PDEATHSIG). The parent is the thread that
 *     opened the stack (the shim's init, on the main thread); a stack opened by another
 *     thread is left as the plug-in made it, with a warning, since that thread's exit
 *     would end the stack.
 *   - exec: stack_helper_exec_prepare(), called by the exec hooks right before execve,
 *     ends (delstack) every plug-in stack this process made and that no socket surviving
 *     the exec lives on. A stack an inherited socket needs is kept: the new image joins
 *     it (stack_plugin.c, SOCKSHIFT_PLUGIN_NS) and the helper dies with the process.
 *     Children that were forked and then exec (socat's EXEC:, shells) own no stack: they
 *     keep joining the stack of the process that made it.
 */
#ifndef SOCKSHIFT_STACK_HELPER_H
#define SOCKSHIFT_STACK_HELPER_H

#include <sys/types.h>

/* The clone hook's work: a plain clone, unless a plug-in is inside newstack. 0..pid or -errno. */
long stack_helper_clone(int (*fn)(void *), void *stack, int flags, void *arg, pid_t *ptid, void *tls,
			pid_t *ctid);

/* Brackets a plug-in's newstack call (stack_plugin.c): clones in between are its helpers. */
void stack_helper_watch_begin(void);
void stack_helper_watch_end(void);

/* Before an exec of path (relative to dirfd; NULL: a PATH search or an fd, not checked):
 * ends the plug-in stacks this process owns that no surviving socket needs, unless path
 * is not executable (that exec fails anyway). Returns how many it ended (pass it to
 * stack_helper_exec_failed). */
int stack_helper_exec_prepare(int dirfd, const char *path);
/* The exec failed after stack_helper_exec_prepare ended n stacks: says so once. */
void stack_helper_exec_failed(int n);

#endif
