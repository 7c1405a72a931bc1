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
  printf '/include/kvmrr/\n/include/uapi/linux/kvmrr.h\n/include/uapi/linux/kvmrr-checkpoint.h\n/build/\n/build-*/\n' >>"$dir/.git/info/exclude"
}

# apply_series TREE SERIES_DIR: reset TREE to its base and apply the series as commits.
# reset --hard rewrites only files that differ, so untouched files keep their mtimes and the
# following build is incremental.
apply_series() {
  local tree=$1 dir=$2 p f
  git -C "$tree" am --abort >/dev/null 2>&1 || true
  # Remember the files the previous series touched, with their content and mtime: a file
  # the new series leaves with the same content gets its old mtime back, so make and ninja
  # rebuild only what really changed (our patches touch headers everything includes).
  local old_head; old_head=$(git -C "$tree" rev-parse HEAD)
  local -A old_mtime=()
  while IFS= read -r f; do
    [ -n "$f" ] && [ -f "$tree/$f" ] && old_mtime[$f]=$(stat -c %Y "$tree/$f")
  done < <(git -C "$tree" diff --name-only base "$old_head")
  git -C "$tree" reset -q --hard base
  for p in $(series_files "$dir"); do
    git -C "$tree" am -q --keep-cr --committer-date-is-author-date "$p" ||
      { git -C "$tree" am --abort >/dev/null 2>&1; die "patch ${p#"$REPO_ROOT"/} does not apply to $tree"; }
  done
  for f in "${!old_mtime[@]}"; do
    [ -f "$tree/$f" ] || continue
    if [ "$(git -C "$tree" rev-parse -q "$old_head:$f" 2>/dev/null)" = "$(git -C "$tree" rev-parse -q "HEAD:$f" 2>/dev/null)" ]; then
      touch -d "@${old_mtime[$f]}" "$tree/$f"
    fi
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

# publish_build OUT TREE VERSION LABEL: moves the staged OUT.tmp to OUT, with the patches
# (TREE's commits since base) and source version it was built from.
publish_build() {
  local out=$1 tree=$2 version=$3 label=$4
  git -C "$tree" log --format='%h %s' base..HEAD >"$out.tmp/patches.txt"
  echo "$version" >"$out.tmp/version"
  rm -rf "$out" && mv "$out.tmp" "$out"
  say "$label built: $out"
}

# link_output OUT LINK: points LINK (in build/) at a cached build.
link_output() {
  mkdir -p "$(dirname "$2")"
  ln -sfn "$1" "$2"
}

# fail_on_warnings_in_series TREE LOG SERIES_NAME GLOB...: the build log LOG has a compiler
# warning in a file TREE's commits since base touch (matching GLOB): fail, naming them.
# Those objects are built now: they are touched, or the next build would compile nothing,
# see no warning and publish.
fail_on_warnings_in_series() {
  local tree=$1 log=$2 name=$3 touched
  shift 3
  touched=$(git -C "$tree" diff --name-only base HEAD -- "$@" | tr '\n' '|')
  touched=${touched%|}
  [ -n "$touched" ] || return 0
  grep -E "^\.\./($touched):[0-9]+:[0-9]+: warning:" "$log" || return 0
  grep -oE "^\.\./($touched):" "$log" | sed 's|^\.\./||; s|:$||' | sort -u |
    while read -r f; do touch "$tree/$f"; done
  die "warnings in files $name touches (above); fix them"
}

# The series check builds in a clone of the source tree, beside the cached build's: its
# step-by-step builds never touch what make publishes. compile_tree then works on the clone.
check_tree() {
  [ -d "$TREE/.git" ] || make_tree "$TREE" >&2
  local clone=$TREE-series-check
  [ -d "$clone/.git" ] || git clone -q "$TREE" "$clone"
  git -C "$clone" fetch -q --tags "$TREE" >/dev/null 2>&1 || true
  TREE=$clone
  echo "$clone"
}

# check_series TREE PATCH_DIR: applies the series to TREE one patch at a time and builds
# after each (compile_tree, incremental): every patch must build, without warnings in the
# files the series touches so far. Leaves TREE with the whole series applied and built,
# as a build would.
check_series() {
  local tree=$1 dir=$2 p n=0 total
  total=$(series_files "$dir" | wc -l)
  git -C "$tree" am --abort >/dev/null 2>&1 || true
  git -C "$tree" reset -q --hard base
  install_headers "$tree"
  for p in $(series_files "$dir"); do
    n=$((n + 1))
    git -C "$tree" am -q --keep-cr --committer-date-is-author-date "$p" ||
      { git -C "$tree" am --abort >/dev/null 2>&1; die "patch $n/$total ${p##*/} does not apply"; }
    say "patch $n/$total: ${p##*/}"
    ( compile_tree ) || die "patch $n/$total ${p##*/} does not build on the ones before it (log above)"
  done
  say "all $total patches build in order"
}

# series_cli LABEL VERSION PATCH_DIR SUBCOMMAND ARGS...: the subcommands both source builds
# share. The caller defines build OUT_LINK, make_tree DIR, install_headers DIR, TREE, and
# for check, compile_tree (check_tree above makes the clone it runs in).
series_cli() {
  local label=$1 version=$2 patch_dir=$3 dir
  shift 3
  case "${1:-}" in
    build) build "${2:?output link}" ;;
    tree)
      dir=${2:?directory}
      [ -e "$dir" ] && die "$dir exists; remove it or pick another directory"
      make_tree "$dir"
      apply_series "$dir" "$patch_dir"
      install_headers "$dir"
      say "$dir: $label $version with $(git -C "$dir" rev-list --count base..HEAD) patch(es) as commits; edit, commit, then export"
      ;;
    export) export_series "${2:?directory}" "$patch_dir" ;;
    check)
      check_tree >/dev/null  # sets TREE to the clone for compile_tree
      check_series "$TREE" "$patch_dir"
      ;;
    *) echo "usage: $0 build OUT_LINK | tree DIR | export DIR | check" >&2; exit 2 ;;
  esac
}
