/* Resource usage of one cgroup, for the CRI stats RPCs (ContainerStats,
 * PodSandboxStats, ListPodSandboxMetrics), read from the cgroupfs files on
 * cgroup v1, v2 and hybrid hosts. Nothing is ever invented: a value the host
 * does not provide stays unset, so the caller leaves the CRI field unset. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "sandbox/cgroup.h"

/* A limit that is not set: "max" on v2, and on v1 anything above 2^62
 * (the kernel rounds its "no limit" down to a page multiple near 2^63;
 * containerd and cAdvisor use the same cut-off). */
#define CGSTATS_UNLIMITED UINT64_MAX

/* Bits of cg_sample.has / cg_sample.invalid, one per group of fields. */
enum cg_field {
    CG_CPU_USAGE = 1u << 0,       /* cpu_usage_ns */
    CG_CPU_SPLIT = 1u << 1,       /* cpu_user_ns, cpu_system_ns */
    CG_CPU_THROTTLING = 1u << 2,  /* cpu_periods, cpu_throttled_periods, cpu_throttled_ns */
    CG_MEM_USAGE = 1u << 3,       /* mem_usage_bytes */
    CG_MEM_WORKING_SET = 1u << 4, /* mem_working_set_bytes */
    CG_MEM_RSS = 1u << 5,         /* mem_rss_bytes */
    CG_MEM_CACHE = 1u << 6,       /* mem_cache_bytes, mem_mapped_file_bytes */
    CG_MEM_FAULTS = 1u << 7,      /* mem_page_faults, mem_major_page_faults */
    CG_MEM_LIMIT = 1u << 8,       /* mem_limit_bytes (CGSTATS_UNLIMITED when none) */
    CG_MEM_AVAILABLE = 1u << 9,   /* mem_available_bytes: only under a limit */
    CG_SWAP_USAGE = 1u << 10,     /* swap_usage_bytes */
    CG_SWAP_LIMIT = 1u << 11,     /* swap_limit_bytes (CGSTATS_UNLIMITED when none) */
    CG_SWAP_AVAILABLE = 1u << 12, /* swap_available_bytes: only under a limit */
    CG_PIDS_CURRENT = 1u << 13,   /* pids_current */
    CG_PIDS_MAX = 1u << 14,       /* pids_max (CGSTATS_UNLIMITED when none) */
    CG_IO_BYTES = 1u << 15,       /* io_read_bytes, io_write_bytes */
    CG_IO_OPS = 1u << 16,         /* io_reads, io_writes */
    CG_PSI_CPU = 1u << 17,        /* psi_cpu */
    CG_PSI_MEMORY = 1u << 18,     /* psi_memory */
    CG_PSI_IO = 1u << 19,         /* psi_io */
};

/* One line of a pressure file; CRI's PsiData. */
struct cg_psi_data {
    double avg10, avg60, avg300; /* percent of wall time, 0..100 */
    uint64_t total_ns;           /* the kernel counts microseconds; CRI wants ns */
};

struct cg_psi {
    bool has_some, has_full; /* each line on its own: old kernels lack cpu "full" */
    struct cg_psi_data some, full;
};

/* A field whose bit is not in has holds nothing meaningful: test has first. */
struct cg_sample {
    uint32_t has;         /* enum cg_field bits of the fields that were read */
    uint32_t invalid;     /* bits whose file was there but unreadable or malformed
                           * (left unset; the caller may log it at debug) */
    int64_t timestamp_ns; /* CLOCK_REALTIME when the reading began, as CRI wants */
    int64_t monotonic_ns; /* CLOCK_MONOTONIC, for rates */
    uint64_t cpu_usage_ns, cpu_user_ns, cpu_system_ns;
    uint64_t cpu_periods, cpu_throttled_periods, cpu_throttled_ns;
    uint64_t mem_usage_bytes, mem_working_set_bytes, mem_rss_bytes;
    uint64_t mem_cache_bytes, mem_mapped_file_bytes;
    uint64_t mem_page_faults, mem_major_page_faults;
    uint64_t mem_limit_bytes, mem_available_bytes;
    uint64_t swap_usage_bytes, swap_limit_bytes, swap_available_bytes;
    uint64_t pids_current, pids_max;
    uint64_t io_read_bytes, io_write_bytes, io_reads, io_writes;
    struct cg_psi psi_cpu, psi_memory, psi_io;
};

