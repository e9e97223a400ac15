/* The decompression stage of layer unpacking: pulls compressed bytes from a
 * read function, hashes and counts them, inflates them (gzip with igzip, zstd,
 * or none) and hashes and counts the output, the tar stream. One thread, no
 * copies beyond the decompressor's own output buffer. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "common/digest.h"
#include "common/err.h"
#include "storage/unpack.h"

struct decomp;

/* Starts a stage reading through read_fn(read_ctx). UNPACK_AUTO picks the
 * format from the first bytes (1f 8b: gzip, 28 b5 2f fd: zstd, else none),
 * which may read from read_fn already. max_out_bytes caps the tar stream
 * (0: no cap). On success *ret_d belongs to the caller: decomp_free() it.
 * Errors: read_fn's own. */
int decomp_new(enum unpack_compression compression, uint64_t max_out_bytes, unpack_read_fn read_fn,
               void *read_ctx, struct decomp **ret_d, struct crib_err *err);

/* Produces the next bytes of the tar stream: *ret_buf points into the stage's
 * buffer, valid until the next call. Returns the count (> 0), or 0 at the end
 * of a complete stream (and again on every later call).
 * Errors: CRIB_INVALID ("truncated ..." when the compressed stream ends early,
 * or corrupt data), CRIB_LIMIT (over max_out_bytes), read_fn's own. */
ssize_t decomp_next(struct decomp *d, const void **ret_buf, struct crib_err *err);

/* Reads the rest of the stream to its end, so both digests cover all of it.
 * Errors: as decomp_next. */
int decomp_drain(struct decomp *d, struct crib_err *err);

/* Writes the digests ("sha256:hex") and counts of everything read so far into
 * res's compressed_digest, diff_id, compressed_bytes and tar_bytes. Call once,
 * after decomp_next or decomp_drain returned 0. */
void decomp_finish(struct decomp *d, struct unpack_result *res);

/* Frees the stage; NULL is fine. */
void decomp_free(struct decomp *d);
