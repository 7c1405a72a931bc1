/*
 * kvm-rr-microbench: system-call microbenchmarks for the guest, as used to compare recorders
 * (bench/). Each runs N operations and prints one line:
 *
 *   BENCH <name> ops=<N> seconds=<S> ns_per_op=<NS>
 *
 * getpid      getpid(2) through syscall(2) (never cached by libc)
 * write4k     4 KiB write(2) to /dev/null
 * forkexit    fork(2) a child that exits at once, and wait for it
 * pipe        one-byte ping-pong between two processes over two pipes
 * mmap        mmap(2) 64 KiB anonymous, touch one page, munmap(2)
 *
 * usage: kvm-rr-microbench NAME [N]   (NAME "all" runs every one)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void bench_getpid(long n)
{
	for (long i = 0; i < n; i++)
		syscall(SYS_getpid);
}

static void bench_write4k(long n)
{
	static char buf[4096];
	int fd = open("/dev/null", O_WRONLY);

	if (fd < 0)
		die("open /dev/null");
	for (long i = 0; i < n; i++)
		if (write(fd, buf, sizeof(buf)) != sizeof(buf))
			die("write");
	close(fd);
}

static void bench_forkexit(long n)
{
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0)
			_exit(0);
		if (waitpid(pid, NULL, 0) != pid)
			die("waitpid");
	}
}

static void bench_pipe(long n)
{
	int ping[2], pong[2];
	char c = 'x';
	pid_t pid;

	if (pipe(ping) || pipe(pong))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		for (long i = 0; i < n; i++)
			if (read(ping[0], &c, 1) != 1 || write(pong[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	for (long i = 0; i < n; i++)
		if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
			die("ping-pong");
	waitpid(pid, NULL, 0);
}

static void bench_mmap(long n)
{
	for (long i = 0; i < n; i++) {
		char *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			die("mmap");
		p[0] = 1;
		if (munmap(p, 65536))
			die("munmap");
	}
}

static const struct {
	const char *name;
	void (*run)(long n);
	long default_n;
} benches[] = {
	{"getpid", bench_getpid, 200000},
	{"write4k", bench_write4k, 50000},
	{"forkexit", bench_forkexit, 500},
	{"pipe", bench_pipe, 20000},
	{"mmap", bench_mmap, 20000},
};

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "all";
	int found = 0;

	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
		long n;
		double start, seconds;

		if (strcmp(name, "all") && strcmp(name, benches[i].name))
			continue;
		found = 1;
		n = argc > 2 ? atol(argv[2]) : benches[i].default_n;
		start = now();
		benches[i].run(n);
		seconds = now() - start;
		printf("BENCH %s ops=%ld seconds=%.6f ns_per_op=%.0f\n", benches[i].name, n, seconds,
		       n ? seconds * 1e9 / n : 0);
		fflush(stdout);
	}
	if (!found) {
		fprintf(stderr, "usage: %s getpid|write4k|forkexit|pipe|mmap|all [N]\n", argv[0]);
		return 2;
	}
	return 0;
}
