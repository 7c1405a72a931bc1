/*
 * kvm-rr guest <-> QEMU boundary: the shared-memory event ring of the in-guest recorder.
 *
 * The patched guest kernel (guest-kernel-patches/) logs what only it sees (kernel entries
 * from user mode with the user register file, user-memory reads, RDTSC, yield windows) as
 * records in a ring in its own memory. It tells QEMU where the ring is at boot; QEMU drains
 * it into the recording before logging any event of its own (device reads, interrupts), so
 * the recording keeps the order in which the kernel consumed its inputs. When a record
 * leaves less than the largest record's room, the guest asks QEMU to drain the ring (an
 * exit) right away, so a drain never falls between a value's hook and its record.
 *
 * This header is kvm-rr's; tools/build-kernel.sh copies it into the kernel tree as
 * include/uapi/linux/kvmrr.h, and the C++ core includes it directly. Plain C, fixed-size
 * little-endian fields. Any incompatible change bumps KVMRR_GUEST_ABI_VERSION.
 */
#ifndef KVMRR_GUEST_ABI_H
#define KVMRR_GUEST_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>
typedef __u16 kvmrr_u16;
typedef __u32 kvmrr_u32;
typedef __u64 kvmrr_u64;
#else
#include <stdint.h>
typedef uint16_t kvmrr_u16;
typedef uint32_t kvmrr_u32;
typedef uint64_t kvmrr_u64;
#endif

#define KVMRR_GUEST_ABI_VERSION 9
#define KVMRR_MAX_VCPUS 8
#define KVMRR_RING_MAGIC 0x5252524b /* "KRRR" */

/* I/O ports of QEMU's kvm-rr-ctl device. */
#define KVMRR_PORT_CTL 0x5a0   /* 8-bit: start/stop recording (guest/kvm-rr-ctl) */
#define KVMRR_CTL_WRITE_START 1  /* written to KVMRR_PORT_CTL: start recording */
#define KVMRR_CTL_WRITE_STOP 2   /* written to KVMRR_PORT_CTL: stop recording */
#define KVMRR_PORT_FLUSH 0x5a1 /* 8-bit write: drain the ring now (it is full) */
#define KVMRR_PORT_YIELD 0x5a2 /* 8-bit write: a yield window, so QEMU can inject */
/*
 * The value written to KVMRR_PORT_YIELD: KVMRR_YIELD_TO_USER for the window on a return to
 * user mode (the vCPU gives the kernel up a few instructions later anyway: QEMU does not hand
 * it to another vCPU there, which would cost this one a second turn just to leave), else 0.
 */
#define KVMRR_YIELD_TO_USER 1
/*
 * 8-bit write. With KVMRR_RING_KERNEL_TOKEN: KVMRR_KERNEL_ENTER when a kernel entry from user
 * mode finds the kernel token taken or waited for (QEMU gives it to this vCPU before the
 * write completes), KVMRR_KERNEL_LEAVE after a return to user mode gave it back while QEMU
 * threads wait for it. Neither is a sync point: whether the guest writes depends on timing.
 * (Format 2 recordings, KVMRR_RING_ANNOUNCE_KERNEL: every entry and return wrote, and each
 * write was a sync point.)
 */
#define KVMRR_PORT_KERNEL 0x5a3
#define KVMRR_KERNEL_LEAVE 0
#define KVMRR_KERNEL_ENTER 1
#define KVMRR_PORT_RING 0x5a4  /* 32-bit write: guest-physical page number of the ring */

