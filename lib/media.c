/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * media.c -- owns the library's SIGBUS handling: a read of a poisoned line
 * of persistent memory raises SIGBUS (BUS_MCEERR_AR on real media,
 * BUS_ADRERR where the kernel cannot map a bad block), and the library's
 * own reads of the media (open, recovery, check, index lookups) turn it
 * into EIO with the pool offset, so that the process goes on.
 *
 * While any pool is open (or checked) the library's handler is installed
 * (pms_media_acquire), the handler found before it saved.  A SIGBUS inside
 * a guarded region (media.h: thread-local, at an address the region
 * covers) jumps back to it.  Any other SIGBUS is the application's: it
 * goes to the saved handler (SA_SIGINFO or not), or, where that was
 * SIG_DFL or SIG_IGN, gets the default action (the faulting access is
 * retried with SIG_DFL in place: the process dies of SIGBUS, as it would
 * without the library).  The last release puts the saved handler back,
 * unless someone replaced the library's meanwhile (then theirs stays).
 *
 * An application that installs its own SIGBUS handler while a pool is open
 * replaces the library's: media errors in the library's reads then reach
 * that handler, unless it passes what is not its own to the handler it
 * found (sigaction's old action), as the library's does.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "media.h"
#include "errors.h"
#include "layout.h"

__thread struct pms_guard *pms_guard_top;

static pthread_mutex_t media_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned media_users;
static struct sigaction saved; /* the handler before ours */

/* chain -- a SIGBUS that is not the library's: what would have happened */
static void
chain(int sig, siginfo_t *si, void *uc)
{
	if (saved.sa_flags & SA_SIGINFO) {
		if (saved.sa_sigaction) {
			saved.sa_sigaction(sig, si, uc);
			return;
		}
	} else if (saved.sa_handler != SIG_DFL && saved.sa_handler != SIG_IGN) {
		saved.sa_handler(sig);
		return;
	}
	/* a SIGBUS sent (kill, sigqueue) to a process that ignores it */
	if (si->si_code <= 0 && saved.sa_handler == SIG_IGN &&
	    !(saved.sa_flags & SA_SIGINFO))
		return;
	/* the default action: retried (a fault) or raised again (a kill);
	 * a fault cannot be ignored (the kernel would kill all the same) */
	signal(SIGBUS, SIG_DFL);
	if (si->si_code <= 0)
		raise(SIGBUS);
}

/*
 * synchronous -- is this SIGBUS a fault of the access the thread was
 * making (not a report of an error found elsewhere, BUS_MCEERR_AO, nor a
 * signal sent)?
 */
static int
synchronous(int code)
{
	switch (code) {
	case BUS_ADRERR: /* no page: a bad block the kernel will not map */
	case BUS_OBJERR:
#ifdef BUS_MCEERR_AR
	case BUS_MCEERR_AR: /* a poisoned line consumed */
#endif
		return 1;
	default:
		return 0;
	}
}

/* handler -- the library's SIGBUS handler */
static void
handler(int sig, siginfo_t *si, void *uc)
{
	struct pms_guard *g = pms_guard_top;
	uintptr_t a = (uintptr_t)si->si_addr;

	if (g && synchronous(si->si_code) && a >= g->lo && a < g->hi) {
		g->addr = a;
		pms_guard_top = g->prev;
		siglongjmp(g->env, 1);
	}
	chain(sig, si, uc);
}

/* pms_media_acquire -- install the handler for the first user */
int
pms_media_acquire(void)
{
	struct sigaction sa, old;
	int ret = 0;

	pthread_mutex_lock(&media_lock);
	if (media_users == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = handler;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
		if (sigaction(SIGBUS, &sa, &old))
			ret = pms_err(errno,
				      "cannot install a SIGBUS handler: %s",
				      strerror(errno));
		/* ours still in place (put back after a last close): what
		 * it chains to stays what it was */
		else if (!((old.sa_flags & SA_SIGINFO) &&
			   old.sa_sigaction == handler))
			saved = old;
	}
	if (ret == 0)
		media_users++;
	pthread_mutex_unlock(&media_lock);
	return ret;
}

/* pms_media_release -- the last user puts the saved handler back */
void
pms_media_release(void)
{
	struct sigaction cur;

	pthread_mutex_lock(&media_lock);
	if (media_users && --media_users == 0 &&
	    sigaction(SIGBUS, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
	    cur.sa_sigaction == handler)
		(void)sigaction(SIGBUS, &saved, NULL);
	pthread_mutex_unlock(&media_lock);
}

/* pms_guard_failed -- the way back from a SIGBUS in a guarded region */
int
pms_guard_failed(struct pms_guard *g, const char *path, const void *base,
		 const char *what)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGBUS);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	return pms_err(
		EIO,
		"pool %s: media error (SIGBUS) at pool offset %llu while "
		"%s; the device has a bad block there",
		path, (unsigned long long)(g->addr - (uintptr_t)base), what);
}

/* pms_media_seam -- see media.h */
int
pms_media_seam(const char *path, void *base, size_t len)
{
	const char *v = secure_getenv("PMEMSTORE_TEST_SIGBUS");
	char *end;

	if (v == NULL || *v == '\0')
		return 0;
	while (*v) {
		unsigned long long off;
		void *p;
		FILE *f;

		errno = 0;
		off = strtoull(v, &end, 0);
		if (errno || end == v || (*end && *end != ','))
			return pms_err(
				EINVAL,
				"pool %s: PMEMSTORE_TEST_SIGBUS is not a "
				"list of offsets",
				path);
		v = *end ? end + 1 : end;
		if (off >= len)
			continue;
		off &= ~(PMS_PAGE_SIZE - 1);
		/* an empty file's page: every access is past its end */
		f = tmpfile();
		if (f == NULL)
			return pms_err(errno, "pool %s: test seam: %s", path,
				       strerror(errno));
		p = mmap((char *)base + off, PMS_PAGE_SIZE,
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 fileno(f), 0);
		fclose(f);
		if (p == MAP_FAILED)
			return pms_err(errno, "pool %s: test seam: %s", path,
				       strerror(errno));
	}
	return 0;
}
