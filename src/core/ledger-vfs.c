/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/ledger-vfs.h"

/* A commit that writes more than this is written in pieces of about this
 * size. The unix VFS takes at most 128 KiB - 1 in one write (it masks the
 * length with 0x1ffff, pages being at most 64 KiB) and answers
 * SQLITE_FULL to more; 64 KiB stays well inside. */
#define WAL_BUFFER_MAX (64 * 1024)

/* A write that reaches past the end of a WAL file takes zeros with it up
 * to the next multiple of this (see flush()). */
#define WAL_GROW (64 * 1024)

typedef struct VfsFile VfsFile;
struct VfsFile {
	sqlite3_file base;
	sqlite3_file *real; /* the default VFS's file, allocated right after us */
	bool is_wal;
	VfsFile *wal;  /* a database file: its open WAL, flushed at xShmBarrier */
	VfsFile *main; /* a WAL: its database file */
	/* A WAL's pending writes: len bytes for offset off. */
	unsigned char *buf;
	size_t len, cap;
	sqlite3_int64 off;
	sqlite3_int64 size; /* a WAL: its size as last seen, or less */
	int error;	    /* a flush that failed where it could not be reported */
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs ledger_vfs;
static const sqlite3_io_methods vfs_io;
static uint64_t wal_writes;

#define REAL_OFFSET ((sizeof(VfsFile) + 15) & ~(size_t) 15)

static inline const sqlite3_io_methods *real_io(VfsFile *f)
{
	return f->real->pMethods;
}

/* One write to a WAL file, counted. */
static int wal_write(VfsFile *f, const void *buf, int amt, sqlite3_int64 off)
{
	__atomic_add_fetch(&wal_writes, 1, __ATOMIC_RELAXED);
	return real_io(f)->xWrite(f->real, buf, amt, off);
}

/* How many zeros a write of [off, end) to a WAL takes with it: none while
 * it stays inside the file, else up to the next WAL_GROW boundary.
 *
 * Why: a commit that appends to a file makes its fsync allocate blocks and
 * write the new size, metadata that an overwrite does not have; on this
 * project's machines that made a settlement 0.25 ms slower (write and
 * fsync), until the WAL had been through its first checkpoint and
 * restarted at its beginning. A 64 KiB write costs no more than a 5 KiB
 * one.
 *
 * Why it is safe: the zeros go past the end of the file only, so they
 * overwrite nothing; the writes we hold are the WAL writer's (SQLite's
 * WAL write lock), and no other connection writes to the WAL meanwhile; a
 * reader reads frames only up to the last committed one; and recovery stops
 * at the first frame whose salt and checksum do not match the header,
 * which a zeroed frame never does. */
static size_t wal_padding(VfsFile *f, sqlite3_int64 end)
{
	sqlite3_int64 size;

	if (end <= f->size)
		return 0;
	if (real_io(f)->xFileSize(f->real, &size) != SQLITE_OK)
		return 0;
	f->size = size;
	if (end <= size)
		return 0;
	return (size_t) ((end + WAL_GROW - 1) / WAL_GROW * WAL_GROW - end);
}

static bool buffer_reserve(VfsFile *f, size_t need)
{
	size_t cap = f->cap ? f->cap : 16384;
	unsigned char *p;

	if (need <= f->cap)
		return true;
	while (cap < need)
		cap *= 2;
	p = realloc(f->buf, cap);
	if (!p)
		return false;
	f->buf = p;
	f->cap = cap;
	return true;
}

/* Hands the pending writes to the real file: SQLITE_OK or its error. */
static int flush(VfsFile *f)
{
	size_t pad;
	int rc;

	if (f->error != SQLITE_OK)
		return f->error;
	if (f->len == 0)
		return SQLITE_OK;
	pad = wal_padding(f, f->off + (sqlite3_int64) f->len);
	if (pad > 0 && buffer_reserve(f, f->len + pad)) {
		memset(f->buf + f->len, 0, pad);
		rc = wal_write(f, f->buf, (int) (f->len + pad), f->off);
		if (rc == SQLITE_OK)
			f->size = f->off + (sqlite3_int64) (f->len + pad);
		else /* no room for the zeros: the frames alone, as without them */
			rc = wal_write(f, f->buf, (int) f->len, f->off);
	} else
		rc = wal_write(f, f->buf, (int) f->len, f->off);
	f->len = 0;
	return rc;
}

static int vfs_close(sqlite3_file *file)
{
	VfsFile *f = (VfsFile *) file;
	int rc = f->is_wal ? flush(f) : SQLITE_OK, rc2;

	if (f->main && f->main->wal == f)
		f->main->wal = NULL;
	if (f->wal && f->wal->main == f)
		f->wal->main = NULL;
	rc2 = real_io(f)->xClose(f->real);
	free(f->buf);
	f->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int vfs_read(sqlite3_file *file, void *buf, int amt, sqlite3_int64 off)
{
	VfsFile *f = (VfsFile *) file;
	int rc = f->is_wal ? flush(f) : SQLITE_OK;

	return rc != SQLITE_OK ? rc : real_io(f)->xRead(f->real, buf, amt, off);
}

static int vfs_write(sqlite3_file *file, const void *buf, int amt, sqlite3_int64 off)
{
	VfsFile *f = (VfsFile *) file;
	int rc;

	if (!f->is_wal)
		return real_io(f)->xWrite(f->real, buf, amt, off);
	if (f->error != SQLITE_OK)
		return f->error;
	if (amt <= 0)
		return SQLITE_OK;
	/* Not the continuation of what we hold, or too much: out with it. */
	if (f->len > 0 && (off != f->off + (sqlite3_int64) f->len || f->len + (size_t) amt > WAL_BUFFER_MAX)) {
		rc = flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if ((size_t) amt > WAL_BUFFER_MAX)
		return wal_write(f, buf, amt, off);
	if (!buffer_reserve(f, f->len + (size_t) amt)) {
		/* No memory for the buffer: write through. */
		rc = flush(f);
		return rc != SQLITE_OK ? rc : wal_write(f, buf, amt, off);
	}
	if (f->len == 0)
		f->off = off;
	memcpy(f->buf + f->len, buf, (size_t) amt);
	f->len += (size_t) amt;
	return SQLITE_OK;
}

static int vfs_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	VfsFile *f = (VfsFile *) file;
	int rc = f->is_wal ? flush(f) : SQLITE_OK;

	if (rc == SQLITE_OK)
		rc = real_io(f)->xTruncate(f->real, size);
	if (f->size > size)
		f->size = size; /* what it is now, or less */
	return rc;
}

static int vfs_sync(sqlite3_file *file, int flags)
{
	VfsFile *f = (VfsFile *) file;
	int rc = f->is_wal ? flush(f) : SQLITE_OK;

	return rc != SQLITE_OK ? rc : real_io(f)->xSync(f->real, flags);
}

static int vfs_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	VfsFile *f = (VfsFile *) file;
	int rc = f->is_wal ? flush(f) : SQLITE_OK;

	return rc != SQLITE_OK ? rc : real_io(f)->xFileSize(f->real, size);
}

static int vfs_lock(sqlite3_file *file, int lock)
{
	VfsFile *f = (VfsFile *) file;
	return real_io(f)->xLock(f->real, lock);
}

static int vfs_unlock(sqlite3_file *file, int lock)
{
	VfsFile *f = (VfsFile *) file;
	return real_io(f)->xUnlock(f->real, lock);
}

static int vfs_check_reserved_lock(sqlite3_file *file, int *out)
{
	VfsFile *f = (VfsFile *) file;
	return real_io(f)->xCheckReservedLock(f->real, out);
}

static int vfs_file_control(sqlite3_file *file, int op, void *arg)
{
	VfsFile *f = (VfsFile *) file;
	int rc = f->is_wal ? flush(f) : SQLITE_OK;

	if (rc != SQLITE_OK)
		return rc;
	if (op == SQLITE_FCNTL_VFSNAME) {
		rc = real_io(f)->xFileControl(f->real, op, arg);
		if (rc == SQLITE_OK)
			*(char **) arg = sqlite3_mprintf(LEDGER_VFS_NAME "/%z", *(char **) arg);
		return rc;
	}
	return real_io(f)->xFileControl(f->real, op, arg);
}

static int vfs_sector_size(sqlite3_file *file)
{
	VfsFile *f = (VfsFile *) file;
	return real_io(f)->xSectorSize(f->real);
}

static int vfs_device_characteristics(sqlite3_file *file)
{
	VfsFile *f = (VfsFile *) file;
	return real_io(f)->xDeviceCharacteristics(f->real);
}

static int vfs_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **out)
{
	VfsFile *f = (VfsFile *) file;
	return real_io(f)->xShmMap(f->real, page, size, extend, out);
}