/* The ring: this header, then `size` bytes of records. Page aligned. */
struct kvmrr_ring {
    kvmrr_u32 magic;
    kvmrr_u16 abi_version;
    kvmrr_u16 header_size;   /* offset of the first record */
    kvmrr_u32 size;          /* bytes available for records */
    kvmrr_u32 recording;     /* set by QEMU: nonzero while a recording runs */
    kvmrr_u32 head;          /* bytes of records written; QEMU sets it to 0 after draining */
    kvmrr_u32 flags;         /* KVMRR_RING_*, set by QEMU with recording */
    kvmrr_u64 records;       /* records written since boot (for diagnostics) */
    /*
     * Yield windows. While recording, QEMU holds an interrupt for a vCPU in kernel mode
     * until a sync point, and sets irq_pending[vcpu] meanwhile. At each yield point (spin
     * loops' cpu_relax, cond_resched) the kernel counts yields[vcpu] and, with interrupts
     * enabled, opens a window (logs it, then writes KVMRR_PORT_YIELD: an exit, so a sync
     * point) when irq_pending is set or the count reaches yield_target. QEMU also sets
     * irq_pending when its main loop waits for the vCPU. Replay sets irq_pending at the
     * yield point of each logged window, so the kernel opens the same windows and reads
     * the same values. QEMU resets all three when a recording starts (yield_target to
     * UINT64_MAX, which no count reaches).
     *
     * irq_pending holds KVMRR_PENDING_* bits. KVMRR_PENDING_IRQ (an interrupt waits) opens a
     * window only with interrupts enabled; KVMRR_PENDING_SYNC (QEMU needs the vCPU at a sync
     * point: its main loop waits for it, or another vCPU must run) opens one with interrupts
     * disabled too, since a spin with interrupts off may wait for exactly that. The window
     * record's aux holds the bits the kernel saw; replay sets the same ones.
     */
    kvmrr_u32 irq_pending[KVMRR_MAX_VCPUS];
    kvmrr_u64 yield_target[KVMRR_MAX_VCPUS];
    kvmrr_u64 yields[KVMRR_MAX_VCPUS];
    /*
     * Guest virtual addresses [start, end) of the recorder's own code (the hooks replay
     * feeds inputs at, and the ring's writer). QEMU takes a recording's snapshot only when
     * no vCPU is inside: one caught past a hook's first instruction would miss the input
     * replay gives there, one caught writing a record would write it into the reset ring.
     */
    kvmrr_u64 recorder_text_start;
    kvmrr_u64 recorder_text_end;
    /*
     * Several vCPUs under KVM (KVMRR_RING_KERNEL_TOKEN): the kernel token, which keeps one
     * vCPU at a time in kernel code and so one order of the kernel's inputs (the ring's).
     * kernel_owner is KVMRR_OWNER_NONE, a vCPU index, or KVMRR_OWNER_QEMU (its main loop,
     * which runs devices only then, or at a holder's sync point). A kernel entry from user
     * mode takes it with a compare-and-swap, and a return to user mode gives it back, with no
     * exit while kernel_waiters is 0; kernel_waiters counts QEMU threads that wait for it
     * (and, from the snapshot, vCPUs caught in kernel mode that have not run yet): then
     * entries ask QEMU (KVMRR_KERNEL_ENTER) and returns tell it (KVMRR_KERNEL_LEAVE). QEMU
     * changes the owner word only with atomic operations, and gives or takes it on a vCPU's
     * behalf only while that vCPU is stopped at an exit. Replay ignores both words.
     */
    kvmrr_u32 kernel_owner;
    kvmrr_u32 kernel_waiters;
};

#define KVMRR_OWNER_NONE 0xffffffffu
#define KVMRR_OWNER_QEMU 0xfffffffeu

/*
 * Several vCPUs under KVM run user code in parallel, and QEMU lets one at a time run kernel
 * code: it must see every kernel entry from user mode before the kernel logs anything, and
 * every return to user mode (KVMRR_PORT_KERNEL). Without it (one vCPU, or TCG, where QEMU
 * sees the mode switches itself) the kernel writes nothing there.
 */
#define KVMRR_RING_ANNOUNCE_KERNEL 1
/* Several vCPUs under KVM since format 3: the kernel token in the ring (kernel_owner). */
#define KVMRR_RING_KERNEL_TOKEN 2

#define KVMRR_PENDING_IRQ 1
#define KVMRR_PENDING_SYNC 2

/*
 * Record types share their numbers with the recording's event types (kvm-rr/event.h).
 * Every record starts with this header; size is the whole record, a multiple of 8.
 */
struct kvmrr_record {
    kvmrr_u16 type;
    kvmrr_u16 size;
    kvmrr_u32 vcpu;
    kvmrr_u64 rip;           /* where the kernel consumed the value */
};

#define KVMRR_REC_SYSCALL 1
#define KVMRR_REC_EXCEPTION 2
#define KVMRR_REC_INTERRUPT 3
#define KVMRR_REC_CFU 4
#define KVMRR_REC_RDTSC 7
#define KVMRR_REC_YIELD_WINDOW 12

/* The user register file at a kernel entry, in struct pt_regs order (x86-64). */
#define KVMRR_USER_REGS 21

