#include "sandbox/cgstats.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cgdriver.h"
#include "common/cleanup.h"
#include "common/clock.h"
#include "common/xalloc.h"
#include "sandbox/internal.h"

/* The largest cgroup file read: blkio recursive files have six lines per
 * device, ~16 KiB for a hundred disks; memory.stat is ~1.5 KiB. */
#define CGSTATS_FILE_MAX 16384

/* v1 reports "no limit" as a page-rounded value near 2^63. */
#define LIMIT_CUTOFF (1ull << 62)

/* Where each group of files lives: on v1 its controller's hierarchy, on v2
 * the one tree (a hybrid host's v2 tree serves PSI only). */
enum source { SRC_CPUACCT, SRC_CPU, SRC_MEMORY, SRC_PIDS, SRC_BLKIO, SRC_V2, N_SRC };

static const char *const v1_controllers[] = {"cpuacct", "cpu", "memory", "pids", "blkio"};

struct reader {
    bool is_v2;
    int dir[N_SRC]; /* O_PATH fds of the cgroup's dirs; -1 where absent */
    struct cg_sample *s;
    char buf[CGSTATS_FILE_MAX];
};

static int dir_of(const struct reader *rd, enum source v1_source)
{
    return rd->dir[rd->is_v2 ? SRC_V2 : v1_source];
}

/* What a read of one file gave. */
enum { READ_BAD = -1, READ_ABSENT = 0, READ_OK = 1 };

/* Reads name in dir into rd->buf (*ret_len, maybe 0). READ_ABSENT when dir or
 * file is absent: the field stays unset. READ_BAD when it cannot be read
 * whole: field is marked invalid. */
static int slurp(struct reader *rd, int dir, const char *name, uint32_t field, size_t *ret_len)
{
    _cleanup_close_ int fd = -1;
    size_t len = 0;
    ssize_t n = 1;

    if (dir < 0)
        return READ_ABSENT;
    fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT)
        return READ_ABSENT;
    /* cgroupfs hands a file's whole text to the first read: the loop only
     * guards against a short one. */
    while (fd >= 0 && len < sizeof(rd->buf) &&
           (n = read(fd, rd->buf + len, sizeof(rd->buf) - len)) > 0)
        len += (size_t)n;
    if (fd < 0 || n < 0 || len == sizeof(rd->buf)) {
        rd->s->invalid |= field;
        return READ_BAD;
    }
    *ret_len = len;
    return READ_OK;
}

/* A keyed file's wanted values (missing keys stay unfound in *found). */
static int read_keyed(struct reader *rd, int dir, const char *name, uint32_t field,
                      const char *const *keys, size_t n_keys, uint64_t *values, uint32_t *found)
{
    struct crib_err err;
    size_t len;
    int r = slurp(rd, dir, name, field, &len);

    *found = 0;
    if (r == READ_OK && cgstats_keyed_parse(rd->buf, len, keys, n_keys, values, found, &err) < 0) {
        rd->s->invalid |= field;
        return READ_BAD;
    }
    return r;
}

/* A one-value file into *ret; sets field in has when read. */
static int read_value(struct reader *rd, int dir, const char *name, uint32_t field, uint64_t *ret)
{
    struct crib_err err;
    size_t len;
    int r = slurp(rd, dir, name, field, &len);

    if (r == READ_OK && cgstats_value_parse(rd->buf, len, ret, &err) < 0) {
        rd->s->invalid |= field;
        return READ_BAD;
    }
    if (r == READ_OK)
        rd->s->has |= field;
    return r;
}

/* Marks field read when all of its keys were found and converted, invalid
 * when they were found but did not convert. */
static void settle(struct cg_sample *s, uint32_t found, uint32_t want, bool converted,
                   uint32_t field)
{
    if ((found & want) != want)
        return;
    if (converted)
        s->has |= field;
    else
        s->invalid |= field;
}

static bool mul_ok(uint64_t a, uint64_t b, uint64_t *ret)
{
    return !__builtin_mul_overflow(a, b, ret);
}