static int vfs_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	VfsFile *f = (VfsFile *) file;
	return real_io(f)->xShmLock(f->real, offset, n, flags);
}

/* SQLite calls this between the two copies of a new WAL-index header:
 * from here on other connections may read the frames it names, so they
 * must be in the file. A failure cannot be returned; it is kept and every
 * later operation on that WAL fails with it, so the commit that follows
 * in this connection is never taken for durable. */
static void vfs_shm_barrier(sqlite3_file *file)
{
	VfsFile *f = (VfsFile *) file;

	if (f->wal) {
		int rc = flush(f->wal);
		if (rc != SQLITE_OK)
			f->wal->error = rc;
	}
	real_io(f)->xShmBarrier(f->real);
}

static int vfs_shm_unmap(sqlite3_file *file, int delete_flag)
{
	VfsFile *f = (VfsFile *) file;
	return real_io(f)->xShmUnmap(f->real, delete_flag);
}

static int vfs_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **out)
{
	VfsFile *f = (VfsFile *) file;
	int rc = f->is_wal ? flush(f) : SQLITE_OK;

	return rc != SQLITE_OK ? rc : real_io(f)->xFetch(f->real, off, amt, out);
}

static int vfs_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
	VfsFile *f = (VfsFile *) file;
	return real_io(f)->xUnfetch(f->real, off, p);
}

