/* One cribd per root: an flock()ed file that holds the owner's pid. */
#pragma once

#include "common/err.h"

/* Takes root/cribd.lock and writes our pid into it. Returns the fd to keep
 * open for the daemon's life. Errors: CRIB_EXISTS naming the holder's pid. */
int instance_lock(const char *root_dir, struct crib_err *err);