/* v1: cpuacct.usage in ns, cpuacct.stat in USER_HZ ticks, cpu.stat in ns. */
static void read_cpu_v1(struct reader *rd)
{
    static const char *const split_keys[] = {"user", "system"};
    static const char *const throttle_keys[] = {"nr_periods", "nr_throttled", "throttled_time"};
    struct cg_sample *s = rd->s;
    uint64_t split[2] = {0}, throttle[3] = {0};
    long user_hz = sysconf(_SC_CLK_TCK); /* USER_HZ: 100 on every Linux ABI */
    uint64_t tick_ns = 1000000000ull / (uint64_t)(user_hz > 0 ? user_hz : 100);
    uint32_t found;
    int usage =
        read_value(rd, rd->dir[SRC_CPUACCT], "cpuacct.usage", CG_CPU_USAGE, &s->cpu_usage_ns);

    read_keyed(rd, rd->dir[SRC_CPUACCT], "cpuacct.stat", CG_CPU_SPLIT, split_keys, 2, split,
               &found);
    settle(s, found, 0x3,
           mul_ok(split[0], tick_ns, &s->cpu_user_ns) &&
               mul_ok(split[1], tick_ns, &s->cpu_system_ns),
           CG_CPU_SPLIT);
    /* Kernels without cpuacct.usage still count ticks. */
    if (usage == READ_ABSENT && (s->has & CG_CPU_SPLIT) &&
        scan_add(s->cpu_user_ns, s->cpu_system_ns, &s->cpu_usage_ns))
        s->has |= CG_CPU_USAGE;
    read_keyed(rd, rd->dir[SRC_CPU], "cpu.stat", CG_CPU_THROTTLING, throttle_keys, 3, throttle,
               &found);
    s->cpu_periods = throttle[0];
    s->cpu_throttled_periods = throttle[1];
    s->cpu_throttled_ns = throttle[2];
    settle(s, found, 0x7, true, CG_CPU_THROTTLING);
}

/* v2: one cpu.stat in microseconds; the throttling keys come with the cpu
 * controller only, usage and the split with every cgroup. */
static void read_cpu_v2(struct reader *rd)
{
    static const char *const keys[] = {"usage_usec", "user_usec",    "system_usec",
                                       "nr_periods", "nr_throttled", "throttled_usec"};
    struct cg_sample *s = rd->s;
    uint64_t v[6] = {0};
    uint32_t found;

    read_keyed(rd, rd->dir[SRC_V2], "cpu.stat", CG_CPU_USAGE | CG_CPU_SPLIT | CG_CPU_THROTTLING,
               keys, 6, v, &found);
    settle(s, found, 0x1, mul_ok(v[0], 1000, &s->cpu_usage_ns), CG_CPU_USAGE);
    settle(s, found, 0x6,
           mul_ok(v[1], 1000, &s->cpu_user_ns) && mul_ok(v[2], 1000, &s->cpu_system_ns),
           CG_CPU_SPLIT);
    s->cpu_periods = v[3];
    s->cpu_throttled_periods = v[4];
    settle(s, found, 0x38, mul_ok(v[5], 1000, &s->cpu_throttled_ns), CG_CPU_THROTTLING);
}

/* The memory files of one version; stat_keys in the order inactive_file,
 * rss, cache, mapped_file, pgfault, pgmajfault. */
struct memory_files {
    const char *usage, *limit, *swap_usage, *swap_limit;
    bool is_memsw; /* v1 counts memory + swap together */
    const char *stat_keys[6];
};

static const struct memory_files memory_v1 = {
    "memory.usage_in_bytes",
    "memory.limit_in_bytes",
    "memory.memsw.usage_in_bytes",
    "memory.memsw.limit_in_bytes",
    true,
    {"total_inactive_file", "total_rss", "total_cache", "total_mapped_file", "total_pgfault",
     "total_pgmajfault"},
};

/* cAdvisor and containerd take rss from "anon" on v2. */
static const struct memory_files memory_v2 = {
    "memory.current",
    "memory.max",
    "memory.swap.current",
    "memory.swap.max",
    false,
    {"inactive_file", "anon", "file", "file_mapped", "pgfault", "pgmajfault"},
};

static uint64_t limit_of(uint64_t v)
{
    return v > LIMIT_CUTOFF ? CGSTATS_UNLIMITED : v;
}

