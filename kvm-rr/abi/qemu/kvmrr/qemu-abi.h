/*
 * kvm-rr <-> QEMU boundary.
 *
 * QEMU's patches (qemu-patches/) are thin hooks; the logic they call lives in kvm-rr's C++
 * core, built as libkvmrr-qemu.so. QEMU loads that library at run time (path in $KVMRR_LIB,
 * set by the kvm-rr front end) and resolves one symbol, kvmrr_qemu_api(), which returns a
 * table of plain C functions. Loading at run time keeps QEMU's build independent of the
 * C++ core: changing the core never recompiles or relinks QEMU, only this header does.
 *
 * Rules, as for qemu-plugin.h: plain data only (no C++ types, no QEMU types), every function
 * documented here, and a version range. KVMRR_QEMU_ABI_VERSION is this header's; every
 * change bumps it. New functions go at the end of the table, so a QEMU built against an
 * older header reads a prefix of it: the library serves every QEMU from
 * KVMRR_QEMU_ABI_MIN_VERSION to its own version, and QEMU reads api->abi_version before
 * calling a function newer than its minimum. A change that breaks older callers raises the
 * minimum to the new version. A QEMU outside the library's range fails loudly at load time.
 * Only kvm-rr/qemu-glue includes this header on the library's side.
 *
 *  19: memory_written (QEMU's dirty log of the RAM block: digests hash only the pages
 *      written since the last one).
 *  18: memory_attach (guest RAM for memory digests, at record_start and once a replay's
 *      snapshot is loaded), record_guest_point (the guest wrote kvm-rr's ring flush or
 *      stop: a sync point where the library may take a digest; QEMU drains the ring at the
 *      stop write), replay_stop_drains (replay drains there too, for recordings that did).
 *  17: ring_header_check (the guest ring's header words checked before QEMU copies records
 *      out: a hostile or buggy guest kernel fails the recording, not QEMU).
 *  16: replay_user_return (the registers a vCPU returns to user mode with: system-call
 *      return values for `kvm-rr syscalls`).
 *  15: KVMRR_DMA_BETWEEN (a device write made while no vCPU ran kernel code: several vCPUs
 *      under KVM, the main loop holding the guest's kernel token).
 *  14: record_identify_kernel (the guest kernel's build-id and banner from its memory),
 *      replay_check_machine (-kernel-replay by hand on another machine says what differs).
 *  13: record_counts (exits by reason, hand-overs; meta.json's counters).
 *  12: cpuid_subleaves (the library owns the list of CPUID leaves with subleaves).
 *  11: KVMRR_DMA_IN_USER.
 */
#ifndef KVMRR_QEMU_ABI_H
#define KVMRR_QEMU_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KVMRR_QEMU_ABI_VERSION 19
#define KVMRR_QEMU_ABI_MIN_VERSION 11
#define KVMRR_QEMU_API_SYMBOL "kvmrr_qemu_api"

/* One CPUID leaf as the guest sees it; the recording stores the whole table. */
typedef struct KvmrrCpuidEntry {
    uint32_t leaf, subleaf;
    uint32_t eax, ebx, ecx, edx;
} KvmrrCpuidEntry;

/*
 * Why a recording vCPU's KVM_RUN returned to QEMU (KvmrrRecordCounts.exits): port I/O to a
 * device, port I/O to kvm-rr's own ports (yield windows, ring flushes, kernel entry and
 * return announcements, control), MMIO, HLT, a kick (the main loop or another vCPU wanted
 * it: -EINTR), anything else (interrupt windows, shutdown, ...).
 */
enum {
    KVMRR_EXIT_IO_DEVICE,
    KVMRR_EXIT_IO_KVMRR,
    KVMRR_EXIT_MMIO,
    KVMRR_EXIT_HLT,
    KVMRR_EXIT_KICK,
    KVMRR_EXIT_OTHER,
    KVMRR_EXIT_KINDS
};

/* What QEMU counted while recording, summed over the vCPUs. */
typedef struct KvmrrRecordCounts {
    uint64_t exits[KVMRR_EXIT_KINDS];  /* KVM_RUN returns by reason; all 0 under TCG */
    uint64_t bql_handoffs;             /* times a waiter got the BQL from a recording vCPU: the
                                        * main loop (devices, timers) or a vCPU thread */
    uint64_t token_handoffs;           /* several vCPUs under KVM: kernel token taken */
} KvmrrRecordCounts;

