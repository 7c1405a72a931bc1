/*
 * The stand-in vmlinux's data symbols, absolute and sized as a guest kernel's are: the
 * per-CPU offsets array and numbers in the image's data, the per-CPU variables at their
 * offsets in a unit (a kernel's __per_cpu_start is 0), the e820 table's pointer and the
 * kernel's word that says user code may write persistent memory.
 */
	.macro sym name, value, size
	.globl \name
	.type \name, @object
	.set \name, \value
	.size \name, \size
	.endm

	sym __per_cpu_offset, 0xffffffff80118100, 64
	sym nr_cpu_ids, 0xffffffff80118200, 4
	sym pcpu_unit_size, 0xffffffff80118240, 4
	sym kvmrr_entry_info, 0x1010, 16
	sym cpu_current_top_of_stack, 0x1040, 8
	sym irq_stack_backing_store, 0x2000, 0x4000
	sym cpu_tss_rw, 0x6000, 0x1000
	sym kvmrr_pmem_user_writable, 0xffffffff80118280, 4
	sym e820_table, 0xffffffff80118300, 8

	.section .note.GNU-stack, "", @progbits
