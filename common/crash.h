/* Crash-injection points. Every multi-step operation names its steps; with
 * CRIB_CRASH_AT=<step> in the environment cribd _exit()s at that step, so tests
 * can prove that start-up reconciles whatever a kill -9 left (design.md). */
#pragma once

/* The step named by CRIB_CRASH_AT, or NULL; set once by crash_init(). */
extern const char *crash_armed_step;

/* Reads CRIB_CRASH_AT. Call once from main() before any thread starts. */
void crash_init(void);

/* Dies with exit code 137 (as after SIGKILL) when step is the armed one. */
void crash_at(const char *step);

/* One branch when nothing is armed. */
#define CRASH_POINT(step)                                                                          \
    do {                                                                                           \
        if (crash_armed_step)                                                                      \
            crash_at(step);                                                                        \
    } while (0)
