# Sourced (tests/e2e/lib.sh, bench/soak.sh). The multi-core acceptance workload (issue 5):
# stress-ng with 6 stressors of 4 workers, fio with 2 jobs (direct I/O on the virtio-blk
# root) and kvm-rr-pingpong (thread pairs handing a token over by futex, then by pipe); it
# ends saying SMP-DONE and the guest's CPU count.
SMP_WORKLOAD='stress-ng --fork 4 --pipe 4 --futex 4 --mmap 4 --timer 4 --sigq 4 --timeout 2 --quiet &&
fio --name=j --filename=/root/f --size=8M --rw=randrw --bs=4k --direct=1 --numjobs=2 --runtime=2 --time_based --output-format=terse >/dev/null &&
kvm-rr-pingpong 2 2000 && echo SMP-DONE $(nproc)'
