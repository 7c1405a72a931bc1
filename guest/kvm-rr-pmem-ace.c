/*
 * kvm-rr-pmem-ace DIR: an ACE-style (CrashMonkey) workload for the persistent-memory
 * crash-consistency checker. DIR is an empty file system on pmem mounted with DAX, e.g.
 *
 *   mkfs.ext4 -q -F -b 4096 /dev/pmem0 && mount -o dax /dev/pmem0 /mnt/pmem &&
 *   kvm-rr-pmem-ace /mnt/pmem
 *
 * Before operation i it makes checkpoint i (the system call of kvm-rr/include/kvmrr/
 * checkpoint.h: syscall(KVMRR_SYSCALL_CHECKPOINT, i), answered -ENOSYS), then does the
 * operation and makes it durable with fsync of the file or of the parent directory, as ACE
 * does; a last checkpoint follows the last fsync. So checkpoint i+1 is where operation i has
 * returned from its fsync: from there on, a crash must leave at least what operations 1..i
 * made durable. Each step prints one line, "ace: <i> <name> ok"; a failed system call ends
 * the run with a message and exit status 1.
 *
 *   checkpoint  made before                                   durable state from there on
 *   1           mkdir DIR/A, fsync(DIR)                       DIR as mounted (lost+found only)
 *   2           create DIR/A/foo, write 8192 bytes of         DIR/A, an empty directory
 *               pattern C (below), fsync(foo)
 *   3           overwrite foo: pwrite 3001 bytes of pattern   A/foo: 8192 bytes, all pattern C
 *               O at offset 1001 (unaligned start and end),
 *               fsync(foo)
 *   4           rename A/foo -> A/bar, fsync(DIR/A)           A/foo: bytes 1001..4001 pattern O,
 *                                                             the rest pattern C
 *   5           link A/bar -> DIR/B, fsync(DIR)               A/bar (that content), no A/foo
 *   6           unlink A/bar, fsync(DIR/A)                    A/bar and DIR/B: one inode, 2 links
 *   7           (none: the final checkpoint)                  DIR/B only (1 link), no A/bar
 *
 * Patterns, by file offset i: C (create) is 'a' + i % 26, O (overwrite) is 'A' + i % 26, so a
 * byte of the overwrite that did not persist shows as the lower-case letter under it. The
 * overwrite ends at offset 4002, which is not 8-byte aligned: its last two bytes (4000,
 * 4001) are stored with ordinary cached stores and are durable only because the kernel
 * writes their cache line back (tests/pmem/mutations/drop-unaligned-tail-flush.patch
 * removes that write-back).
 *
 * Every file-system operation is a raw system call through syscall(2), one per operation:
 * mkdir, open, pwrite64, fsync, close, rename, link, unlink (no stdio on DIR, no libc
 * rewriting to *at variants). Built static into the guest image.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <kvmrr/checkpoint.h>

#define CREATE_SIZE 8192
#define OVERWRITE_OFF 1001
#define OVERWRITE_LEN 3001

static const char *dir;

static void fail(int step, const char *what, const char *path)
{
	fprintf(stderr, "ace: %d %s %s failed: %s\n", step, what, path, strerror(errno));
	exit(1);
}

static void checkpoint(int n)
{
	errno = 0;
	long r = syscall(KVMRR_SYSCALL_CHECKPOINT, (long)n);

	if (r != -1 || errno != ENOSYS) {
		fprintf(stderr, "ace: checkpoint %d: system call %#x answered %ld (%s), expected ENOSYS\n",
			n, KVMRR_SYSCALL_CHECKPOINT, r, r == -1 ? strerror(errno) : "no error");
		exit(1);
	}
}

static void ok(int step, const char *name)
{
	printf("ace: %d %s ok\n", step, name);
	fflush(stdout);
}

/* out = DIR/rel (out holds 4096 bytes). */
static void path(char *out, const char *rel)
{
	if (snprintf(out, 4096, "%s/%s", dir, rel) >= 4096) {
		fprintf(stderr, "ace: path %s/%s too long\n", dir, rel);
		exit(1);
	}
}

static int sys_open(int step, const char *p, int flags, int mode)
{
	long fd = syscall(SYS_open, p, flags, mode);

	if (fd < 0)
		fail(step, "open", p);
	return (int)fd;
}

static void sys_fsync_close(int step, int fd, const char *p)
{
	if (syscall(SYS_fsync, fd) != 0)
		fail(step, "fsync", p);
	if (syscall(SYS_close, fd) != 0)
		fail(step, "close", p);
}

/* fsync of a directory: open it read-only, fsync, close. */
static void fsync_dir(int step, const char *p)
{
	sys_fsync_close(step, sys_open(step, p, O_RDONLY | O_DIRECTORY, 0), p);
}

static void pwrite_all(int step, int fd, const char *buf, size_t len, off_t off, const char *p)
{
	long n = syscall(SYS_pwrite64, fd, buf, len, off);

	if (n < 0)
		fail(step, "pwrite", p);
	if ((size_t)n != len) {
		fprintf(stderr, "ace: %d pwrite %s: short write, %ld of %zu bytes\n", step, p, n, len);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static char create_buf[CREATE_SIZE], over_buf[OVERWRITE_LEN];
	char a[4096], foo[4096], bar[4096], b[4096];
	int fd, i;

	if (argc != 2) {
		fprintf(stderr, "usage: kvm-rr-pmem-ace DIR   (an empty DAX file system's mount point)\n");
		return 2;
	}
	dir = argv[1];
	path(a, "A");
	path(foo, "A/foo");
	path(bar, "A/bar");
	path(b, "B");
	for (i = 0; i < CREATE_SIZE; i++)
		create_buf[i] = 'a' + i % 26;
	for (i = 0; i < OVERWRITE_LEN; i++)
		over_buf[i] = 'A' + (OVERWRITE_OFF + i) % 26;

	checkpoint(1);
	if (syscall(SYS_mkdir, a, 0755) != 0)
		fail(1, "mkdir", a);
	fsync_dir(1, dir);
	ok(1, "mkdir");

	checkpoint(2);
	fd = sys_open(2, foo, O_CREAT | O_EXCL | O_WRONLY, 0644);
	pwrite_all(2, fd, create_buf, CREATE_SIZE, 0, foo);
	sys_fsync_close(2, fd, foo);
	ok(2, "create");

	checkpoint(3);
	fd = sys_open(3, foo, O_WRONLY, 0);
	pwrite_all(3, fd, over_buf, OVERWRITE_LEN, OVERWRITE_OFF, foo);
	sys_fsync_close(3, fd, foo);
	ok(3, "overwrite");

	checkpoint(4);
	if (syscall(SYS_rename, foo, bar) != 0)
		fail(4, "rename", foo);
	fsync_dir(4, a);
	ok(4, "rename");

	checkpoint(5);
	if (syscall(SYS_link, bar, b) != 0)
		fail(5, "link", bar);
	fsync_dir(5, dir);
	ok(5, "link");

	checkpoint(6);
	if (syscall(SYS_unlink, bar) != 0)
		fail(6, "unlink", bar);
	fsync_dir(6, a);
	ok(6, "unlink");

	checkpoint(7);
	ok(7, "final");
	return 0;
}
