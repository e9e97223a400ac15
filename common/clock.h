/* Clock readings in the units crib keeps: nanoseconds for the CRI's
 * timestamps (CLOCK_REALTIME) and for rates (CLOCK_MONOTONIC), and
 * monotonic milliseconds for deadlines. */
#pragma once

#include <stdint.h>
#include <time.h>

/* clock (CLOCK_REALTIME, CLOCK_MONOTONIC) now, in nanoseconds. */
int64_t clock_ns(clockid_t clock);

/* CLOCK_MONOTONIC now, in milliseconds. */
int64_t clock_mono_ms(void);
