#include "common/crash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *crash_armed_step;

void crash_init(void)
{
    const char *step = getenv("CRIB_CRASH_AT");

    crash_armed_step = step && *step ? step : NULL;
}

void crash_at(const char *step)
{
    char line[256];
    int n;

    if (strcmp(step, crash_armed_step) != 0)
        return;
    /* Plain write(): no locks, no buffers, as a real crash would leave them. */
    n = snprintf(line, sizeof(line), "cribd: crash point '%s' reached, exiting\n", step);
    if (n > 0)
        (void)!write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    _exit(137);
}
