/*
 * Explicit checkpoints from the guest, for replay passes (e.g. the pmem pass).
 *
 * A guest program marks a point in its run with a system call that no kernel implements:
 * number KVMRR_SYSCALL_CHECKPOINT, the checkpoint's number in the first argument (RDI).
 * The kernel answers -ENOSYS and does nothing else, so the mark costs one recorded kernel
 * entry and changes no kernel state; a pass sees it as a syscall entry with this number,
 * in recording and in replay alike. guest/kvm-rr-checkpoint makes one from a shell.
 *
 * The number sits far above any real x86-64 syscall and below the x32 bit (0x40000000).
 */
#ifndef KVMRR_CHECKPOINT_H
#define KVMRR_CHECKPOINT_H

#define KVMRR_SYSCALL_CHECKPOINT 0x4b5252 /* "KRR" */

#endif
