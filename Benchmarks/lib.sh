# Helpers the benchmark scripts share: timing, keeping the best time, formatting.
# Source it; it defines the associative array `best` (name → nanoseconds).

declare -A best

# now: the clock in nanoseconds.
now() { date +%s%N; }

# record NAME NANOSECONDS: keep the fastest time seen for NAME.
record() {
    if [ -z "${best[$1]:-}" ] || [ "$2" -lt "${best[$1]}" ]; then best[$1]=$2; fi
}

# seconds NANOSECONDS: "0.123".
seconds() { awk -v ns="$1" 'BEGIN { printf "%.3f", ns / 1e9 }'; }

# ratio A B: "1.23x".
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

# build_stowage REPO: builds the release binary as it would be installed, one static
# executable (no shared library to load or relocate: a command starts in about 3 ms instead
# of 7) and prints its path. $STOWAGE, when set, is used instead.
build_stowage() {
    if [ -n "${STOWAGE:-}" ]; then echo "$STOWAGE"; return; fi
    echo "== building stowage (release, static executable)" >&2
    swift build -c release --static-swift-stdlib -Xswiftc -static-executable --package-path "$1" --product stowage \
        --scratch-path "$1/.build-release" 2>&1 | grep -v "warning: Using '.*' in statically linked" | tail -n 1 >&2
    echo "$1/.build-release/release/stowage"
}

# remove_scratch DIR PREFIX: unmounts everything under DIR (deepest first), then removes DIR
# if it still starts with PREFIX and no mount is left under it; with KEEP_SCRATCH set, keeps it.
remove_scratch() {
    local dir="$1" prefix="$2"
    awk -v root="$dir/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r mountpoint; do umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint" 2>/dev/null; done
    if [ -n "${KEEP_SCRATCH:-}" ]; then echo "kept $dir" >&2; return; fi
    case "$dir" in
        "$prefix"?*)
            if awk -v root="$dir/" 'index($2, root) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
                echo "mounts remain under $dir; not removing it" >&2
            else
                rm -rf --one-file-system -- "$dir"
            fi ;;
    esac
}
