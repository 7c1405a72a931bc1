# Helpers for the benchmark drivers. Sourced.

# timed CMD: a guest command that runs CMD and prints "BENCH seconds", measured with the
# guest's own clock (/proc/uptime, 10 ms).
timed() {
  printf 's=$(cut -d" " -f1 /proc/uptime); %s; e=$(cut -d" " -f1 /proc/uptime); echo "BENCH $(echo "$e - $s" | bc)"' "$1"
}

# median: the median of the numbers on stdin, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# med: the median of the space-separated numbers on stdin.
med() { tr ' ' '\n' | grep . | median; }

# per_vcpu_workloads DD_BLOCKS: guest shell functions for multi-core benches. n = vCPUs;
# t CMD... prints CMD's guest-clock seconds (/proc/uptime); kern runs one 1-byte dd of
# DD_BLOCKS blocks per vCPU (kernel time); user one busybox awk loop per vCPU (user time).
per_vcpu_workloads() {
  printf '%s\n' 'n=$(nproc); t() { s=$(cut -d" " -f1 /proc/uptime); "$@"; e=$(cut -d" " -f1 /proc/uptime); echo "$e - $s" | bc; };' \
    "kern() { i=0; while [ \$i -lt \$n ]; do dd if=/dev/zero of=/dev/null bs=1 count=$1 2>/dev/null & i=\$((i+1)); done; wait; };" \
    'user() { i=0; while [ $i -lt $n ]; do awk "BEGIN{for(i=0;i<300000;i++)s+=i}" & i=$((i+1)); done; wait; };'
}

# machine_line: where a report's numbers come from.
machine_line() {
  echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)."
}

# marked CMD [NAME]: a guest command that prints markers around CMD on the console, so the
# host (or L1) can time the workload phase by the arrival of the two lines (phase_seconds);
# NAME, when given, follows each marker, to tell several phases of one run apart.
marked() {
  printf 'echo KVMRR-BENCH-START%s; %s; echo KVMRR-BENCH-END%s' "${2:+ $2}" "$1" "${2:+ $2}"
}

# phase_seconds: reads a run's console on stdin; prints the seconds between the markers
# (by this machine's clock) or nothing when they did not both come.
phase_seconds() {
  local line s="" e=""
  while IFS= read -r line; do
    case $line in
      *KVMRR-BENCH-START*) s=$(date +%s.%N) ;;
      *KVMRR-BENCH-END*) e=$(date +%s.%N) ;;
    esac
  done
  [ -n "$s" ] && [ -n "$e" ] && echo "$e - $s" | bc
}

# The schemes table (bench/schemes.sh, bench/all.sh): header, then one row per TSV line
# "accel scheme base_s record_s replay_s events log_bytes raw_log_bytes" ("-": not measured).
scheme_table_header() {
  echo "| workload | accel | scheme | workload s | slowdown | replay s | replay / record | events | events/s | log MiB | log KiB/s | log B/event | raw log MiB | raw B/event |"
  echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
}
scheme_table_rows() {
  awk -v w="$1" '
    function num(x) { return x != "-" }
    {
      acc = $1; s = $2; b = $3; r = $4; p = $5; e = $6; l = $7; raw = $8
      slow = (num(r) && b > 0) ? sprintf("%.2fx", r / b) : "-"
      rep = num(p) ? sprintf("%.2f", p) : "-"
      rr = (num(p) && r > 0) ? sprintf("%.2fx", p / r) : "-"
      ev = num(e) ? e : "-"
      evs = (num(e) && r > 0) ? sprintf("%.0f", e / r) : "-"
      lm = num(l) ? sprintf("%.1f", l / 1048576) : "-"
      lks = (num(l) && r > 0) ? sprintf("%.0f", l / 1024 / r) : "-"
      lbe = (num(l) && num(e) && e > 0) ? sprintf("%.1f", l / e) : "-"
      rm = num(raw) ? sprintf("%.1f", raw / 1048576) : "-"
      rbe = (num(raw) && num(e) && e > 0) ? sprintf("%.1f", raw / e) : "-"
      printf "| %s | %s | %s | %.2f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", w, acc, s, r, slow, rep, rr, ev, evs, lm, lks, lbe, rm, rbe
    }'
}

# earlier_runs REPORT: what a report already holds below its title (its earlier runs), read
# before it is rewritten; empty when there is none.
earlier_runs() {
  [ -f "$1" ] || return 0
  tail -n +2 "$1" | grep -vx "# Earlier runs" || true
}

# print_earlier_runs TEXT: TEXT (from earlier_runs) under "# Earlier runs", each run's
# heading one level down; nothing when TEXT is empty.
print_earlier_runs() {
  [ -n "$1" ] || return 0
  echo
  echo "# Earlier runs"
  echo "$1" | sed 's/^## /### /'
}