static uint64_t minus_or_zero(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

/* memory.stat; working set = usage - inactive file, as the kubelet's eviction
 * and cAdvisor count it (clamped: the two files are read apart). */
static void read_memory_stat(struct reader *rd, const struct memory_files *f)
{
    struct cg_sample *s = rd->s;
    uint64_t v[6] = {0};
    uint32_t found;

    read_keyed(rd, dir_of(rd, SRC_MEMORY), "memory.stat",
               CG_MEM_WORKING_SET | CG_MEM_RSS | CG_MEM_CACHE | CG_MEM_FAULTS, f->stat_keys, 6, v,
               &found);
    s->mem_rss_bytes = v[1];
    s->mem_cache_bytes = v[2];
    s->mem_mapped_file_bytes = v[3];
    s->mem_page_faults = v[4];
    s->mem_major_page_faults = v[5];
    settle(s, found, 0x2, true, CG_MEM_RSS);
    settle(s, found, 0xc, true, CG_MEM_CACHE);
    settle(s, found, 0x30, true, CG_MEM_FAULTS);
    if (s->has & CG_MEM_USAGE) {
        s->mem_working_set_bytes = minus_or_zero(s->mem_usage_bytes, v[0]);
        settle(s, found, 0x1, true, CG_MEM_WORKING_SET);
    }
}

/* v1's memsw limit bounds memory + swap: swap may take what the memory limit
 * leaves of it. */
static uint64_t swap_limit_v1(const struct cg_sample *s, uint64_t memsw_limit)
{
    bool is_mem_limited = (s->has & CG_MEM_LIMIT) && s->mem_limit_bytes != CGSTATS_UNLIMITED;

    if (memsw_limit == CGSTATS_UNLIMITED)
        return CGSTATS_UNLIMITED;
    return minus_or_zero(memsw_limit, is_mem_limited ? s->mem_limit_bytes : 0);
}

/* Swap: v2 counts it alone, v1 only as memory + swap (memsw, there when swap
 * accounting is on). */
static void read_swap(struct reader *rd, const struct memory_files *f)
{
    struct cg_sample *s = rd->s;
    int dir = dir_of(rd, SRC_MEMORY);
    uint64_t v;

    if (read_value(rd, dir, f->swap_usage, CG_SWAP_USAGE, &v) == READ_OK) {
        s->swap_usage_bytes = f->is_memsw ? minus_or_zero(v, s->mem_usage_bytes) : v;
        if (f->is_memsw && !(s->has & CG_MEM_USAGE))
            s->has &= ~(uint32_t)CG_SWAP_USAGE; /* memsw alone says nothing of swap */
    }
    if (read_value(rd, dir, f->swap_limit, CG_SWAP_LIMIT, &v) != READ_OK)
        return;
    s->swap_limit_bytes = f->is_memsw ? swap_limit_v1(s, limit_of(v)) : limit_of(v);
    if ((s->has & CG_SWAP_USAGE) && s->swap_limit_bytes != CGSTATS_UNLIMITED) {
        s->swap_available_bytes = minus_or_zero(s->swap_limit_bytes, s->swap_usage_bytes);
        s->has |= CG_SWAP_AVAILABLE;
    }
}

static void read_memory(struct reader *rd)
{
    const struct memory_files *f = rd->is_v2 ? &memory_v2 : &memory_v1;
    struct cg_sample *s = rd->s;
    int dir = dir_of(rd, SRC_MEMORY);

    read_value(rd, dir, f->usage, CG_MEM_USAGE, &s->mem_usage_bytes);
    read_memory_stat(rd, f);
    if (read_value(rd, dir, f->limit, CG_MEM_LIMIT, &s->mem_limit_bytes) == READ_OK)
        s->mem_limit_bytes = limit_of(s->mem_limit_bytes);
    /* CRI: available = limit - working set, meaningful under a limit only. */
    if ((s->has & CG_MEM_LIMIT) && (s->has & CG_MEM_WORKING_SET) &&
        s->mem_limit_bytes != CGSTATS_UNLIMITED) {
        s->mem_available_bytes = minus_or_zero(s->mem_limit_bytes, s->mem_working_set_bytes);
        s->has |= CG_MEM_AVAILABLE;
    }
    read_swap(rd, f);
}

static void read_pids(struct reader *rd)
{
    struct cg_sample *s = rd->s;
    int dir = dir_of(rd, SRC_PIDS);

    read_value(rd, dir, "pids.current", CG_PIDS_CURRENT, &s->pids_current);
    if (read_value(rd, dir, "pids.max", CG_PIDS_MAX, &s->pids_max) == READ_OK)
        s->pids_max = limit_of(s->pids_max);
}

/* One v1 blkio file's Read and Write sums. The throttle files count every
 * bio on current kernels; the plain ones belonged to CFQ, which is gone. */
static void read_blkio(struct reader *rd, const char *name, uint32_t field, uint64_t *ret_read,
                       uint64_t *ret_write)
{
    struct crib_err err;
    size_t len;

    if (slurp(rd, rd->dir[SRC_BLKIO], name, field, &len) != READ_OK)
        return;
    if (cgstats_blkio_parse(rd->buf, len, ret_read, ret_write, &err) < 0)
        rd->s->invalid |= field;
    else
        rd->s->has |= field;
}

static void read_io(struct reader *rd)
{
    struct cg_sample *s = rd->s;
    struct crib_err err;
    size_t len;

    if (!rd->is_v2) {
        read_blkio(rd, "blkio.throttle.io_service_bytes_recursive", CG_IO_BYTES, &s->io_read_bytes,
                   &s->io_write_bytes);
        read_blkio(rd, "blkio.throttle.io_serviced_recursive", CG_IO_OPS, &s->io_reads,
                   &s->io_writes);
    } else if (slurp(rd, rd->dir[SRC_V2], "io.stat", CG_IO_BYTES | CG_IO_OPS, &len) == READ_OK &&
               cgstats_io_stat_parse(rd->buf, len, s, &err) < 0) {
        s->invalid |= CG_IO_BYTES | CG_IO_OPS;
    }
}

static void read_psi(struct reader *rd)
{
    static const char *const files[] = {"cpu.pressure", "memory.pressure", "io.pressure"};
    static const uint32_t fields[] = {CG_PSI_CPU, CG_PSI_MEMORY, CG_PSI_IO};
    struct cg_psi *psi[] = {&rd->s->psi_cpu, &rd->s->psi_memory, &rd->s->psi_io};
    static const char *const populated_key[] = {"populated"};
    uint64_t populated = 0;
    uint32_t found;

    /* A hybrid host's v2 cgroup has tasks only if the runtime joined it too;
     * the PSI of an empty one would be zeros that mean nothing. */
    if (!rd->is_v2 && (read_keyed(rd, rd->dir[SRC_V2], "cgroup.events", 0, populated_key, 1,
                                  &populated, &found) != READ_OK ||
                       !found || !populated))
        return;
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        struct crib_err err;
        size_t len;

        if (slurp(rd, rd->dir[SRC_V2], files[i], fields[i], &len) != READ_OK)
            continue;
        if (cgstats_psi_parse(rd->buf, len, psi[i], &err) < 0)
            rd->s->invalid |= fields[i];
        else if (psi[i]->has_some || psi[i]->has_full)
            rd->s->has |= fields[i];
    }
}

