/*
 * kvm-rr-checkpoint N: marks checkpoint N in the guest's run, for replay passes (the pmem
 * crash-consistency checker names the states it checks by these numbers).
 *
 * It makes the checkpoint system call of kvm-rr/abi/guest/kvmrr/checkpoint.h:
 * syscall(KVMRR_SYSCALL_CHECKPOINT, N). No kernel implements that number, so the call
 * returns -1 with errno ENOSYS and changes nothing; the recording holds it as one kernel
 * entry from user mode with N in RDI, which is all a pass needs. ENOSYS is success here
 * (exit 0); any other answer means the number is no longer free (exit 1).
 *
 * usage: kvm-rr-checkpoint N      (N: a decimal number, 0 to 2^63-1)
 * Also reachable as `kvm-rr-ctl checkpoint N`. Built static into the guest image.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <kvmrr/checkpoint.h>

int main(int argc, char **argv)
{
	char *end;
	long n, r;

	if (argc != 2 || argv[1][0] < '0' || argv[1][0] > '9') {
		fprintf(stderr, "usage: kvm-rr-checkpoint N   (N: decimal checkpoint number)\n");
		return 2;
	}
	errno = 0;
	n = strtol(argv[1], &end, 10);
	if (errno != 0 || *end != '\0' || n < 0) {
		fprintf(stderr, "kvm-rr-checkpoint: bad checkpoint number '%s'\n", argv[1]);
		return 2;
	}
	errno = 0;
	r = syscall(KVMRR_SYSCALL_CHECKPOINT, n);
	if (r == -1 && errno == ENOSYS)
		return 0;
	fprintf(stderr, "kvm-rr-checkpoint: system call %#x answered %ld (%s), expected ENOSYS\n",
		KVMRR_SYSCALL_CHECKPOINT, r, r == -1 ? strerror(errno) : "no error");
	return 1;
}