/*
 * Kernel entry from user mode: syscall (vector = nr), exception or interrupt. task is the
 * entering thread's pid: replay performs each entry in whatever task its kernel returns to
 * user mode with, so the replayed kernel's own record of the entry, compared with the
 * recorded one, is what notices a scheduler that chose another task.
 */
struct kvmrr_entry_record {
    struct kvmrr_record hdr;     /* rip: the user RIP the entry came from (regs->ip) */
    kvmrr_u64 vector;            /* syscall number, or exception/interrupt vector */
    kvmrr_u64 error_code;
    kvmrr_u64 cr2;
    kvmrr_u64 task;              /* pid (thread id) of current */
    kvmrr_u64 regs[KVMRR_USER_REGS];
};

/*
 * Bytes the kernel read from user memory. Logged where replay can put them in place at the
 * same hook, with the bytes the kernel itself got wherever user code on another CPU can
 * store to them meanwhile:
 * - after the kernel's own read, from its copy: raw_copy_from_user (kvmrr_user_read() with
 *   copy: replay writes data to the kernel's copy) and the get_user family and futex
 *   atomics (kvmrr_user_value(), KVMRR_UREAD_SCALAR: data is the value loaded, or the old
 *   value the atomic operation found; replay substitutes it for the value the routine
 *   returns);
 * - before the read, with a non-faulting copy from user memory, where the kernel's read
 *   depends on the bytes as it goes (strings up to their NUL), reads them in place (shared
 *   memory, unsafe_get_user() regions) or stores them to memory replay passes watch (the
 *   nocache and flushcache copies, pmem): len may be short of the request where a page is
 *   not present (the kernel's own read then faults it in, which replay reproduces). Replay
 *   writes data back to uaddr at the same hook, so the kernel's own loops see what they
 *   saw; user code on another CPU storing there meanwhile is not caught.
 * Reads larger than KVMRR_USER_CHUNK come as several records.
 */
#define KVMRR_USER_CHUNK 4096
#define KVMRR_UREAD_COPY 0    /* copy_from_user and friends: a cfu event */
#define KVMRR_UREAD_STRING 1  /* strncpy_from_user, strnlen_user: up to the NUL (cfu) */
#define KVMRR_UREAD_SCALAR 2  /* get_user family, futex words: a gfu event */
#define KVMRR_UREAD_SHARED 3  /* memory user space writes that the kernel reads in place
                               * (io_uring rings, access_remote_vm): uaddr is the kernel
                               * address (cfu) */
struct kvmrr_user_record {
    struct kvmrr_record hdr;
    kvmrr_u64 uaddr;
    kvmrr_u32 len;
    kvmrr_u32 kind;
    /* len bytes of data, padded to a multiple of 8 */
};

/* A value the kernel read from the TSC (value), or a yield window (value: the vCPU's yield
 * count at the window; aux: the irq_pending bits it saw). */
struct kvmrr_value_record {
    struct kvmrr_record hdr;
    kvmrr_u64 value;
    kvmrr_u64 aux;
};

/*
 * What kvm-rr's memory digests (kvm-rr/memory) read of the kernel's own structures, which
 * the kernel's configuration lays out: the kernel's `kvmrr_memory_layout` object, found by
 * symbol in vmlinux and read from the image (no recording carries it). Additive: a kernel
 * without it gets the digests' fixed Linux 6.1 layout and no shared-mapping exclusion.
 */
/*
 * Version 2: the mark covers every mapping shared and writable, shared anonymous ones (whose
 * shmem file is made after mmap_region()) included, so digests may cover the page cache.
 */
/*
 * Version 3: the kernel also has `kvmrr_u32 kvmrr_pmem_user_writable`, found by symbol and
 * read from guest memory: nonzero once user code may write persistent memory (a file mapped
 * shared and writable is DAX, or lives on a DAX-capable block device, or is one). Digests
 * cover the pmem region until then.
 */
#define KVMRR_MEMORY_LAYOUT_VERSION 3
struct kvmrr_memory_layout {
    kvmrr_u32 version;                /* KVMRR_MEMORY_LAYOUT_VERSION */
    kvmrr_u32 struct_page_size;       /* sizeof(struct page) */
    kvmrr_u32 mapping_flags;          /* offsetof(struct address_space, flags) */
    kvmrr_u32 mapping_user_writable;  /* bit in those flags: the file was once mapped shared
                                       * and writable into user space, so user code may have
                                       * written its page cache, which replay never has */
};

#endif /* KVMRR_GUEST_ABI_H */