/* Opens mount + path as an O_PATH dir in *ret_fd, or -1 when it is absent. */
static int open_dir(const char *mount, const char *path, int *ret_fd, struct crib_err *err)
{
    _cleanup_free_ char *dir = xasprintf("%s%s", mount, path);
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 && errno != ENOENT && errno != ENOTDIR)
        return crib_fail(err, CRIB_INTERNAL, errno, "open cgroup %s", dir);
    *ret_fd = fd;
    return 0;
}

static int open_dirs(struct reader *rd, const struct cgroup_layout *l, const char *path,
                     struct crib_err *err)
{
    bool found = false;
    int r = 0;

    for (size_t i = 0; r >= 0 && !rd->is_v2 && i < ARRAY_SIZE(v1_controllers); i++) {
        const char *mount = cgroup_v1_mount(l, v1_controllers[i]);

        if (mount)
            r = open_dir(mount, path, &rd->dir[i], err);
        found |= rd->dir[i] >= 0;
    }
    if (r >= 0 && l->v2_root)
        r = open_dir(l->v2_root, path, &rd->dir[SRC_V2], err);
    if (r < 0)
        return r;
    if (rd->is_v2 ? rd->dir[SRC_V2] < 0 : !found)
        return crib_fail(err, CRIB_NOT_FOUND, ENOENT, "no cgroup %s", path);
    return 0;
}

static void reader_done(struct reader *rd)
{
    for (size_t i = 0; i < N_SRC; i++)
        if (rd->dir[i] >= 0)
            close(rd->dir[i]);
}

int cgstats_read(const struct cgroup_layout *l, const char *path, struct cg_sample *ret,
                 struct crib_err *err)
{
    struct cg_sample s = {0};
    _cleanup_(reader_done) struct reader rd = {.is_v2 = l->version == CGROUP_V2, .s = &s};
    int r;

    for (size_t i = 0; i < N_SRC; i++)
        rd.dir[i] = -1;
    r = cgroup_path_check(path, err);
    if (r >= 0)
        r = open_dirs(&rd, l, path, err);
    if (r < 0)
        return r;
    s.timestamp_ns = clock_ns(CLOCK_REALTIME);
    s.monotonic_ns = clock_ns(CLOCK_MONOTONIC);
    if (rd.is_v2)
        read_cpu_v2(&rd);
    else
        read_cpu_v1(&rd);
    read_memory(&rd);
    read_pids(&rd);
    read_io(&rd);
    read_psi(&rd);
    *ret = s;
    return 0;
}

