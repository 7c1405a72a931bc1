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
 * documented here, and any incompatible change bumps KVMRR_QEMU_ABI_VERSION. The library
 * refuses a version it was not built for, so a stale library fails loudly at load time.
 */
#ifndef KVMRR_QEMU_ABI_H
#define KVMRR_QEMU_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KVMRR_QEMU_ABI_VERSION 1
#define KVMRR_QEMU_API_SYMBOL "kvmrr_qemu_api"

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
} KvmrrQemuApi;

/*
 * The library's only entry point. Returns NULL when it cannot serve abi_version (the caller
 * then reports both versions).
 */
typedef const KvmrrQemuApi *(*KvmrrQemuApiFn)(uint32_t abi_version);
const KvmrrQemuApi *kvmrr_qemu_api(uint32_t abi_version);

#ifdef __cplusplus
}
#endif

#endif /* KVMRR_QEMU_ABI_H */