/* What QEMU knows about the machine when a recording starts. Strings are UTF-8. */
typedef struct KvmrrRecordInfo {
    const char *dir;             /* recording directory to create */
    const char *qemu_version;    /* QEMU_PKGVERSION / QEMU_VERSION */
    const char *accel;           /* QEMU's accelerator name ("tcg", "KVM"); stored lower-case */
    const char *cpu_model;       /* -cpu as given */
    const char *machine;         /* machine type name */
    uint32_t smp;
    uint64_t memory_mb;
    const KvmrrCpuidEntry *cpuid;
    size_t cpuid_count;
    uint64_t guest_ring_gpa;     /* where the guest registered its event ring, 0 if not */
} KvmrrRecordInfo;

/*
 * When a device wrote guest RAM, as log_dma's during_io, and where the vCPU is, as
 * replay_dma's: parked in kernel mode at its sync point, or halted (AT_SYNC_POINT); inside
 * its own port or MMIO access (IN_ACCESS); after the snapshot before it ran (BEFORE_RUN);
 * in user mode, past its last kernel sync point (IN_USER: replay writes it when the vCPU
 * is about to enter the kernel again, not at that sync point, from which the recorded
 * vCPU had run on through the rest of its way back to user mode); made while no vCPU ran
 * kernel code at all (BETWEEN: several vCPUs under KVM, QEMU's main loop holding the guest's
 * kernel token; replay writes it where the log has it, whichever vCPU comes next).
 */
#define KVMRR_DMA_AT_SYNC_POINT 0
#define KVMRR_DMA_IN_ACCESS 1
#define KVMRR_DMA_BEFORE_RUN 2
#define KVMRR_DMA_IN_USER 3
#define KVMRR_DMA_BETWEEN 4

/* What the guest wrote, as record_guest_point's what. */
#define KVMRR_POINT_FLUSH 1
#define KVMRR_POINT_STOP 2

/* Register state of a vCPU at an event, for the event's RIP and register digest. */

typedef struct KvmrrRegs {
    uint64_t gpr[16];            /* rax rcx rdx rbx rsp rbp rsi rdi r8..r15 */
    uint64_t rip, rflags;
    uint32_t cpl;
} KvmrrRegs;

/* What the replaying QEMU needs from a recording (filled in by replay_start). */
#define KVMRR_REPLAY_MAX_VCPUS 8
typedef struct KvmrrReplayInfo {
    uint64_t guest_ring_gpa;     /* the guest's event ring (kvmrr/guest-abi.h) */
    uint64_t hook_tsc;           /* guest address of kvmrr_tsc(): RDI gets the logged TSC */
    uint64_t hook_user_read;     /* guest address of kvmrr_user_read(): user bytes written */
    uint64_t hook_user_value;    /* guest address of kvmrr_user_value(): RDX gets the value */
    uint64_t hook_entry_log;     /* guest address of kvmrr_log_user_entry() */
    uint64_t hook_yield_point;   /* guest address of kvmrr_yield_point() */
    /* Yield count of each vCPU's first yield window (UINT64_MAX if none): replay sets the
     * ring's irq_pending at that yield point, as the recorder had. */
    uint64_t yield_target[KVMRR_REPLAY_MAX_VCPUS];
    uint32_t smp;
} KvmrrReplayInfo;

/* A kernel entry from user mode that replay performs instead of running user code. */
#define KVMRR_ENTRY_SYSCALL 1
#define KVMRR_ENTRY_EXCEPTION 2
#define KVMRR_ENTRY_INTERRUPT 3
typedef struct KvmrrUserEntry {
    uint32_t kind;               /* KVMRR_ENTRY_* */
    uint32_t vector;             /* syscall number, exception or interrupt vector */
    uint64_t error_code;
    uint64_t cr2;
    /* The user register file in struct pt_regs order: r15 r14 r13 r12 bp bx r11 r10 r9 r8
     * ax cx dx si di orig_ax ip cs flags sp ss. */
    uint64_t regs[21];
} KvmrrUserEntry;

/* Writes len bytes at a guest virtual address of the vCPU; returns 0, or -1 if unmapped. */
typedef int (*KvmrrGuestWriteFn)(void *opaque, uint64_t vaddr, const void *buf, size_t len);

