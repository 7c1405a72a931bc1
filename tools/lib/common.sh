# Shared helpers for kvm-rr's build scripts. Sourced, not run.
# KVMRR_CACHE holds everything big we build or fetch (QEMU, kernel, guest image), outside the
# repository, keyed by what went into each build so two checkouts never fight over a tree.
: "${KVMRR_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/kvm-rr}"
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
JOBS=${JOBS:-$(nproc)}

say() { printf '%s: %s\n' "${0##*/}" "$*"; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# hash_of FILE...: one short digest over the named files' contents and names.
hash_of() {
  local f
  for f in "$@"; do printf '%s\n' "${f#"$REPO_ROOT"/}"; cat "$f"; done | sha256sum | cut -c1-16
}

# series_files DIR: the patch files a series names, in order (comments and blanks skipped).
series_files() {
  local dir=$1 line
  [ -f "$dir/series" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%%#*}; line=$(echo "$line" | xargs)
    [ -n "$line" ] || continue
    [ -f "$dir/$line" ] || die "$dir/series names $line, which does not exist"
    printf '%s\n' "$dir/$line"
  done <"$dir/series"
}

# with_progress LOG LABEL CMD...: run a long command with its output in LOG, printing a
# heartbeat (elapsed time and the log's last line) every 20 s so a user sees it is alive.
with_progress() {
  local log=$1 label=$2; shift 2
  local start=$SECONDS next=$((SECONDS + 20))
  "$@" >"$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if (( SECONDS >= next )); then
      next=$((SECONDS + 20))
      say "$label: $((SECONDS - start))s ... $(tail -n1 "$log" | cut -c1-90)"
    fi
  done
  if ! wait "$pid"; then
    tail -n 40 "$log" >&2
    die "$label failed after $((SECONDS - start))s (full log: $log)"
  fi
  say "$label: done in $((SECONDS - start))s"
}

# git_tree_init DIR MESSAGE: make DIR a git repository whose first commit (tagged base) is its
# current content, so a patch series can be applied and exported as commits.
git_tree_init() {
  local dir=$1 msg=$2
  git -C "$dir" init -q
  git -C "$dir" config user.name "kvm-rr build"
  git -C "$dir" config user.email "kvm-rr@localhost"
  git -C "$dir" config core.autocrlf false
  git -C "$dir" config gc.auto 0
  git -C "$dir" add -A -f . >/dev/null
  git -C "$dir" commit -q -m "$msg" --no-verify
  git -C "$dir" tag base
  # Files the build drops into the tree (kvm-rr's ABI header) never belong to a patch.
  printf '/include/kvmrr/\n/include/uapi/linux/kvmrr.h\n/build/\n/build-*/\n' >>"$dir/.git/info/exclude"
}

# apply_series TREE SERIES_DIR: reset TREE to its base and apply the series as commits.
# reset --hard rewrites only files that differ, so untouched files keep their mtimes and the
# following build is incremental.
apply_series() {
  local tree=$1 dir=$2 p
  git -C "$tree" am --abort >/dev/null 2>&1 || true
  git -C "$tree" reset -q --hard base
  for p in $(series_files "$dir"); do
    git -C "$tree" am -q --keep-cr --committer-date-is-author-date "$p" ||
      { git -C "$tree" am --abort >/dev/null 2>&1; die "patch ${p#"$REPO_ROOT"/} does not apply to $tree"; }
  done
}

# export_series TREE SERIES_DIR: write TREE's commits since base back into the series.
export_series() {
  local tree=$1 dir=$2 f
  git -C "$tree" rev-parse -q --verify base >/dev/null || die "$tree has no base tag; create it with the apply target"
  mkdir -p "$dir"
  rm -f "$dir"/*.patch
  git -C "$tree" format-patch -q --no-signature --zero-commit --no-numbered -o "$dir" base..HEAD >/dev/null
  : >"$dir/series.new"
  { grep '^#' "$dir/series" 2>/dev/null || true; } >"$dir/series.new"
  for f in "$dir"/*.patch; do
    [ -e "$f" ] || continue
    # format-patch numbers files; drop the number so a reorder does not rename every file.
    local name; name=$(basename "$f" | sed -E 's/^[0-9]{4}-//')
    [ "$(basename "$f")" = "$name" ] || mv "$f" "$dir/$name"
    echo "$name" >>"$dir/series.new"
  done
  mv "$dir/series.new" "$dir/series"
  say "exported $(git -C "$tree" rev-list --count base..HEAD) patch(es) from $tree into ${dir#"$REPO_ROOT"/}"
}
