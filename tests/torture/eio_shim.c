/*
 * eio_shim.c - an LD_PRELOAD library that makes fsync, fdatasync, pwrite and
 * pread fail on chosen files, so the fault suite (tests/torture/eio.sh) can
 * give the running daemon a disk that fails and then heals.
 *
 *   EIO_SHIM_MATCH    a substring of the file's path (/proc/self/fd/N); unset:
 *                     nothing fails
 *   EIO_SHIM_OPS      comma list of fsync,fdatasync,pwrite,pread (default all;
 *                     pwrite and pread include their 64-bit names)
 *   EIO_SHIM_AFTER    fail every matching call after the first N
 *   EIO_SHIM_CONTROL  a path: fail matching calls while that file exists
 *   EIO_SHIM_ERRNO    EIO (default) or ENOSPC
 *   EIO_SHIM_COUNT    a path: the number of calls failed so far is written there
 *
 * With neither AFTER nor CONTROL set, every matching call fails.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

enum op { OP_FSYNC = 1, OP_FDATASYNC = 2, OP_PWRITE = 4, OP_PREAD = 8 };

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *match;
static const char *control;
static unsigned ops = OP_FSYNC | OP_FDATASYNC | OP_PWRITE | OP_PREAD;
static long after = -1;
static int fail_errno = EIO;
static int count_fd = -1;
static atomic_long calls;
static atomic_long failed;

static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pread64)(int, void *, size_t, off_t);

static void shim_init(void)
{
	const char *s;

	real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	real_pwrite = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
	real_pwrite64 = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
	real_pread = (ssize_t(*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread");
	real_pread64 = (ssize_t(*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread64");
	match = getenv("EIO_SHIM_MATCH");
	if (match && !*match)
		match = NULL;
	control = getenv("EIO_SHIM_CONTROL");
	if (control && !*control)
		control = NULL;
	s = getenv("EIO_SHIM_AFTER");
	if (s && *s)
		after = strtol(s, NULL, 10);
	s = getenv("EIO_SHIM_OPS");
	if (s && *s) {
		ops = 0;
		if (strstr(s, "fsync")) /* not a substring of "fdatasync" */
			ops |= OP_FSYNC;
		if (strstr(s, "fdatasync"))
			ops |= OP_FDATASYNC;
		if (strstr(s, "pwrite"))
			ops |= OP_PWRITE;
		if (strstr(s, "pread"))
			ops |= OP_PREAD;
	}
	s = getenv("EIO_SHIM_ERRNO");
	if (s && strcmp(s, "ENOSPC") == 0)
		fail_errno = ENOSPC;
	s = getenv("EIO_SHIM_COUNT");
	if (s && *s)
		count_fd = open(s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

/* Whether this call on fd fails; errno is set when it does. */
static int shim_fails(int fd, enum op op)
{
	char link[64], path[4096];
	ssize_t n;
	long c, f;

	pthread_once(&once, shim_init);
	if (!match || !(ops & op))
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	if (!strstr(path, match))
		return 0;
	c = atomic_fetch_add(&calls, 1) + 1;
	if (after >= 0 && c <= after)
		return 0;
	if (control && access(control, F_OK) != 0)
		return 0;
	f = atomic_fetch_add(&failed, 1) + 1;
	if (count_fd >= 0) {
		char buf[32];
		int len = snprintf(buf, sizeof(buf), "%ld\n", f);

		if (real_pwrite && len > 0)
			(void)real_pwrite(count_fd, buf, (size_t)len, 0);
	}
	errno = fail_errno;
	return 1;
}

int fsync(int fd)
{
	if (shim_fails(fd, OP_FSYNC))
		return -1;
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	if (shim_fails(fd, OP_FDATASYNC))
		return -1;
	return real_fdatasync(fd);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (shim_fails(fd, OP_PWRITE))
		return -1;
	return real_pwrite(fd, buf, len, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	if (shim_fails(fd, OP_PWRITE))
		return -1;
	return real_pwrite64(fd, buf, len, off);
}

ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	if (shim_fails(fd, OP_PREAD))
		return -1;
	return real_pread(fd, buf, len, off);
}

ssize_t pread64(int fd, void *buf, size_t len, off_t off)
{
	if (shim_fails(fd, OP_PREAD))
		return -1;
	return real_pread64(fd, buf, len, off);
}