/* Reads len bytes at a guest virtual address through vCPU vcpu's page tables; returns 0, or
 * -1 if unmapped. */
typedef int (*KvmrrGuestReadFn)(void *opaque, uint32_t vcpu, uint64_t vaddr, void *buf, size_t len);

/* Reads len bytes at a guest-physical address; returns 0, or -1 where there is no RAM. */
typedef int (*KvmrrPhysReadFn)(void *opaque, uint64_t gpa, void *buf, size_t len);

/* Writes len bytes of guest RAM at a RAM address; returns 0, or -1 if there is no RAM. */
typedef int (*KvmrrRamWriteFn)(void *opaque, uint64_t ram_addr, const void *buf, size_t len);
/*
 * Which pages of the RAM block memory_attach gave were written since the previous call that
 * returned 0: bit i of bitmap (least significant bit first in each byte) for page i, of
 * pages = ram_bytes / 4096 (every page, until a call first clears the log). Returns 0, or -1
 * when QEMU cannot tell now (a first call that starts the log; a thread that may not take the
 * locks it needs): the caller then counts every page as written, and the next 0 still covers
 * every write since the last 0.
 */
typedef int (*KvmrrRamWrittenFn)(void *opaque, uint8_t *bitmap, uint64_t pages);

/*
 * Replay calls return KVMRR_REPLAY_CONTINUE, or KVMRR_REPLAY_STOP when replay is over: the
 * log is exhausted or the replayed kernel diverged. QEMU then calls replay_finish() and
 * exits with the status it returns.
 */
#define KVMRR_REPLAY_CONTINUE 0
#define KVMRR_REPLAY_STOP 1
/*
 * Several vCPUs: the log's next event belongs to another vCPU (replay_turn() says which).
 * QEMU parks this vCPU where it is, runs that one, and calls the same function again when
 * this vCPU's turn comes; nothing was consumed.
 */
#define KVMRR_REPLAY_WAIT 2

