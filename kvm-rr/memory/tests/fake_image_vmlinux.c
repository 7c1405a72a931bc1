/* A stand-in vmlinux for the memory digests' tests: its image bounds come from --defsym. */
int main(void) { return 0; }
