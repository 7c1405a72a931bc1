/*
 * kvm-rr-pingpong: threads of one process handing a token back and forth, so that the kernel
 * wakes a task on one CPU from another all the time (issue 5's multi-core workload): for
 * each of PAIRS pairs of threads, ROUNDS hand-overs through a futex word (FUTEX_WAIT and
 * FUTEX_WAKE, private) and then ROUNDS through a pair of pipes (one-byte reads and writes).
 * Prints one line, and exits 1 if a hand-over went wrong:
 *
 *   PINGPONG pairs=<P> rounds=<R> futex_handovers=<N> pipe_handovers=<N> ok
 *
 * usage: kvm-rr-pingpong [PAIRS [ROUNDS]]   (defaults 2 and 2000)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

struct pair {
	_Atomic int turn;	/* whose turn the futex token is: 0 or 1 */
	int to[2][2];		/* to[side]: the pipe that side reads from */
	long rounds;
	atomic_long futex_handovers, pipe_handovers;
	int failed;
};

struct side {
	struct pair *pair;
	int me;
};

static long futex(_Atomic int *word, int op, int val)
{
	return syscall(SYS_futex, word, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

static void fail(struct pair *p, const char *what)
{
	perror(what);
	p->failed = 1;
}

static void *play(void *arg)
{
	struct side *s = arg;
	struct pair *p = s->pair;
	int me = s->me, other = 1 - me;
	char token = 'x';

	for (long i = 0; i < p->rounds && !p->failed; i++) {
		int t;

		while ((t = atomic_load(&p->turn)) != me) {
			if (futex(&p->turn, FUTEX_WAIT, t) < 0 && errno != EAGAIN && errno != EINTR) {
				fail(p, "futex wait");
				return NULL;
			}
		}
		atomic_fetch_add(&p->futex_handovers, 1);
		atomic_store(&p->turn, other);
		if (futex(&p->turn, FUTEX_WAKE, 1) < 0) {
			fail(p, "futex wake");
			return NULL;
		}
	}
	/* Side 0 serves, side 1 returns: each reads the token the other wrote. */
	for (long i = 0; i < p->rounds && !p->failed; i++) {
		if (me == 0 && write(p->to[other][1], &token, 1) != 1) {
			fail(p, "pipe write");
			return NULL;
		}
		if (read(p->to[me][0], &token, 1) != 1) {
			fail(p, "pipe read");
			return NULL;
		}
		atomic_fetch_add(&p->pipe_handovers, 1);
		if (me == 1 && write(p->to[other][1], &token, 1) != 1) {
			fail(p, "pipe write");
			return NULL;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int pairs = argc > 1 ? atoi(argv[1]) : 2;
	long rounds = argc > 2 ? atol(argv[2]) : 2000;
	long futex_total = 0, pipe_total = 0;
	int failed = 0;

	if (pairs < 1 || pairs > 64 || rounds < 1) {
		fprintf(stderr, "usage: kvm-rr-pingpong [PAIRS (1-64) [ROUNDS]]\n");
		return 2;
	}
	struct pair *p = calloc(pairs, sizeof(*p));
	struct side *s = calloc(2 * pairs, sizeof(*s));
	pthread_t *t = calloc(2 * pairs, sizeof(*t));

	if (!p || !s || !t) {
		perror("calloc");
		return 1;
	}
	for (int i = 0; i < pairs; i++) {
		p[i].rounds = rounds;
		if (pipe(p[i].to[0]) || pipe(p[i].to[1])) {
			perror("pipe");
			return 1;
		}
		for (int side = 0; side < 2; side++) {
			s[2 * i + side] = (struct side){ .pair = &p[i], .me = side };
			if (pthread_create(&t[2 * i + side], NULL, play, &s[2 * i + side])) {
				perror("pthread_create");
				return 1;
			}
		}
	}
	for (int i = 0; i < 2 * pairs; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < pairs; i++) {
		futex_total += p[i].futex_handovers;
		pipe_total += p[i].pipe_handovers;
		failed |= p[i].failed;
	}
	/* Each round: both sides take the futex token once, and read the pipe token once. */
	if (futex_total != 2 * rounds * pairs || pipe_total != 2 * rounds * pairs)
		failed = 1;
	printf("PINGPONG pairs=%d rounds=%ld futex_handovers=%ld pipe_handovers=%ld %s\n", pairs,
	       rounds, futex_total, pipe_total, failed ? "FAILED" : "ok");
	return failed;
}
