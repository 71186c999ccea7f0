/*
 * The master of `kassaboek work` and `kassaboek run`: forks the children
 * (worker.h), restarts any that dies, passes SIGTERM/SIGINT on and waits
 * for them.
 *
 * It has no I/O to multiplex, only signals and restart timers, so it runs
 * no event loop: the signals stay blocked and sigtimedwait() takes them one
 * at a time. This keeps fork() clean too: a child inherits no event_base,
 * no libevent signal pipe and no handler of the master's; it only unblocks
 * the signals and builds its own loop.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "kassaboek/log.h"
#include "kassaboek/worker.h"
#include "kassaboek/xmalloc.h"

#define MASTER_RESTART_MIN_MS	100
#define MASTER_RESTART_MAX_MS	30000
#define MASTER_STABLE_MS	10000	/* a child that lived this long starts its backoff afresh */

struct master_slot {
	const struct kb_master_child	*child;
	pid_t				 pid;		/* 0: not running */
	uint64_t			 started_ms;
	uint64_t			 restart_at_ms;	/* 0: no restart due */
	int				 quick_deaths;
};

static uint64_t
master_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static int
master_start(struct master_slot *sl, const sigset_t *child_mask, pid_t master_pid)
{
	pid_t	pid;
	int	rc;

	fflush(NULL);
	if ((pid = fork()) == -1) {
		kb_error("cannot start %s: fork: %s", sl->child->name, strerror(errno));
		return (-1);
	}
	if (pid == 0) {
		/* Stop with the master, even if it is killed outright. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != master_pid)
			_exit(EX_OK);
		sigprocmask(SIG_SETMASK, child_mask, NULL);
		rc = sl->child->run(sl->child->arg);
		fflush(NULL);
		exit(rc);
	}
	sl->pid = pid;
	sl->started_ms = master_now_ms();
	sl->restart_at_ms = 0;
	kb_info("%s started (pid %ld)", sl->child->name, (long)pid);
	return (0);
}

static void
master_describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d%s", WTERMSIG(status),
		    WCOREDUMP(status) ? " (core dumped)" : "");
	else
		snprintf(buf, len, "stopped (status %d)", status);
}

static void
master_signal_all(struct master_slot *slots, int n, int sig)
{
	int	i;

	for (i = 0; i < n; i++)
		if (slots[i].pid > 0)
			kill(slots[i].pid, sig);
}

int
kb_master_run(const struct kb_master_child *children, int n, uint64_t shutdown_timeout_ms)
{
	struct master_slot	*slots;
	struct timespec		 ts;
	siginfo_t		 info;
	sigset_t		 set, old;
	uint64_t		 now, wait_ms, deadline = 0, delay;
	pid_t			 pid, self = getpid();
	int			 i, k, sig, status, running, stopping = 0, rc = EX_OK, killed = 0;
	char			 how[96];

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, &old);
	slots = xcalloc((size_t)n, sizeof *slots);
	for (i = 0; i < n; i++) {
		slots[i].child = &children[i];
		if (master_start(&slots[i], &old, self) == -1) {
			rc = EX_OSERR;
			stopping = 1;
			deadline = master_now_ms() + shutdown_timeout_ms;
			master_signal_all(slots, n, SIGTERM);
			break;
		}
	}
	for (;;) {
		running = 0;
		for (i = 0; i < n; i++)
			running += slots[i].pid > 0;
		if (stopping && running == 0)
			break;

		now = master_now_ms();
		wait_ms = 1000;
		for (i = 0; i < n && !stopping; i++)
			if (slots[i].pid == 0 && slots[i].restart_at_ms != 0)
				wait_ms = slots[i].restart_at_ms > now ?
				    (slots[i].restart_at_ms - now < wait_ms ? slots[i].restart_at_ms - now : wait_ms) : 0;
		if (stopping)
			wait_ms = deadline > now ? (deadline - now < wait_ms ? deadline - now : wait_ms) : 0;
		ts.tv_sec = (time_t)(wait_ms / 1000);
		ts.tv_nsec = (long)((wait_ms % 1000) * 1000000);
		sig = sigtimedwait(&set, &info, &ts);

		if (sig == SIGTERM || sig == SIGINT) {
			if (!stopping) {
				kb_info("signal %d: stopping %d children (at most %llu ms)", sig, running,
				    (unsigned long long)shutdown_timeout_ms);
				stopping = 1;
				deadline = master_now_ms() + shutdown_timeout_ms;
				master_signal_all(slots, n, SIGTERM);
			}
		} else if (sig == SIGCHLD) {
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
				for (i = 0; i < n && slots[i].pid != pid; i++)
					;
				if (i == n)
					continue;
				master_describe(status, how, sizeof how);
				slots[i].pid = 0;
				now = master_now_ms();
				if (stopping) {
					kb_info("%s (pid %ld) %s", slots[i].child->name, (long)pid, how);
					continue;
				}
				if (WIFEXITED(status) && WEXITSTATUS(status) == EX_CONFIG) {
					kb_error("%s (pid %ld) %s: its configuration is not usable; stopping",
					    slots[i].child->name, (long)pid, how);
					rc = EX_CONFIG;
					stopping = 1;
					deadline = now + shutdown_timeout_ms;
					master_signal_all(slots, n, SIGTERM);
					continue;
				}
				if (now - slots[i].started_ms >= MASTER_STABLE_MS)
					slots[i].quick_deaths = 0;
				slots[i].quick_deaths++;
				delay = MASTER_RESTART_MIN_MS;
				for (k = 1; k < slots[i].quick_deaths && delay < MASTER_RESTART_MAX_MS; k++)
					delay *= 2;
				if (delay > MASTER_RESTART_MAX_MS)
					delay = MASTER_RESTART_MAX_MS;
				slots[i].restart_at_ms = now + delay;
				kb_error("%s (pid %ld) %s; restarting it in %llu ms", slots[i].child->name,
				    (long)pid, how, (unsigned long long)delay);
			}
		} else if (sig == -1 && errno != EAGAIN && errno != EINTR) {
			kb_error("sigtimedwait: %s", strerror(errno));
		}

		now = master_now_ms();
		if (stopping) {
			if (now >= deadline && !killed) {
				for (i = 0; i < n; i++)
					if (slots[i].pid > 0)
						kb_warn("%s (pid %ld) still running after %llu ms; killing it",
						    slots[i].child->name, (long)slots[i].pid,
						    (unsigned long long)shutdown_timeout_ms);
				master_signal_all(slots, n, SIGKILL);
				killed = 1;
				deadline = now + 5000;
			} else if (now >= deadline && killed) {
				kb_error("children do not die; giving up on them");
				break;
			}
			continue;
		}
		for (i = 0; i < n; i++)
			if (slots[i].pid == 0 && slots[i].restart_at_ms != 0 && now >= slots[i].restart_at_ms &&
			    master_start(&slots[i], &old, self) == -1)
				slots[i].restart_at_ms = now + MASTER_RESTART_MAX_MS / 10;
	}
	free(slots);
	sigprocmask(SIG_SETMASK, &old, NULL);
	kb_info("all children stopped");
	return (rc);
}
