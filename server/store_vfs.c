/*
 * store_vfs.c - the "waybill" SQLite VFS: the default one, with a WAL
 * file's writes gathered in memory until SQLite syncs it.
 */
#include "common.h"
#include "store_int.h"
#include "buf.h"

/* ---- the log's writes, gathered --------------------------------------- */

/*
 * SQLite writes each WAL frame with two pwrite calls, its header and its
 * page: ~130 system calls for a commit of 65 pages, on the writer's path
 * (perf trace: pwrite64 took more of the writer's time than fdatasync).
 * The "waybill" VFS hands everything to the default one, except that a WAL
 * file's writes are gathered in memory and go out in writes of up to
 * 124 KiB when SQLite syncs the file, or before anything else touches it
 * (a read, its size, a truncation, a file control, closing it): perf trace
 * counted 2.3 pwrite calls a commit instead of ~40 at half load.  Nothing
 * reaches the disk later than before: a commit's frames are written and
 * synced before SQLite publishes them in the WAL index, where other
 * connections look.  That holds because every connection commits with
 * synchronous=FULL, which conn_open() sets and checks (with OFF or NORMAL,
 * SQLite would publish frames without a sync).
 */
#define WALBUF_MAX (4 << 20)
#define WALBUF_FIRST (64 * 1024 - 1) /* the first room: 64 KiB with buf's NUL */

struct walbuf_file {
	sqlite3_file base;
	sqlite3_file *real; /* the default VFS's file, right after this struct */
	struct buf b;	    /* the gathered run, at most WALBUF_MAX bytes */
	sqlite3_int64 off;  /* where b.p[0] goes */
};

static sqlite3_vfs *walbuf_real;

/* The unix VFS takes at most 128 KiB - 1 a write (it masks the count). */
#define WALBUF_CHUNK 0x1f000

static int walbuf_put(struct walbuf_file *f, const unsigned char *p, size_t len, sqlite3_int64 off)
{
	int rc = SQLITE_OK;

	for (size_t at = 0; at < len && rc == SQLITE_OK; at += WALBUF_CHUNK) {
		size_t n = len - at < WALBUF_CHUNK ? len - at : WALBUF_CHUNK;
		rc = f->real->pMethods->xWrite(f->real, p + at, (int)n, off + (sqlite3_int64)at);
	}
	return rc;
}

static int walbuf_flush(struct walbuf_file *f)
{
	int rc = walbuf_put(f, f->b.p, f->b.len, f->off);

	buf_reset(&f->b);
	return rc;
}

/* Bytes the run can still take without growing the buffer. */
static size_t walbuf_room(const struct walbuf_file *f)
{
	return f->b.p ? f->b.cap - 1 - f->b.len : 0;
}

static int walbuf_close(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f), rc2 = f->real->pMethods->xClose(f->real);

	buf_release(&f->b);
	return rc != SQLITE_OK ? rc : rc2;
}

static int walbuf_read(sqlite3_file *file, void *p, int n, sqlite3_int64 off)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, p, n, off);
}

static int walbuf_write(sqlite3_file *file, const void *p, int n, sqlite3_int64 off)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	size_t need = f->b.len + (size_t)n;

	/* Only a write that continues the gathered run joins it. */
	if (n <= 0 || (f->b.len > 0 && off != f->off + (sqlite3_int64)f->b.len) ||
	    need > WALBUF_MAX) {
		int rc = walbuf_flush(f);
		if (rc != SQLITE_OK)
			return rc;
		if (n <= 0)
			return f->real->pMethods->xWrite(f->real, p, n, off);
		if ((size_t)n > WALBUF_MAX)
			return walbuf_put(f, p, (size_t)n, off);
		need = (size_t)n;
	}
	if ((size_t)n > walbuf_room(f)) {
		/*
		 * Grow only an empty buffer: a failed append frees what a buffer
		 * holds (buf.h), and the run must not be lost.  The run goes out
		 * first (earlier than the sync, never later), the buffer grows to
		 * the run it was asked to hold, so the next run that size fits.
		 */
		int rc = walbuf_flush(f);
		if (rc != SQLITE_OK)
			return rc;
		if (!buf_grow(&f->b, need > WALBUF_FIRST ? need : WALBUF_FIRST)) {
			buf_reset(&f->b); /* out of memory: this write goes out alone */
			return walbuf_put(f, p, (size_t)n, off);
		}
		buf_reset(&f->b);
	}
	if (f->b.len == 0)
		f->off = off;
	buf_add(&f->b, p, (size_t)n); /* fits: cannot fail */
	return SQLITE_OK;
}

static int walbuf_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int walbuf_sync(sqlite3_file *file, int flags)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int walbuf_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int walbuf_lock(sqlite3_file *file, int lock)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xLock(f->real, lock);
}

static int walbuf_unlock(sqlite3_file *file, int lock)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xUnlock(f->real, lock);
}

static int walbuf_reserved(sqlite3_file *file, int *out)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int walbuf_fcntl(sqlite3_file *file, int op, void *arg)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int walbuf_sector(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xSectorSize(f->real);
}

static int walbuf_device(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

/* A WAL file has no shared memory and is not memory-mapped: version 1. */
static const sqlite3_io_methods walbuf_methods = {
    1,
    walbuf_close,
    walbuf_read,
    walbuf_write,
    walbuf_truncate,
    walbuf_sync,
    walbuf_size,
    walbuf_lock,
    walbuf_unlock,
    walbuf_reserved,
    walbuf_fcntl,
    walbuf_sector,
    walbuf_device,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

static int walbuf_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
		       int *out_flags)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc;
	UNUSED(vfs);

	/* Any other file is the default VFS's own, in the same memory. */
	if (!(flags & SQLITE_OPEN_WAL))
		return walbuf_real->xOpen(walbuf_real, name, file, flags, out_flags);
	memset(f, 0, sizeof(*f));
	buf_init(&f->b, WALBUF_MAX, false);
	f->real = (sqlite3_file *)(f + 1);
	rc = walbuf_real->xOpen(walbuf_real, name, f->real, flags, out_flags);
	/* Methods only once the real file is open: SQLite closes only such. */
	if (rc == SQLITE_OK && f->real->pMethods)
		f->base.pMethods = &walbuf_methods;
	return rc;
}

static sqlite3_vfs walbuf_vfs;

static void walbuf_register(void)
{
	walbuf_real = sqlite3_vfs_find(NULL);
	if (!walbuf_real)
		return;
	walbuf_vfs = *walbuf_real;
	walbuf_vfs.pNext = NULL;
	walbuf_vfs.zName = "waybill";
	walbuf_vfs.szOsFile = (int)sizeof(struct walbuf_file) + walbuf_real->szOsFile;
	walbuf_vfs.xOpen = walbuf_open;
	if (sqlite3_vfs_register(&walbuf_vfs, 0) != SQLITE_OK)
		walbuf_real = NULL;
}

const char *walbuf_vfs_name(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, walbuf_register);
	return walbuf_real ? "waybill" : NULL;
}
