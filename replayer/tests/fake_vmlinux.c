/*
 * A stand-in for the guest kernel in the replayer's unit tests: an ELF with a build-id and
 * the guest recorder's hook functions, which the Replayer finds by symbol.
 */
void kvmrr_tsc(void) {}
void kvmrr_user_read(void) {}
void kvmrr_user_value(void) {}
void kvmrr_log_user_entry(void) {}
void kvmrr_yield_point(void) {}
int main(void) { return 0; }