typedef struct KvmrrQemuApi {
    /* KVMRR_QEMU_ABI_VERSION the library was built with. */
    uint32_t abi_version;
    /* Version of the recording format the library writes and reads. */
    uint32_t format_version;
    /* Library identity, e.g. "kvm-rr 0.1.0 (git abc1234)"; static storage. */
    const char *library_version;

    /*
     * Human-readable recording state for the `info rr` monitor command: one line per fact,
     * each ending in '\n'. Writes at most size bytes including the terminating NUL and
     * returns the length the full text needs (like snprintf).
     */
    size_t (*describe)(char *buf, size_t size);

    /*
     * Recording. QEMU calls record_start with the VM stopped, then saves the machine
     * snapshot to snapshot_path(), then resumes; record_stop also runs with the VM stopped.
     * Both return 0, or -1 with a message in err (NUL-terminated, at most err_size bytes).
     */
    int (*record_start)(const KvmrrRecordInfo *info, char *err, size_t err_size);
    int (*record_stop)(char *err, size_t err_size);
    /* Abandons a recording whose start failed half-way (e.g. the snapshot could not be
     * written): the directory stays, marked as not recorded. */
    void (*record_abort)(const char *why);
    /* Path of the snapshot file of the recording being started; valid until record_stop. */
    const char *(*snapshot_path)(void);

    /*
     * Inputs QEMU observes while recording, logged in the order QEMU calls these. All may be
     * called from any vCPU thread; the library serializes them.
     */
    void (*log_io_in)(uint32_t vcpu, const KvmrrRegs *regs, uint16_t port, uint32_t size,
                      uint64_t value);
    void (*log_mmio_read)(uint32_t vcpu, const KvmrrRegs *regs, uint64_t gpa, uint32_t size,
                          uint64_t value);
    /* An external interrupt delivered to the vCPU in kernel mode (regs: state it
     * interrupts) at the vCPU's sync point number sync_point (counted from 1 since the
     * recording started: port I/O instructions and HLTs). Interrupts taken in user mode are
     * kernel entries the guest logs. */
    void (*log_interrupt)(uint32_t vcpu, const KvmrrRegs *regs, uint32_t vector,
                          uint64_t sync_point);
    /*
     * Records drained from the guest's ring (kvmrr/guest-abi.h), in ring order. QEMU calls
     * this before logging any event of its own, so the two sources interleave in the order
     * the kernel consumed them. Returns 0, or -1 with a message when the records are
     * malformed (the recording is then marked failed and ignores further events).
     */
    int (*log_guest_records)(const void *records, size_t size, char *err, size_t err_size);
    /*
     * A device wrote len bytes of guest RAM at ram_addr (QEMU's RAM address space, which
     * the same machine lays out the same way in replay). QEMU lets devices write only while
     * the vCPU is at a sync point (sync_count) or halted (KVMRR_DMA_AT_SYNC_POINT), in user
     * mode (KVMRR_DMA_IN_USER; sync_count is its last sync point's), during the vCPU's own
     * port or MMIO access (KVMRR_DMA_IN_ACCESS), or after the snapshot before the vCPU ran
     * at all (KVMRR_DMA_BEFORE_RUN): the kernel sees the data at the same instruction in
     * replay.
     */
    void (*log_dma)(uint32_t vcpu, uint64_t sync_count, uint32_t during_io, uint64_t ram_addr,
                    const void *data, size_t len);
    /*
     * The CPU's page walk for user code set accessed/dirty bits in a page-table entry (the
     * kernel reads them later, e.g. when it unmaps): len bytes of the entry's new value
     * at ram_addr. Replay writes them back before the next kernel entry.
     */
    void (*log_pte)(uint32_t vcpu, uint64_t sync_count, uint64_t ram_addr, const void *data,
                    size_t len);
    /*
     * Several vCPUs on one TCG thread: the thread leaves vCPU `vcpu`, in kernel mode at its
     * sync point sync_count (regs), to run another. It leaves a vCPU in kernel mode only at a
     * sync point (or halted, or waiting for an entry from user mode, where replay waits for
     * the vCPU's next event anyway), so this is everywhere replay must stop the vCPU too.
     */
    void (*log_deschedule)(uint32_t vcpu, const KvmrrRegs *regs, uint64_t sync_count);
    /*
     * The thread runs vCPU `vcpu` again, in kernel mode at sync point sync_count (regs), after
     * another (or first since the snapshot). Kernel code it runs from here to its next event
     * (a return to user mode, say, logs nothing) ran before the other vCPUs' later events:
     * replay resumes it here in log order too.
     */
    void (*log_resume)(uint32_t vcpu, const KvmrrRegs *regs, uint64_t sync_count);

    /*
     * Replay (TCG only). replay_start opens the recording in dir and checks it against the
     * guest kernel in $KVMRR_VMLINUX (build-id); 0, or -1 with a message in err. QEMU loads
     * the snapshot itself, runs only the kernel, and calls the functions below at the points
     * where the recorder logged; each consumes the next event in log order and checks it
     * (type, vCPU, RIP, register digest).
     */
    int (*replay_start)(const char *dir, KvmrrReplayInfo *info, char *err, size_t err_size);
    /* Device reads: *value gets the logged value. Device writes are not events. */
    int (*replay_io_in)(uint32_t vcpu, const KvmrrRegs *regs, uint16_t port, uint32_t size,
                        uint64_t *value);
    int (*replay_mmio_read)(uint32_t vcpu, const KvmrrRegs *regs, uint64_t gpa, uint32_t size,
                            uint64_t *value);
    /*
     * The vCPU reached its sync point number sync_count (port I/O or, with halted set, HLT);
     * regs: its state at the instruction boundary there (checked against a deschedule the
     * log has at this point). *vector gets the vector of the interrupt the log delivers right here, or -1. A halted
     * vCPU with no interrupt to take has nothing more to replay. A deschedule or resume the
     * log has here is consumed (*switched set: QEMU drains the guest's ring, as the recorder
     * did before logging it); after a deschedule, WAIT until the vCPU's resume is next.
     * A vCPU in kernel mode at the snapshot (not halted) starts with this call at sync
     * point 0, waiting for its first resume.
     */
    int (*replay_sync_point)(uint32_t vcpu, const KvmrrRegs *regs, uint64_t sync_count,
                             uint32_t halted, int32_t *vector, uint32_t *switched);
    /* The interrupt replay_sync_point announced is being delivered; regs: state it
     * interrupts. */
    int (*replay_interrupt)(uint32_t vcpu, const KvmrrRegs *regs, uint32_t vector);
    /* The vCPU returned to user mode: *entry gets the kernel entry to perform. */
    int (*replay_user_entry)(uint32_t vcpu, KvmrrUserEntry *entry);
    /*
     * The guest is about to log a kernel entry from user mode (kvmrr_log_user_entry). Normally
     * the entry replay performed; an entry already under way when the snapshot was taken
     * is consumed here instead, after the device writes logged before it (write()).
     */
    int (*replay_entry_logged)(uint32_t vcpu, uint64_t sync_count, KvmrrRamWriteFn write,
                               void *opaque);
    /* kvmrr_tsc() called from rip (its return address): *value gets the logged TSC. */
    int (*replay_tsc)(uint32_t vcpu, const KvmrrRegs *regs, uint64_t rip, uint64_t *value);
    /*
     * kvmrr_user_read(uaddr, len, kind, copy) called from rip: writes the logged user bytes
     * to uaddr (copy 0: the kernel reads them next) or to the kernel's copy at `copy` (the
     * kernel already read them; uaddr gets them too, where it is mapped).
     */
    int (*replay_user_read)(uint32_t vcpu, const KvmrrRegs *regs, uint64_t rip, uint64_t uaddr,
                            uint64_t len, uint32_t kind, uint64_t copy, KvmrrGuestWriteFn write,
                            void *opaque);
    /*
     * kvmrr_user_value(uaddr, size, value) called from rip: *value gets the logged value (the
     * kernel's load from user memory it stands for is done); uaddr gets it too, where mapped.
     */
    int (*replay_user_value)(uint32_t vcpu, const KvmrrRegs *regs, uint64_t rip, uint64_t uaddr,
                             uint64_t size, uint64_t *value, KvmrrGuestWriteFn write, void *opaque);
    /*
     * kvmrr_yield_point() called from rip, about to count yield point number `count`:
     * *open gets the irq_pending bits (KVMRR_PENDING_*) the recorded kernel saw when the log
     * has a window there, else 0 (QEMU sets the ring's irq_pending to it). A window at
     * another call site is a divergence.
     */
    int (*replay_yield_point)(uint32_t vcpu, const KvmrrRegs *regs, uint64_t rip, uint64_t count,
                              uint32_t *open);
    /* The guest opened a yield window at yield count `count`; *next_target gets the count
     * of the vCPU's next window (UINT64_MAX if none). */
    int (*replay_yield_window)(uint32_t vcpu, uint64_t count, uint64_t *next_target);
    /*
     * Device writes to guest RAM (and page-table entries the CPU updated while user code
     * ran) the log has next for the vCPU, at sync point sync_count
     * (KVMRR_DMA_AT_SYNC_POINT: parked there in kernel mode, or halted), about to enter the
     * kernel from user mode (KVMRR_DMA_IN_USER: the writes made while it was in user mode,
     * and any left at its last sync point), inside its current port/MMIO access
     * (KVMRR_DMA_IN_ACCESS: only that access's writes), or before the vCPU runs at all
     * (KVMRR_DMA_BEFORE_RUN, once when replay begins): written with write().
     */
    int (*replay_dma)(uint32_t vcpu, uint64_t sync_count, uint32_t during_io,
                      KvmrrRamWriteFn write, void *opaque);
    /*
     * CPUID executed by the replayed kernel: returns 1 with out = eax, ebx, ecx, edx from
     * the recorded CPU's table (what the kernel saw while recording, under KVM too), or 0
     * when the table does not cover the leaf (QEMU's model answers then).
     */
    int (*replay_cpuid)(uint32_t vcpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
    /* Records drained from the replayed guest's ring, at the same points as recording:
     * checked against the events replay fed it. */
    int (*replay_guest_records)(const void *records, size_t size);
    /* The vCPU whose event comes next in the log (the one to run), or -1 at its end. */
    int (*replay_turn)(void);
    /* Ends replay: writes <dir>/replay.json, prints a divergence report to stderr, and
     * returns QEMU's exit status (0 when every event was replayed without divergence). The
     * report reads the diverging vCPU's kernel stack with read (NULL: no stack). */
    int (*replay_finish)(KvmrrGuestReadFn read, void *opaque);

    /* Version 12. */
    /*
     * How many subleaves of CPUID leaf `leaf` the recorder enumerates into the recorded
     * table (1: the answer does not depend on ECX). Replay uses the same list.
     */
    uint32_t (*cpuid_subleaves)(uint32_t leaf);

    /* Version 13. */
    /* What QEMU counted during the recording, just before record_stop (meta.json has it). */
    void (*record_counts)(const KvmrrRecordCounts *counts);

    /* Version 14. */
    /*
     * Right after record_start, VM stopped: the library reads the running guest kernel's
     * identity (its GNU build-id note and linux_banner) from guest memory, for recordings
     * made without the front end (rr_record in the monitor), which named no vmlinux.
     * ram_bytes: the guest's RAM size. Best effort: nothing found leaves meta.json as it is.
     */
    void (*record_identify_kernel)(KvmrrPhysReadFn read, void *opaque, uint64_t ram_bytes);
    /*
     * After replay_start: 0 when the replaying machine (QEMU's machine type name, RAM in
     * MiB, vCPUs) is the recording's; else -1 with a message naming each difference and
     * the option that gives the recording's value (a snapshot loaded into another machine
     * fails later with much less to go on).
     */
    int (*replay_check_machine)(const char *machine, uint64_t memory_mb, uint32_t smp, char *err,
                                size_t err_size);

    /* Version 16. */
    /*
     * The vCPU is back in user mode (a SYSRET or IRET to CPL 3 ended its block), before
     * replay_user_entry: regs are its registers there (RAX holds a system call's return
     * value). Called again for the same return when replay_user_entry waits for the vCPU's
     * turn; the library keeps the last. Returns KVMRR_REPLAY_CONTINUE.
     */
    int (*replay_user_return)(uint32_t vcpu, const KvmrrRegs *regs);

    /* Version 17. */
    /*
     * The guest ring's header as QEMU read it, before it copies records out: 0 when head,
     * size and header_size are usable; else -1 with err naming the field and its value, and
     * a recording in progress ends as failed there (its prefix stays readable; QEMU and the
     * guest keep running). QEMU then copies nothing.
     */
    int (*ring_header_check)(uint32_t head, uint32_t size, uint32_t header_size, char *err, size_t err_size);

    /* Version 18. */
    /*
     * Guest RAM for memory digests (kvm-rr/memory): the host address of the machine's main
     * RAM block (RAM address 0, guest-physical below 4 GiB) and its size. Recording: right
     * after record_start, VM stopped; replay: once the snapshot is loaded, before the first
     * vCPU runs. The library only reads it (the kernel's struct pages through the kernel's
     * own page table in it), during the log and replay calls; the block must stay mapped
     * for the process's life.
     */
    void (*memory_attach)(const void *ram, uint64_t ram_bytes);
    /*
     * The guest wrote kvm-rr's ring flush port (KVMRR_POINT_FLUSH; the kernel does at each
     * checkpoint system call) or asked to stop recording (KVMRR_POINT_STOP), from kernel
     * code on vCPU vcpu, whose thread calls this inside the write, after draining the ring:
     * the write is the vCPU's sync point sync_point (counted as log_interrupt's), which
     * replay reaches alike. The library may take a memory digest there.
     */
    void (*record_guest_point)(uint32_t vcpu, uint64_t sync_point, uint32_t what);
    /*
     * After replay_start: 1 when the recorder drained the guest's ring at the guest's write
     * of KVMRR_CTL_WRITE_STOP to KVMRR_PORT_CTL (recordings of format 4 on), so replay drains
     * its ring at that write too; 0 for older recordings.
     */
    uint32_t (*replay_stop_drains)(void);

    /* Version 19. */
    /*
     * Right after memory_attach: which of its pages were written since the last memory
     * digest, so that a digest hashes only those (kvm-rr/memory). The library calls fn from
     * the threads that call the log and replay functions, only when it takes a digest
     * (never, for a recording whose only digest is at its end).
     */
    void (*memory_written)(KvmrrRamWrittenFn fn, void *opaque);
} KvmrrQemuApi;

/*
 * The library's only entry point. Returns NULL when it cannot serve abi_version, the
 * KVMRR_QEMU_ABI_VERSION QEMU was built with (the caller then reports both versions).
 */
typedef const KvmrrQemuApi *(*KvmrrQemuApiFn)(uint32_t abi_version);
const KvmrrQemuApi *kvmrr_qemu_api(uint32_t abi_version);

#ifdef __cplusplus
}
#endif

#endif /* KVMRR_QEMU_ABI_H */
