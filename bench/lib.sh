# Helpers for the benchmark drivers. Sourced.

# timed CMD: a guest command that runs CMD and prints "BENCH seconds", measured with the
# guest's own clock (/proc/uptime, 10 ms).
timed() {
  printf 's=$(cut -d" " -f1 /proc/uptime); %s; e=$(cut -d" " -f1 /proc/uptime); echo "BENCH $(echo "$e - $s" | bc)"' "$1"
}

# median: the median of the numbers on stdin, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# machine_line: where a report's numbers come from.
machine_line() {
  echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)."
}
