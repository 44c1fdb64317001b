#ifndef STOWAGE_SHIM_H
#define STOWAGE_SHIM_H

#include <spawn.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

/* Syscalls that Swift's Glibc module does not expose. Every symbol is prefixed. */

/* openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: `path` is resolved as if
   `rootfd` were the root directory, so neither `..` nor symlinks can leave it. */
int stowage_open_in_root(int rootfd, const char *path, int flags, mode_t mode);

/* openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS. */
int stowage_open_beneath_nofollow(int dirfd, const char *path, int flags, mode_t mode);

/* renameat2(2); flags as RENAME_NOREPLACE (1), RENAME_EXCHANGE (2). */
int stowage_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);

/* Extended attributes, never following a final symlink (l*) or on a descriptor (f*). */
ssize_t stowage_lgetxattr(const char *path, const char *name, void *value, size_t size);
ssize_t stowage_llistxattr(const char *path, char *list, size_t size);
int stowage_lsetxattr(const char *path, const char *name, const void *value, size_t size);
ssize_t stowage_fgetxattr(int fd, const char *name, void *value, size_t size);
ssize_t stowage_flistxattr(int fd, char *list, size_t size);
int stowage_fsetxattr(int fd, const char *name, const void *value, size_t size);
/* setxattr(2) that follows: used on /proc/self/fd/N of an O_PATH descriptor. */
int stowage_setxattr(const char *path, const char *name, const void *value, size_t size);
ssize_t stowage_getxattr(const char *path, const char *name, void *value, size_t size);
ssize_t stowage_listxattr(const char *path, char *list, size_t size);

/* statfs(2): the filesystem magic of the filesystem holding fd. */
int stowage_fstatfs_type(int fd, int64_t *type);

/* copy_file_range(2) and the FICLONE ioctl (reflink). */
ssize_t stowage_copy_file_range(int fd_in, int fd_out, size_t len);
int stowage_ficlone(int dest_fd, int src_fd);

/* mknodat(2) with a major/minor pair. */
int stowage_mknodat(int dirfd, const char *path, mode_t mode, unsigned int major, unsigned int minor);
unsigned int stowage_major(uint64_t dev);
unsigned int stowage_minor(uint64_t dev);

/* fchownat(fd, "", uid, gid, AT_EMPTY_PATH): works on O_PATH descriptors, symlinks included. */
int stowage_fchown_empty_path(int fd, uid_t uid, gid_t gid);

/* utimensat with nanosecond atime/mtime, not following a final symlink. */
int stowage_utimensat_nofollow(int dirfd, const char *path, int64_t atime_sec, int64_t atime_nsec, int64_t mtime_sec, int64_t mtime_nsec);

/* CRC-64 (ISO polynomial, reflected, as Go's hash/crc64 with crc64.ISO): update `crc`
   (start from 0) with `len` bytes. Slicing-by-8. */
uint64_t stowage_crc64_iso_update(uint64_t crc, const void *data, size_t len);

#endif
int stowage_syncfs(int fd);
int stowage_start_writeback(int fd);

/// posix_spawn_file_actions_addclosefrom_np: the child closes every descriptor from `from` up.
int stowage_spawn_actions_closefrom(posix_spawn_file_actions_t *actions, int from);

/// mount(2) and umount2(2).
int stowage_mount(const char *source, const char *target, const char *type, unsigned long flags, const char *data);
int stowage_umount(const char *target, int flags);

/// Mounts overlayfs on `target` (absolute) with `options` whose lowerdir paths are relative to
/// `directory`: a child process changes into `directory` and mounts, as Docker's mountFrom
/// does, so that the options of deep stacks fit in a page. Returns 0, or the errno.
int stowage_mount_overlay_from(const char *directory, const char *target, const char *options);

/// XFS project quotas: gives the directory `fd` project `project`, inherited by what is
/// created in it; reads a directory's project; sets a project's block limit, in bytes, on the
/// filesystem of block device `device`.
int stowage_set_project(int fd, unsigned int project);
int stowage_get_project(int fd, unsigned int *project);
int stowage_set_project_limit(const char *device, unsigned int project, unsigned long long bytes);

/// printf's `%.*g` of `value` into `buffer` (as Go's `%.<precision>g` prints it for the
/// values human-readable sizes take): a plain call where Swift could only reach printf
/// through a boxed argument list.
int stowage_format_significant(char *buffer, unsigned long size, int precision, double value);
