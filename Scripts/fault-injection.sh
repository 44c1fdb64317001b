#!/usr/bin/env bash
# Fault injection: for each command that changes a data root, fails its Nth call of a system
# call (strace -e inject: an errno, or SIGKILL), for N = 1, 2, … until the command makes fewer
# calls; then a read must work, `stowage check` must be clean, and the root must be as a clean
# run leaves it: at once when the command succeeded (or had finished), after redoing it when it
# failed. As root, after `swift build`.
#
#   Scripts/fault-injection.sh                 every point (long)
#   SAMPLE=1 Scripts/fault-injection.sh        the sample CI runs
# Options (environment): STOWAGE (binary), DRIVERS, COMMANDS, FAULTS, POINTS (space-separated).
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stowage=${STOWAGE:-$repo/.build/debug/stowage}
fixtures=$repo/Tests/Fixtures/docker
if [[ ${SAMPLE:-0} == 1 ]]; then
    drivers=${DRIVERS:-"vfs overlay2"}
    commands=${COMMANDS:-"load rmi rmi-forced prune create rm rm-orphaned commit rename import volume-create volume-rm cp"}
    faults=${FAULTS:-"fsync:error=EIO write:error=ENOSPC mkdir:error=EACCES renameat2:signal=KILL unlinkat:signal=KILL"}
    points=${POINTS:-"1 2 4"}
else
    drivers=${DRIVERS:-"vfs overlay2"}
    commands=${COMMANDS:-"load rmi rmi-forced prune create rm rm-orphaned commit rename import volume-create volume-rm cp"}
    faults=${FAULTS:-"fsync:error=EIO fdatasync:error=EIO sync_file_range:error=EIO syncfs:error=EIO write:error=ENOSPC write:error=EIO mkdir:error=ENOSPC mkdirat:error=ENOSPC openat:error=EACCES renameat2:error=EIO unlinkat:error=EIO symlink:error=ENOSPC fsync:signal=KILL renameat2:signal=KILL write:signal=KILL unlinkat:signal=KILL mkdir:signal=KILL"}
    points=${POINTS:-"$(seq -s ' ' 1 60)"}
fi
command -v strace >/dev/null || { echo "strace is missing (apt-get install -y strace)" >&2; exit 2; }

scratch=$(mktemp -d /tmp/stowage-faults.XXXXXX)
cleanup_root() {
    local root=$1
    grep -o " $root[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf "$root"
}
trap 'for r in "$scratch"/*; do cleanup_root "$r"; done; rm -rf "$scratch"' EXIT
# A root filesystem tarball for `import`: the base fixture's layer.
rootfs=$scratch/rootfs.tar
tar -xOf "$fixtures/base.tar" --wildcards '*/layer.tar' > "$rootfs"
# A tree of files for `cp` into a container.
tree=$scratch/tree; mkdir -p "$tree" && tar -xf "$rootfs" -C "$tree"

s() { "$stowage" --data-root "$root" --storage-driver "$driver" "$@"; }

