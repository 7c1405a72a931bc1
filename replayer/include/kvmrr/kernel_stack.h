#pragma once
// Where a diverging vCPU was, for the divergence report: the guest kernel has no frame
// pointers (UNWINDER_GUESS), so, like that unwinder's "? func+off" lines, every word on the
// kernel stack from RSP up to the stack's top that points just after a call instruction in
// vmlinux's text; and the task's entry from user mode (struct pt_regs at the top of a task
// stack): the system call it is in, or the exception or interrupt that entered.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "kvmrr/registers.h"
#include "kvmrr/vmlinux.h"

namespace kvmrr {

// Reads len bytes at a guest kernel virtual address; false when it is not mapped.
using GuestRead = std::function<bool(uint64_t vaddr, void* buf, size_t len)>;

// The report's "kernel stack" section (lines indented by two spaces); empty when RSP is not
// a kernel address or its stack cannot be read.
std::string describe_kernel_stack(const Regs& regs, const Vmlinux& vmlinux, const GuestRead& read);

}  // namespace kvmrr
