/*
 * A stand-in vmlinux for the memory digests' tests: its image bounds come from --defsym, its
 * layout object is what a guest kernel with kvm-rr's series exports.
 */
#include "kvmrr/guest-abi.h"

const struct kvmrr_memory_layout kvmrr_memory_layout = {
	.version = KVMRR_MEMORY_LAYOUT_VERSION,
	.struct_page_size = 64,
	.mapping_flags = 0x50,
	.mapping_user_writable = 9,
};

int main(void) { return 0; }
