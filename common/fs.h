/* Small file helpers with bounded reads and atomic writes. */
#pragma once

#include <stddef.h>

#include "common/err.h"

/* Creates path and its missing parents with mode (like mkdir -p).
 * Errors: CRIB_INTERNAL with the path that failed. */
int fs_mkdir_p(const char *path, unsigned mode, struct crib_err *err);

/* Reads all of fd into a new NUL-terminated buffer (free() it).
 * Errors: CRIB_LIMIT when the data exceeds max_bytes, CRIB_INTERNAL on I/O. */
int fs_read_fd(int fd, size_t max_bytes, char **ret_buf, size_t *ret_len, struct crib_err *err);

/* Opens and reads path with fs_read_fd. Errors: CRIB_NOT_FOUND when path
 * does not exist, CRIB_LIMIT, CRIB_INTERNAL. */
int fs_read_file(const char *path, size_t max_bytes, char **ret_buf, size_t *ret_len,
                 struct crib_err *err);

/* Writes data to path through a temporary file, fsync and rename, so a reader
 * or a crash sees the old or the new content, never a mix. Errors: CRIB_INTERNAL. */
int fs_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                    struct crib_err *err);

/* As fs_write_atomic without the fsync, for the volatile state dir (pod and
 * container files under /run/crib): a kill -9 cannot tear the file (the
 * rename is atomic and the page cache outlives cribd), and a power loss
 * clears the state dir anyway. */
int fs_write_volatile(const char *path, const void *data, size_t len, unsigned mode,
                      struct crib_err *err);

/* Removes name (a file or a whole tree) below dir_fd without following any
 * symlink; a missing name is fine. Errors: CRIB_INTERNAL naming the path. */
int fs_remove_tree_at(int dir_fd, const char *name, struct crib_err *err);