static const sqlite3_io_methods vfs_io = {
    .iVersion = 3,
    .xClose = vfs_close,
    .xRead = vfs_read,
    .xWrite = vfs_write,
    .xTruncate = vfs_truncate,
    .xSync = vfs_sync,
    .xFileSize = vfs_file_size,
    .xLock = vfs_lock,
    .xUnlock = vfs_unlock,
    .xCheckReservedLock = vfs_check_reserved_lock,
    .xFileControl = vfs_file_control,
    .xSectorSize = vfs_sector_size,
    .xDeviceCharacteristics = vfs_device_characteristics,
    .xShmMap = vfs_shm_map,
    .xShmLock = vfs_shm_lock,
    .xShmBarrier = vfs_shm_barrier,
    .xShmUnmap = vfs_shm_unmap,
    .xFetch = vfs_fetch,
    .xUnfetch = vfs_unfetch,
};

static int vfs_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *out_flags)
{
	VfsFile *f = (VfsFile *) file;
	int rc;

	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *) ((char *) file + REAL_OFFSET);
	rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK)
		return rc; /* base.pMethods stays NULL: no xClose */
	/* Every method of ours forwards to a version-3 one (the unix VFS). */
	if (!f->real->pMethods || f->real->pMethods->iVersion < 3) {
		if (f->real->pMethods)
			f->real->pMethods->xClose(f->real);
		return SQLITE_CANTOPEN;
	}
	f->base.pMethods = &vfs_io;
	if ((flags & SQLITE_OPEN_WAL) && name) {
		sqlite3_file *db = sqlite3_database_file_object(name);
		f->is_wal = true;
		if (db && db->pMethods == &vfs_io) {
			f->main = (VfsFile *) db;
			f->main->wal = f;
		}
	}
	return SQLITE_OK;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *vfs_dlopen(sqlite3_vfs *vfs, const char *name)
{
	return real_vfs->xDlOpen(real_vfs, name);
}

static void vfs_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
	real_vfs->xDlError(real_vfs, n, msg);
}

static void (*vfs_dlsym(sqlite3_vfs *vfs, void *handle, const char *sym))(void)
{
	return real_vfs->xDlSym(real_vfs, handle, sym);
}

static void vfs_dlclose(sqlite3_vfs *vfs, void *handle)
{
	real_vfs->xDlClose(real_vfs, handle);
}

static int vfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return real_vfs->xRandomness(real_vfs, n, out);
}

static int vfs_sleep(sqlite3_vfs *vfs, int usec)
{
	return real_vfs->xSleep(real_vfs, usec);
}

static int vfs_current_time(sqlite3_vfs *vfs, double *out)
{
	return real_vfs->xCurrentTime(real_vfs, out);
}

static int vfs_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}

static int vfs_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int register_rc;

static void do_register(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	if (!real_vfs || real_vfs->iVersion < 2 || !real_vfs->xCurrentTimeInt64) {
		register_rc = -ENOSYS;
		return;
	}
	ledger_vfs = (sqlite3_vfs){
	    .iVersion = 2,
	    .szOsFile = (int) REAL_OFFSET + real_vfs->szOsFile,
	    .mxPathname = real_vfs->mxPathname,
	    .zName = LEDGER_VFS_NAME,
	    .xOpen = vfs_open,
	    .xDelete = vfs_delete,
	    .xAccess = vfs_access,
	    .xFullPathname = vfs_full_pathname,
	    .xDlOpen = vfs_dlopen,
	    .xDlError = vfs_dlerror,
	    .xDlSym = vfs_dlsym,
	    .xDlClose = vfs_dlclose,
	    .xRandomness = vfs_randomness,
	    .xSleep = vfs_sleep,
	    .xCurrentTime = vfs_current_time,
	    .xGetLastError = vfs_get_last_error,
	    .xCurrentTimeInt64 = vfs_current_time_int64,
	};
	register_rc = sqlite3_vfs_register(&ledger_vfs, 0) == SQLITE_OK ? 0 : -ENOMEM;
}

int ledger_vfs_register(void)
{
	(void) pthread_once(&once, do_register);
	return register_rc;
}

uint64_t ledger_vfs_wal_writes(void)
{
	return __atomic_load_n(&wal_writes, __ATOMIC_RELAXED);
}
