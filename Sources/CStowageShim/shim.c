#define _GNU_SOURCE
#include "stowage_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static int stowage_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve) {
    struct open_how how = {0};
    how.flags = (uint64_t)flags | O_CLOEXEC;
    how.mode = ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? mode : 0;
    how.resolve = resolve;
    int fd;
    do {
        fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
    return fd;
}

int stowage_open_in_root(int rootfd, const char *path, int flags, mode_t mode) {
    return stowage_openat2(rootfd, path, flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

int stowage_open_beneath_nofollow(int dirfd, const char *path, int flags, mode_t mode) {
    return stowage_openat2(dirfd, path, flags, mode, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

int stowage_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

ssize_t stowage_lgetxattr(const char *path, const char *name, void *value, size_t size) { return lgetxattr(path, name, value, size); }
ssize_t stowage_llistxattr(const char *path, char *list, size_t size) { return llistxattr(path, list, size); }
int stowage_lsetxattr(const char *path, const char *name, const void *value, size_t size) { return lsetxattr(path, name, value, size, 0); }
ssize_t stowage_fgetxattr(int fd, const char *name, void *value, size_t size) { return fgetxattr(fd, name, value, size); }
ssize_t stowage_flistxattr(int fd, char *list, size_t size) { return flistxattr(fd, list, size); }
int stowage_fsetxattr(int fd, const char *name, const void *value, size_t size) { return fsetxattr(fd, name, value, size, 0); }
int stowage_setxattr(const char *path, const char *name, const void *value, size_t size) { return setxattr(path, name, value, size, 0); }
ssize_t stowage_getxattr(const char *path, const char *name, void *value, size_t size) { return getxattr(path, name, value, size); }
ssize_t stowage_listxattr(const char *path, char *list, size_t size) { return listxattr(path, list, size); }

int stowage_fstatfs_type(int fd, int64_t *type) {
    struct statfs st;
    if (fstatfs(fd, &st) != 0) return -1;
    *type = (int64_t)st.f_type;
    return 0;
}

ssize_t stowage_copy_file_range(int fd_in, int fd_out, size_t len) {
    return copy_file_range(fd_in, NULL, fd_out, NULL, len, 0);
}

int stowage_ficlone(int dest_fd, int src_fd) { return ioctl(dest_fd, FICLONE, src_fd); }

int stowage_mknodat(int dirfd, const char *path, mode_t mode, unsigned int major, unsigned int minor) {
    return mknodat(dirfd, path, mode, makedev(major, minor));
}
unsigned int stowage_major(uint64_t dev) { return major(dev); }
unsigned int stowage_minor(uint64_t dev) { return minor(dev); }

int stowage_fchown_empty_path(int fd, uid_t uid, gid_t gid) {
    return fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
}

int stowage_utimensat_nofollow(int dirfd, const char *path, int64_t atime_sec, int64_t atime_nsec, int64_t mtime_sec, int64_t mtime_nsec) {
    struct timespec ts[2];
    ts[0].tv_sec = (time_t)atime_sec; ts[0].tv_nsec = (long)atime_nsec;
    ts[1].tv_sec = (time_t)mtime_sec; ts[1].tv_nsec = (long)mtime_nsec;
    return utimensat(dirfd, path, ts, AT_SYMLINK_NOFOLLOW);
}

/* CRC-64/ISO, reflected (poly 0xD800000000000000), slicing-by-8. */
static uint64_t crc64_table[8][256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init(void) {
    const uint64_t poly = 0xD800000000000000ULL;
    for (int i = 0; i < 256; i++) {
        uint64_t crc = (uint64_t)i;
        for (int j = 0; j < 8; j++) crc = (crc & 1) ? (crc >> 1) ^ poly : (crc >> 1);
        crc64_table[0][i] = crc;
    }
    for (int i = 0; i < 256; i++) {
        uint64_t crc = crc64_table[0][i];
        for (int k = 1; k < 8; k++) {
            crc = crc64_table[0][crc & 0xff] ^ (crc >> 8);
            crc64_table[k][i] = crc;
        }
    }
}

uint64_t stowage_crc64_iso_update(uint64_t crc, const void *data, size_t len) {
    pthread_once(&crc64_once, crc64_init);
    const unsigned char *p = (const unsigned char *)data;
    crc = ~crc;
    while (len >= 8) {
        uint64_t v;
        __builtin_memcpy(&v, p, 8);
        crc ^= v; /* little-endian host */
        crc = crc64_table[7][crc & 0xff] ^ crc64_table[6][(crc >> 8) & 0xff] ^
              crc64_table[5][(crc >> 16) & 0xff] ^ crc64_table[4][(crc >> 24) & 0xff] ^
              crc64_table[3][(crc >> 32) & 0xff] ^ crc64_table[2][(crc >> 40) & 0xff] ^
              crc64_table[1][(crc >> 48) & 0xff] ^ crc64_table[0][crc >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) crc = crc64_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

int stowage_syncfs(int fd) { return syncfs(fd); }

// Starts writing a file's dirty pages back without waiting, so that a later syncfs finds little left to do.
int stowage_start_writeback(int fd) { return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE); }

#include <sys/mount.h>
#include <sys/wait.h>

int stowage_mount(const char *source, const char *target, const char *type, unsigned long flags, const char *data) {
    return mount(source, target, type, flags, data);
}

int stowage_umount(const char *target, int flags) { return umount2(target, flags); }

int stowage_mount_overlay_from(const char *directory, const char *target, const char *options) {
    pid_t child = fork();
    if (child < 0) return errno;
    if (child == 0) {
        // Only async-signal-safe calls here: the parent may be multithreaded.
        if (chdir(directory) != 0) _exit(errno & 0xff);
        if (mount("overlay", target, "overlay", 0, options) != 0) _exit(errno & 0xff);
        _exit(0);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) return errno;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return EINTR;
}

#include <string.h>
#include <linux/dqblk_xfs.h>
#include <sys/quota.h>

int stowage_get_project(int fd, unsigned int *project) {
    struct fsxattr attributes;
    if (ioctl(fd, FS_IOC_FSGETXATTR, &attributes) != 0) return -1;
    *project = attributes.fsx_projid;
    return 0;
}

int stowage_set_project(int fd, unsigned int project) {
    struct fsxattr attributes;
    if (ioctl(fd, FS_IOC_FSGETXATTR, &attributes) != 0) return -1;
    attributes.fsx_projid = project;
    attributes.fsx_xflags |= FS_XFLAG_PROJINHERIT;
    return ioctl(fd, FS_IOC_FSSETXATTR, &attributes);
}

int stowage_set_project_limit(const char *device, unsigned int project, unsigned long long bytes) {
    struct fs_disk_quota quota;
    memset(&quota, 0, sizeof quota);
    quota.d_version = FS_DQUOT_VERSION;
    quota.d_id = project;
    quota.d_flags = FS_PROJ_QUOTA;
    quota.d_fieldmask = FS_DQ_BHARD | FS_DQ_BSOFT;
    quota.d_blk_hardlimit = bytes / 512;
    quota.d_blk_softlimit = bytes / 512;
    return quotactl(QCMD(Q_XSETQLIM, PRJQUOTA), device, project, (caddr_t)&quota);
}

int stowage_spawn_actions_closefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int stowage_format_significant(char *buffer, unsigned long size, int precision, double value) {
    return snprintf(buffer, size, "%.*g", precision, value);
}
