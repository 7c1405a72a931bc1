/*
 * kvm-rr <-> analysis passes (TCG plugins, passes/): where the replay is.
 *
 * A pass runs in the replaying QEMU beside libkvmrr-qemu.so (the replay engine). It finds
 * this function there with dlopen($KVMRR_LIB, RTLD_NOLOAD) and dlsym, so that it can tie
 * what it sees to the recording's events: a window of event indices, the thread that made
 * a vCPU's last kernel entry from user mode. Plain C, one function; a pass outside a
 * kvm-rr replay finds no library and does without.
 */
#ifndef KVMRR_REPLAY_CURSOR_H
#define KVMRR_REPLAY_CURSOR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KVMRR_REPLAY_CURSOR_SYMBOL "kvmrr_replay_cursor"

typedef struct KvmrrReplayCursor {
    uint64_t events;       /* events consumed so far: the next one has this index */
    uint64_t entries;      /* kernel entries from user mode this vCPU made so far */
    uint64_t entry_pid;    /* the thread of the vCPU's last one (0 before any) */
} KvmrrReplayCursor;

/* 0 with *out filled; -1 when no replay runs or vcpu is out of range. */
typedef int (*KvmrrReplayCursorFn)(uint32_t vcpu, KvmrrReplayCursor *out);
int kvmrr_replay_cursor(uint32_t vcpu, KvmrrReplayCursor *out);

#ifdef __cplusplus
}
#endif

#endif /* KVMRR_REPLAY_CURSOR_H */