/* Reads cgroup path ("/crib/crib-<id>", absolute in the hierarchy, as
 * cgroup_create takes it) into *ret. A missing file leaves its fields unset; a
 * malformed one also sets its bits in ret->invalid. On hybrid hosts the
 * counters come from the v1 controllers and PSI from the v2 tree, and only
 * when that v2 cgroup is populated, i.e. the runtime put the tasks there too.
 * Errors: CRIB_INVALID (bad path), CRIB_NOT_FOUND (no such cgroup in any
 * hierarchy read), CRIB_INTERNAL (a dir that cannot be opened). */
int cgstats_read(const struct cgroup_layout *l, const char *path, struct cg_sample *ret,
                 struct crib_err *err);

/* CRI usage_nano_cores between two samples of one cgroup: the CPU time used
 * per second of monotonic time, in ns. Returns false (leave it unset) when
 * prev is NULL, either sample lacks CG_CPU_USAGE, time did not advance, or the
 * counter went back (the cgroup was made anew). */
bool cgstats_nano_cores(const struct cg_sample *prev, const struct cg_sample *cur,
                        uint64_t *ret_nano_cores);

/* The previous sample per container or pod id, so that a stats RPC gets
 * usage_nano_cores without sleeping between two readings (the kubelet polls
 * every ~10 s). Bounded: past its capacity the least recently used id goes.
 * Thread-safe; its one mutex is never held across I/O. */
struct cgstats_cache;

#define CGSTATS_KEY_MAX 128 /* longer keys are not cached: container ids are 64 */

/* A cache for up to capacity ids (at least 1); free with cgstats_cache_free. */
struct cgstats_cache *cgstats_cache_new(size_t capacity);
void cgstats_cache_free(struct cgstats_cache *c);

#define CGSTATS_MIN_WINDOW_NS 1000000000LL

/* Gives the rate of key's CPU usage up to cur and keeps cur as the next base.
 * A base younger than CGSTATS_MIN_WINDOW_NS is kept, and the rate computed at
 * its own window is given again, so that two callers polling together do not
 * get a noisy rate over a few ms. Returns false when there is no rate yet
 * (a new key, a counter that went back, or cur without CG_CPU_USAGE). */
bool cgstats_cache_rate(struct cgstats_cache *c, const char *key, const struct cg_sample *cur,
                        uint64_t *ret_nano_cores);

/* Drops key (its container or pod was removed); an unknown key is fine. */
void cgstats_cache_forget(struct cgstats_cache *c, const char *key);

/* Parsers of the cgroupfs files, exposed for tests and fuzzing. Each takes
 * text that need not be NUL-terminated, requires every line to end in '\n'
 * (the kernel's always do, so a missing one means a cut read), and tolerates
 * keys it does not know. Errors: CRIB_INVALID naming the bad line. */

/* "key value" lines (memory.stat, cpu.stat, cpuacct.stat, cgroup.events):
 * for each of keys[0..n_keys) (n_keys <= 32) found, sets ret_values[i] and bit
 * i of *ret_found. The value of a wanted key must be a decimal u64. */
int cgstats_keyed_parse(const char *text, size_t len, const char *const *keys, size_t n_keys,
                        uint64_t *ret_values, uint32_t *ret_found, struct crib_err *err);

/* A one-value file ("123\n", or "max\n" = CGSTATS_UNLIMITED). */
int cgstats_value_parse(const char *text, size_t len, uint64_t *ret_value, struct crib_err *err);

/* A pressure file: "some|full avg10=A avg60=B avg300=C total=T" lines. */
int cgstats_psi_parse(const char *text, size_t len, struct cg_psi *ret, struct crib_err *err);

/* v2 io.stat ("MAJ:MIN rbytes=N wbytes=N rios=N wios=N ..."): the sums over
 * devices in ret's io_* fields, setting CG_IO_BYTES | CG_IO_OPS in ret->has. */
int cgstats_io_stat_parse(const char *text, size_t len, struct cg_sample *ret,
                          struct crib_err *err);

/* v1 blkio.throttle.io_service_bytes_recursive or io_serviced_recursive
 * ("MAJ:MIN Read N" ... lines): the Read and Write sums over devices. */
int cgstats_blkio_parse(const char *text, size_t len, uint64_t *ret_read, uint64_t *ret_write,
                        struct crib_err *err);