# What each command needs before it, and the command itself.
setup() {
    case $1 in
        load) s load -q -i "$fixtures/whiteout.tar" ;;
        rmi) s load -q -i "$fixtures/whiteout.tar" && s load -q -i "$fixtures/links.tar" ;;
        prune) s load -q -i "$fixtures/whiteout.tar" && s load -q -i "$fixtures/links.tar" && s rmi fixture/whiteout ;;
        create) s load -q -i "$fixtures/links.tar" ;;
        rm|commit) s load -q -i "$fixtures/links.tar" && s create --name c1 -v data:/etc fixture/links /bin/true >/dev/null &&
                   s mount c1 >/dev/null && echo changed > "$(s mount c1)/new-file" && s unmount -f c1 >/dev/null ;;
        rmi-forced) s load -q -i "$fixtures/whiteout.tar" && s load -q -i "$fixtures/links.tar" && s create --name c1 fixture/links >/dev/null ;;
        rm-orphaned) setup rmi-forced && s rmi -f fixture/links ;;
        rename) s load -q -i "$fixtures/links.tar" && s create --name c1 fixture/links >/dev/null ;;
        cp) s load -q -i "$fixtures/links.tar" && s create --name c1 -v data:/data fixture/links >/dev/null &&
            s ps -a -s >/dev/null ;;  # a size recorded as exact, which the copy must make stale
        import|volume-create) s load -q -i "$fixtures/whiteout.tar" ;;
        volume-rm) s load -q -i "$fixtures/links.tar" && s volume create v1 >/dev/null &&
                   s create --name c1 -v v1:/etc fixture/links /bin/true >/dev/null && s rm c1 ;;
    esac
}
# The command's arguments (one stowage run, so that only its own calls are counted).
arguments() {
    case $1 in
        load) echo load -q -i "$fixtures/links.tar" ;;
        rmi) echo rmi fixture/links ;;
        rmi-forced) echo rmi -f fixture/links ;;
        rm-orphaned) echo rm c1 ;;
        rename) echo rename c1 c2 ;;
        cp) echo cp "$tree/." c1:/tmp ;;  # an existing directory: a copy redone is the same
        import) echo import -m imported "$rootfs" imported:1 ;;
        volume-create) echo volume create --label a=b -o type=tmpfs -o device=tmpfs -o o=size=1m v2 ;;
        prune) echo image prune -a -f ;;
        create) echo create --name c1 -v data:/etc fixture/links /bin/true ;;
        rm) echo rm -v c1 ;;
        commit) echo commit c1 result:1 ;;
        volume-rm) echo volume rm v1 ;;
    esac
}
run() { s $(arguments "$1"); }
# The state compared with a clean run's (IDs of commits differ by their time: names only).
state() {
    s images -a --format '{{.Repository}}:{{.Tag}}' | sed 's/^<none>:<none>$/(nameless image)/' | sort
    s ps -a --format '{{.Names}}' | sort
    s volume ls -q | sort
    echo "layers $(ls "$root/image/$driver/layerdb/sha256" | wc -l)"
    if [[ $command == cp ]]; then s diff c1; s ps -a -s --format '{{.Names}} {{.Size}}'; fi
}

cases=0 failures=0
for driver in $drivers; do
    for command in $commands; do
        root=$scratch/clean; mkdir -p "$root"
        setup "$command" >/dev/null || { echo "setup of $command failed on $driver" >&2; exit 1; }
        run "$command" >/dev/null 2>&1
        expected=$(state)
        cleanup_root "$root"
        for fault in $faults; do
            syscall=${fault%%:*}
            points_run=0
            for n in $points; do
                root=$scratch/root; mkdir -p "$root"
                setup "$command" >/dev/null
                log=$scratch/strace.log
                # (the braces keep bash's "Killed" notice off the terminal)
                { strace -f -qq -o "$log" -e trace="$syscall" -e inject="$fault:when=$n" \
                    "$stowage" --data-root "$root" --storage-driver "$driver" $(arguments "$command") \
                    >/dev/null 2>"$scratch/stderr"; status=$?; } 2>/dev/null
                if ! grep -q -e INJECTED -e 'killed by SIGKILL' "$log"; then cleanup_root "$root"; break; fi
                cases=$((cases + 1)); points_run=$((points_run + 1))
                problem=""
                s images >/dev/null 2>"$scratch/read" || problem="images failed: $(cat "$scratch/read")"
                if [[ -z $problem ]]; then
                    report=$(s check 2>&1) || problem="check: $report"
                fi
                if [[ -z $problem ]]; then
                    # A run that succeeded despite the fault must have done all of it; one that
                    # failed is redone unless it had finished (killed while printing its result):
                    # running `import` or `commit` twice makes two images.
                    actual=$(state)
                    if [[ $status != 0 && $actual != "$expected" ]]; then
                        run "$command" >/dev/null 2>&1
                        actual=$(state)
                    fi
                    [[ $actual == "$expected" ]] || problem="redone, the root differs from a clean run: $(diff <(echo "$expected") <(echo "$actual") | tr '\n' ' ')"
                fi
                if [[ -n $problem ]]; then
                    failures=$((failures + 1))
                    echo "FAIL $driver $command $fault when=$n (exit $status: $(head -c 300 "$scratch/stderr")): $problem"
                fi
                cleanup_root "$root"
            done
            echo "$driver $command $fault: $points_run points"
        done
    done
done
echo "fault injection: $((cases - failures)) passed, $failures failed"
[[ $failures == 0 ]]