/* Δusage per second of Δtime; false when time did not advance or the counter
 * went back. */
static bool rate(uint64_t usage0, int64_t time0, uint64_t usage1, int64_t time1, uint64_t *ret)
{
    unsigned __int128 r;

    if (time1 <= time0 || usage1 < usage0)
        return false;
    r = (unsigned __int128)(usage1 - usage0) * 1000000000u / (uint64_t)(time1 - time0);
    *ret = r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
    return true;
}

bool cgstats_nano_cores(const struct cg_sample *prev, const struct cg_sample *cur,
                        uint64_t *ret_nano_cores)
{
    if (!prev || !(prev->has & CG_CPU_USAGE) || !(cur->has & CG_CPU_USAGE))
        return false;
    return rate(prev->cpu_usage_ns, prev->monotonic_ns, cur->cpu_usage_ns, cur->monotonic_ns,
                ret_nano_cores);
}

struct cache_entry {
    char key[CGSTATS_KEY_MAX + 1]; /* "" when free */
    uint64_t last_used;            /* the cache's tick at the last call, for LRU */
    uint64_t base_usage_ns;
    int64_t base_monotonic_ns;
    bool has_rate;
    uint64_t rate; /* computed when the base was last moved */
};

struct cgstats_cache {
    pthread_mutex_t lock;
    uint64_t tick;
    size_t capacity;
    struct cache_entry entries[];
};

struct cgstats_cache *cgstats_cache_new(size_t capacity)
{
    struct cgstats_cache *c;

    if (capacity == 0)
        capacity = 1;
    c = xcalloc(1, sizeof(*c) + capacity * sizeof(c->entries[0]));
    pthread_mutex_init(&c->lock, NULL);
    c->capacity = capacity;
    return c;
}

void cgstats_cache_free(struct cgstats_cache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* key's entry, or NULL; with make, a free or the least recently used one,
 * reset for key. */
static struct cache_entry *entry_for(struct cgstats_cache *c, const char *key, bool make)
{
    struct cache_entry *victim = &c->entries[0];

    for (size_t i = 0; i < c->capacity; i++) {
        struct cache_entry *e = &c->entries[i];

        if (strcmp(e->key, key) == 0)
            return e;
        if (victim->key[0] && (!e->key[0] || e->last_used < victim->last_used))
            victim = e;
    }
    if (!make)
        return NULL;
    memset(victim, 0, sizeof(*victim));
    memcpy(victim->key, key, strnlen(key, CGSTATS_KEY_MAX)); /* the caller checked it fits */
    return victim;
}

static void set_base(struct cache_entry *e, const struct cg_sample *cur)
{
    e->base_usage_ns = cur->cpu_usage_ns;
    e->base_monotonic_ns = cur->monotonic_ns;
}

bool cgstats_cache_rate(struct cgstats_cache *c, const char *key, const struct cg_sample *cur,
                        uint64_t *ret_nano_cores)
{
    _cleanup_unlock_ pthread_mutex_t *guard = NULL;
    struct cache_entry *e;
    uint64_t r;

    if (!(cur->has & CG_CPU_USAGE) || !key[0] ||
        strnlen(key, CGSTATS_KEY_MAX + 1) > CGSTATS_KEY_MAX)
        return false;
    guard = lock_guard(&c->lock);
    e = entry_for(c, key, false);
    if (!e) {
        e = entry_for(c, key, true);
        e->last_used = ++c->tick;
        set_base(e, cur);
        return false;
    }
    e->last_used = ++c->tick;
    if (cur->monotonic_ns < e->base_monotonic_ns ||
        (uint64_t)cur->monotonic_ns - (uint64_t)e->base_monotonic_ns >= CGSTATS_MIN_WINDOW_NS ||
        cur->cpu_usage_ns < e->base_usage_ns) {
        e->has_rate =
            rate(e->base_usage_ns, e->base_monotonic_ns, cur->cpu_usage_ns, cur->monotonic_ns, &r);
        e->rate = e->has_rate ? r : 0;
        set_base(e, cur); /* also after a reset: the new counter is the next base */
    }
    if (e->has_rate)
        *ret_nano_cores = e->rate;
    return e->has_rate;
}

void cgstats_cache_forget(struct cgstats_cache *c, const char *key)
{
    _cleanup_unlock_ pthread_mutex_t *guard = lock_guard(&c->lock);
    struct cache_entry *e = key[0] ? entry_for(c, key, false) : NULL;

    if (e)
        memset(e, 0, sizeof(*e));
}
