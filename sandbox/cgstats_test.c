#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "sandbox/cgstats.h"

#define MIB (1024ull * 1024)
#define CTR "/crib/crib-abc"

static char root[] = "/tmp/crib-cgstats-test-XXXXXX";

/* Writes text to root/rel, making the dirs above it. */
static void put(const char *rel, const char *text)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", root, rel);
    struct crib_err err;

    *strrchr(path, '/') = '\0';
    CHECK_INT(fs_mkdir_p(path, 0755, &err), 0);
    path[strlen(path)] = '/';
    CHECK_INT(fs_write_volatile(path, text, strlen(text), 0644, &err), 0);
}

/* A layout from a mountinfo naming fake mounts below root: "v1" adds the
 * cpu,cpuacct memory pids and blkio hierarchies, "v2" a cgroup2 tree. */
static void fake_layout(const char *dir, bool has_v1, bool has_v2, struct cgroup_layout *ret)
{
    static const char *const v1[] = {"cpu,cpuacct", "memory", "pids", "blkio"};
    _cleanup_free_ char *mountinfo = xasprintf("%s/%s/mountinfo", root, dir);
    _cleanup_fclose_ FILE *f = NULL;
    struct crib_err err;

    put(mountinfo + strlen(root) + 1, "");
    f = fopen(mountinfo, "we");
    for (size_t i = 0; has_v1 && i < ARRAY_SIZE(v1); i++)
        fprintf(f, "3%zu 30 0:2%zu / %s/%s/%s rw - cgroup cgroup rw,%s\n", i, i, root, dir, v1[i],
                v1[i]);
    if (has_v2)
        fprintf(f, "39 30 0:29 / %s/%s/unified rw - cgroup2 cgroup2 rw\n", root, dir);
    fclose(TAKE_PTR(f));
    CHECK_INT(cgroup_layout_detect(mountinfo, ret, &err), 0);
}

static void put_v1_files(const char *dir)
{
    struct {
        const char *name, *text;
    } files[] = {
        {"cpu,cpuacct" CTR "/cpuacct.usage", "123456789\n"},
        {"cpu,cpuacct" CTR "/cpuacct.stat", "user 150\nsystem 50\n"},
        {"cpu,cpuacct" CTR "/cpu.stat", "nr_periods 10\nnr_throttled 3\nthrottled_time 4500\n"
                                        "nr_bursts 0\nburst_time 0\n"},
        {"memory" CTR "/memory.usage_in_bytes", "10485760\n"},
        {"memory" CTR "/memory.stat",
         "cache 1\nrss 2\ninactive_file 3\ntotal_cache 3000000\ntotal_rss 4194304\n"
         "total_mapped_file 1000\ntotal_pgfault 500\ntotal_pgmajfault 7\n"
         "total_inactive_file 2097152\ntotal_active_file 5\n"},
        {"memory" CTR "/memory.limit_in_bytes", "67108864\n"},
        {"memory" CTR "/memory.memsw.usage_in_bytes", "11534336\n"},
        {"memory" CTR "/memory.memsw.limit_in_bytes", "9223372036854771712\n"},
        {"pids" CTR "/pids.current", "5\n"},
        {"pids" CTR "/pids.max", "max\n"},
        {"blkio" CTR "/blkio.throttle.io_service_bytes_recursive",
         "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Discard 0\n"
         "8:0 Total 12288\n8:16 Read 100\n8:16 Write 0\n8:16 Total 100\nTotal 12388\n"},
        {"blkio" CTR "/blkio.throttle.io_serviced_recursive",
         "8:0 Read 4\n8:0 Write 2\n8:0 Total 6\nTotal 6\n"},
    };

    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        _cleanup_free_ char *rel = xasprintf("%s/%s", dir, files[i].name);

        put(rel, files[i].text);
    }
}

static void put_v2_files(const char *dir, const char *populated)
{
    struct {
        const char *name, *text;
    } files[] = {
        {"cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 20\n"
                     "nr_throttled 2\nthrottled_usec 1500\nnr_bursts 0\nburst_usec 0\n"},
        {"memory.current", "8388608\n"},
        {"memory.stat", "anon 4194304\nfile 3145728\nkernel 12\nfile_mapped 65536\n"
                        "inactive_file 1048576\nactive_file 2097152\npgfault 900\npgmajfault 9\n"},
        {"memory.max", "max\n"},
        {"memory.swap.current", "4096\n"},
        {"memory.swap.max", "1048576\n"},
        {"pids.current", "3\n"},
        {"pids.max", "100\n"},
        {"io.stat", "8:0 rbytes=1000 wbytes=2000 rios=10 wios=20 dbytes=0 dios=0\n"
                    "253:1 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0 cost.vrate=100.00\n"},
        {"cpu.pressure", "some avg10=1.50 avg60=0.25 avg300=0.05 total=123456\n"
                         "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
        {"memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=540\n"
                            "full avg10=0.00 avg60=0.00 avg300=0.00 total=383\n"},
        {"io.pressure", "some avg10=0.19 avg60=0.66 avg300=0.70 total=4399139\n"
                        "full avg10=0.11 avg60=0.57 avg300=99.99 total=4054584\n"},
        {"cgroup.events", populated},
    };

    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        _cleanup_free_ char *rel = xasprintf("%s/unified" CTR "/%s", dir, files[i].name);

        put(rel, files[i].text);
    }
}

static void check_v1_values(const struct cg_sample *s)
{
    uint64_t tick_ns = 1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK);

    CHECK_INT(s->cpu_usage_ns, 123456789);
    CHECK_INT(s->cpu_user_ns, 150 * tick_ns);
    CHECK_INT(s->cpu_system_ns, 50 * tick_ns);
    CHECK_INT(s->cpu_periods, 10);
    CHECK_INT(s->cpu_throttled_periods, 3);
    CHECK_INT(s->cpu_throttled_ns, 4500);
    CHECK_INT(s->mem_usage_bytes, 10 * MIB);
    CHECK_INT(s->mem_working_set_bytes, 8 * MIB);
    CHECK_INT(s->mem_rss_bytes, 4 * MIB);
    CHECK_INT(s->mem_cache_bytes, 3000000);
    CHECK_INT(s->mem_mapped_file_bytes, 1000);
    CHECK_INT(s->mem_page_faults, 500);
    CHECK_INT(s->mem_major_page_faults, 7);
    CHECK_INT(s->mem_limit_bytes, 64 * MIB);
    CHECK_INT(s->mem_available_bytes, 56 * MIB);
    CHECK_INT(s->swap_usage_bytes, 1 * MIB);
    CHECK(s->swap_limit_bytes == CGSTATS_UNLIMITED);
    CHECK_INT(s->pids_current, 5);
    CHECK(s->pids_max == CGSTATS_UNLIMITED);
    CHECK_INT(s->io_read_bytes, 4196);
    CHECK_INT(s->io_write_bytes, 8192);
    CHECK_INT(s->io_reads, 4);
    CHECK_INT(s->io_writes, 2);
}

#define V1_FIELDS                                                                                  \
    (CG_CPU_USAGE | CG_CPU_SPLIT | CG_CPU_THROTTLING | CG_MEM_USAGE | CG_MEM_WORKING_SET |         \
     CG_MEM_RSS | CG_MEM_CACHE | CG_MEM_FAULTS | CG_MEM_LIMIT | CG_MEM_AVAILABLE | CG_SWAP_USAGE | \
     CG_SWAP_LIMIT | CG_PIDS_CURRENT | CG_PIDS_MAX | CG_IO_BYTES | CG_IO_OPS)
#define PSI_FIELDS (CG_PSI_CPU | CG_PSI_MEMORY | CG_PSI_IO)

static int test_v1_reads_every_field(void)
{
    struct cgroup_layout l;
    struct cg_sample s;
    struct crib_err err;
    struct timespec before;

    fake_layout("v1", true, false, &l);
    put_v1_files("v1");
    clock_gettime(CLOCK_REALTIME, &before);
    CHECK_INT(cgstats_read(&l, CTR, &s, &err), 0);
    CHECK_INT(s.has, V1_FIELDS);
    CHECK_INT(s.invalid, 0);
    check_v1_values(&s);
    CHECK(s.timestamp_ns >= (int64_t)before.tv_sec * 1000000000 + before.tv_nsec);
    CHECK(s.monotonic_ns > 0);
    cgroup_layout_done(&l);
    return 0;
}

static void check_v2_values(const struct cg_sample *s)
{
    CHECK_INT(s->cpu_usage_ns, 2500000000ull);
    CHECK_INT(s->cpu_user_ns, 2000000000ull);
    CHECK_INT(s->cpu_system_ns, 500000000ull);
    CHECK_INT(s->cpu_periods, 20);
    CHECK_INT(s->cpu_throttled_periods, 2);
    CHECK_INT(s->cpu_throttled_ns, 1500000);
    CHECK_INT(s->mem_usage_bytes, 8 * MIB);
    CHECK_INT(s->mem_working_set_bytes, 7 * MIB);
    CHECK_INT(s->mem_rss_bytes, 4 * MIB);
    CHECK_INT(s->mem_cache_bytes, 3 * MIB);
    CHECK_INT(s->mem_mapped_file_bytes, 65536);
    CHECK_INT(s->mem_page_faults, 900);
    CHECK_INT(s->mem_major_page_faults, 9);
    CHECK(s->mem_limit_bytes == CGSTATS_UNLIMITED);
    CHECK_INT(s->swap_usage_bytes, 4096);
    CHECK_INT(s->swap_limit_bytes, 1 * MIB);
    CHECK_INT(s->swap_available_bytes, 1 * MIB - 4096);
    CHECK_INT(s->pids_current, 3);
    CHECK_INT(s->pids_max, 100);
    CHECK_INT(s->io_read_bytes, 1001);
    CHECK_INT(s->io_write_bytes, 2002);
    CHECK_INT(s->io_reads, 13);
    CHECK_INT(s->io_writes, 24);
}

static void check_psi_values(const struct cg_sample *s)
{
    CHECK(s->psi_cpu.has_some && s->psi_cpu.has_full);
    CHECK(s->psi_cpu.some.avg10 == 1.5 && s->psi_cpu.some.avg60 == 0.25);
    CHECK(s->psi_cpu.some.avg300 == 0.05);
    CHECK_INT(s->psi_cpu.some.total_ns, 123456000);
    CHECK_INT(s->psi_memory.full.total_ns, 383000);
    CHECK(s->psi_io.full.avg300 == 99.99 && s->psi_io.some.avg60 == 0.66);
    CHECK_INT(s->psi_io.some.total_ns, 4399139000ull);
}

static int test_v2_reads_every_field(void)
{
    /* No limit, so no available bytes; swap is limited, so it has them. */
    uint32_t want = (V1_FIELDS & ~(uint32_t)CG_MEM_AVAILABLE) | CG_SWAP_AVAILABLE | PSI_FIELDS;
    struct cgroup_layout l;
    struct cg_sample s;
    struct crib_err err;

    fake_layout("v2", false, true, &l);
    put_v2_files("v2", "populated 0\nfrozen 0\n");
    CHECK_INT(l.version, CGROUP_V2);
    CHECK_INT(cgstats_read(&l, CTR, &s, &err), 0);
    CHECK_INT(s.has, want);
    CHECK_INT(s.invalid, 0);
    check_v2_values(&s);
    check_psi_values(&s); /* an empty v2 cgroup's PSI is real data */
    cgroup_layout_done(&l);
    return 0;
}

/* Counters from v1 (the v2 tree's cpu.stat is ignored); PSI from v2 only
 * while the v2 cgroup holds tasks. */
static int test_hybrid_takes_psi_from_a_populated_v2_cgroup(void)
{
    struct cgroup_layout l;
    struct cg_sample s;
    struct crib_err err;

    fake_layout("hybrid", true, true, &l);
    put_v1_files("hybrid");
    put_v2_files("hybrid", "populated 1\nfrozen 0\n");
    CHECK_INT(l.version, CGROUP_V1);
    CHECK_INT(cgstats_read(&l, CTR, &s, &err), 0);
    CHECK_INT(s.has, V1_FIELDS | PSI_FIELDS);
    check_v1_values(&s);
    check_psi_values(&s);
    put("hybrid/unified" CTR "/cgroup.events", "populated 0\nfrozen 0\n");
    CHECK_INT(cgstats_read(&l, CTR, &s, &err), 0);
    CHECK_INT(s.has, V1_FIELDS);
    CHECK(!s.psi_cpu.has_some && !s.psi_io.has_full);
    cgroup_layout_done(&l);
    return 0;
}

static int test_missing_files_leave_fields_unset(void)
{
    struct cgroup_layout l;
    struct cg_sample s;
    struct crib_err err;

    fake_layout("sparse", true, false, &l);
    put("sparse/cpu,cpuacct" CTR "/cpuacct.usage", "42\n");
    CHECK_INT(cgstats_read(&l, CTR, &s, &err), 0);
    CHECK_INT(s.has, CG_CPU_USAGE);
    CHECK_INT(s.invalid, 0);
    CHECK_INT(s.cpu_usage_ns, 42);
    /* Usage without memory.stat gives no working set; memsw without usage no swap. */
    put("sparse/memory" CTR "/memory.memsw.usage_in_bytes", "100\n");
    CHECK_INT(cgstats_read(&l, CTR, &s, &err), 0);
    CHECK_INT(s.has, CG_CPU_USAGE);
    put("sparse/memory" CTR "/memory.usage_in_bytes", "60\n");
    CHECK_INT(cgstats_read(&l, CTR, &s, &err), 0);
    CHECK_INT(s.has, CG_CPU_USAGE | CG_MEM_USAGE | CG_SWAP_USAGE);
    CHECK_INT(s.swap_usage_bytes, 40);
    cgroup_layout_done(&l);
    return 0;
}

static int test_cpuacct_stat_stands_in_for_a_missing_usage(void)
{
    uint64_t tick_ns = 1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK);
    struct cgroup_layout l;
    struct cg_sample s;
    struct crib_err err;

    fake_layout("ticks", true, false, &l);
    put("ticks/cpu,cpuacct" CTR "/cpuacct.stat", "user 7\nsystem 3\n");
    CHECK_INT(cgstats_read(&l, CTR, &s, &err), 0);
    CHECK_INT(s.has, CG_CPU_USAGE | CG_CPU_SPLIT);
    CHECK_INT(s.cpu_usage_ns, 10 * tick_ns);
    cgroup_layout_done(&l);
    return 0;
}

static int test_garbage_files_are_marked_invalid(void)
{
    char huge[25600];
    struct cgroup_layout l;
    struct cg_sample s;
    struct crib_err err;

    fake_layout("garbage", true, true, &l);
    put("garbage/cpu,cpuacct" CTR "/cpuacct.usage", "12ab\n");
    put("garbage/cpu,cpuacct" CTR "/cpuacct.stat", "user 99999999999999999999\nsystem 1\n");
    put("garbage/cpu,cpuacct" CTR "/cpu.stat", "nr_periods -1\n");
    put("garbage/memory" CTR "/memory.usage_in_bytes", "100"); /* cut: no newline */
    put("garbage/memory" CTR "/memory.limit_in_bytes", "");
    put("garbage/pids" CTR "/pids.current", "99999999999999999999999\n");
    put("garbage/pids" CTR "/pids.max", "12\n13\n");
    put("garbage/blkio" CTR "/blkio.throttle.io_serviced_recursive", "8:0 Read\n");
    put("garbage/unified" CTR "/cgroup.events", "populated 1\n");
    put("garbage/unified" CTR "/cpu.pressure", "some avg10=101.00 avg60=0 avg300=0 total=1\n");
    memset(huge, 'x', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    for (size_t i = 0; i + 1 < sizeof(huge); i += 100)
        huge[i] = '\n';
    put("garbage/memory" CTR "/memory.stat", huge); /* 25 KiB: over the read cap */
    CHECK_INT(cgstats_read(&l, CTR, &s, &err), 0);
    CHECK_INT(s.has, 0);
    CHECK_INT(s.invalid, CG_CPU_USAGE | CG_CPU_SPLIT | CG_CPU_THROTTLING | CG_MEM_USAGE |
                             CG_MEM_WORKING_SET | CG_MEM_RSS | CG_MEM_CACHE | CG_MEM_FAULTS |
                             CG_MEM_LIMIT | CG_PIDS_CURRENT | CG_PIDS_MAX | CG_IO_OPS | CG_PSI_CPU);
    cgroup_layout_done(&l);
    return 0;
}

static int test_unknown_cgroup_and_bad_path(void)
{
    struct cgroup_layout l;
    struct cg_sample s;
    struct crib_err err;

    fake_layout("v1", true, false, &l);
    CHECK(cgstats_read(&l, "/crib/crib-gone", &s, &err) < 0);
    CHECK_INT(err.code, CRIB_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "/crib/crib-gone");
    CHECK(cgstats_read(&l, "/crib/../etc", &s, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    cgroup_layout_done(&l);
    fake_layout("v2", false, true, &l);
    CHECK(cgstats_read(&l, "/crib/crib-gone", &s, &err) < 0);
    CHECK_INT(err.code, CRIB_NOT_FOUND);
    cgroup_layout_done(&l);
    return 0;
}

struct keyed_case {
    const char *text;
    size_t len; /* 0: strlen */
    int code;   /* -1: parses */
    uint32_t found;
    uint64_t a;
};

static int test_keyed_parse_cases(void)
{
    static const char *const keys[] = {"a", "b"};
    static const struct keyed_case cases[] = {
        {"a 1\nb 2\n", 0, -1, 3, 1},
        {"zz 1 2 3\na 5\nweird\n\n", 0, -1, 1, 5},
        {"", 0, -1, 0, 0},
        {"a 18446744073709551615\n", 0, -1, 1, UINT64_MAX},
        {"a 18446744073709551616\n", 0, CRIB_INVALID, 0, 0},
        {"a -1\n", 0, CRIB_INVALID, 0, 0},
        {"a 0x10\n", 0, CRIB_INVALID, 0, 0},
        {"a\n", 0, CRIB_INVALID, 0, 0},
        {"a 1 2\n", 0, CRIB_INVALID, 0, 0},
        {"a 1", 0, CRIB_INVALID, 0, 0},
        {"a 1\0\n", 5, CRIB_INVALID, 0, 0},
        {"a  \t 7\n", 0, -1, 1, 7},
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct keyed_case *c = &cases[i];
        uint64_t v[2] = {0};
        uint32_t found = 99;
        struct crib_err err;
        int r = cgstats_keyed_parse(c->text, c->len ? c->len : strlen(c->text), keys, 2, v, &found,
                                    &err);

        if (c->code < 0) {
            CHECK_INT(r, 0);
            CHECK_INT(found, c->found);
            CHECK(v[0] == c->a);
        } else {
            CHECK(r < 0);
            CHECK_INT(err.code, c->code);
            CHECK_INT(found, 99); /* outputs untouched on failure */
        }
    }
    return 0;
}

static int test_keyed_parse_refuses_a_long_line(void)
{
    static const char *const keys[] = {"a"};
    char line[2048];
    uint64_t v;
    uint32_t found;
    struct crib_err err;

    memset(line, 'k', sizeof(line));
    line[sizeof(line) - 1] = '\n';
    CHECK(cgstats_keyed_parse(line, sizeof(line), keys, 1, &v, &found, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "longer than 1024");
    return 0;
}

static int test_value_parse_cases(void)
{
    static const char *const bad[] = {"", "\n", "12\n13\n", "-1\n", "12", "1 2\n", "maxx\n"};
    struct crib_err err;
    uint64_t v = 7;

    CHECK_INT(cgstats_value_parse("123\n", 4, &v, &err), 0);
    CHECK_INT(v, 123);
    CHECK_INT(cgstats_value_parse("max\n", 4, &v, &err), 0);
    CHECK(v == CGSTATS_UNLIMITED);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        v = 7;
        CHECK(cgstats_value_parse(bad[i], strlen(bad[i]), &v, &err) < 0);
        CHECK_INT(err.code, CRIB_INVALID);
        CHECK_INT(v, 7);
    }
    return 0;
}

static int test_psi_parse_cases(void)
{
    static const char *const bad[] = {
        "some avg10=101.00 avg60=0.00 avg300=0.00 total=1\n",
        "some avg10=1.50\n",
        "some avg10=abc avg60=0.00 avg300=0.00 total=1\n",
        "some avg10=.5 avg60=0.00 avg300=0.00 total=1\n",
        "some avg10=1. avg60=0.00 avg300=0.00 total=1\n",
        "some avg10=1.0 avg60=0.00 avg300=0.00 total=18446744073709551615\n",
        "some avg10=1.0 avg60=0.00 avg300=0.00 total=1 junk\n",
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0",
    };
    struct cg_psi psi;
    struct crib_err err;
    const char *only_some = "some avg10=0.01 avg300=2.00 avg60=0.00 total=7 later=1\nodd line\n";

    CHECK_INT(cgstats_psi_parse(only_some, strlen(only_some), &psi, &err), 0);
    CHECK(psi.has_some && !psi.has_full);
    CHECK(psi.some.avg10 == 0.01 && psi.some.avg300 == 2.0);
    CHECK_INT(psi.some.total_ns, 7000);
    CHECK_INT(cgstats_psi_parse("", 0, &psi, &err), 0);
    CHECK(!psi.has_some && !psi.has_full);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        CHECK(cgstats_psi_parse(bad[i], strlen(bad[i]), &psi, &err) < 0);
        CHECK_INT(err.code, CRIB_INVALID);
    }
    return 0;
}

static int test_io_parse_cases(void)
{
    static const char *const bad_io[] = {
        "8:0 rbytes=x\n",
        "sda rbytes=1\n",
        "8:0 rbytes=1 junk\n",
        "8 rbytes=1\n",
        "8:0 rbytes=18446744073709551615\n8:1 rbytes=1\n",
        "8:0 rbytes=1",
    };
    static const char *const bad_blkio[] = {"8:0 Read\n", "8:0 Read 5 6\n", "Total\n",
                                            "x:0 Read 1\n",
                                            "8:0 Read 18446744073709551615\n8:1 Read 1\n"};
    struct cg_sample s = {0};
    struct crib_err err;
    uint64_t rd = 0, wr = 0;

    CHECK_INT(cgstats_io_stat_parse("", 0, &s, &err), 0);
    CHECK_INT(s.has, CG_IO_BYTES | CG_IO_OPS); /* no line: no IO yet, all zero */
    CHECK_INT(s.io_read_bytes + s.io_writes, 0);
    for (size_t i = 0; i < ARRAY_SIZE(bad_io); i++) {
        CHECK(cgstats_io_stat_parse(bad_io[i], strlen(bad_io[i]), &s, &err) < 0);
        CHECK_INT(err.code, CRIB_INVALID);
    }
    CHECK_INT(cgstats_blkio_parse("Total 0\n", 8, &rd, &wr, &err), 0);
    CHECK_INT(rd + wr, 0);
    for (size_t i = 0; i < ARRAY_SIZE(bad_blkio); i++) {
        CHECK(cgstats_blkio_parse(bad_blkio[i], strlen(bad_blkio[i]), &rd, &wr, &err) < 0);
        CHECK_INT(err.code, CRIB_INVALID);
    }
    return 0;
}

static struct cg_sample cpu_at(uint64_t usage_ns, int64_t monotonic_ns)
{
    return (struct cg_sample){
        .has = CG_CPU_USAGE, .cpu_usage_ns = usage_ns, .monotonic_ns = monotonic_ns};
}

static int test_nano_cores_math(void)
{
    struct cg_sample a = cpu_at(1000000000, 5000000000), b = cpu_at(2000000000, 7000000000);
    struct cg_sample no_cpu = {.monotonic_ns = 1}, back = cpu_at(10, 9000000000);
    struct cg_sample huge = cpu_at(UINT64_MAX, 5000000001);
    uint64_t r = 0;

    CHECK(cgstats_nano_cores(&a, &b, &r));
    CHECK_INT(r, 500000000); /* 1 s of CPU in 2 s: half a core */
    CHECK(!cgstats_nano_cores(NULL, &b, &r));
    CHECK(!cgstats_nano_cores(&b, &b, &r)); /* time did not advance */
    CHECK(!cgstats_nano_cores(&b, &a, &r));
    CHECK(!cgstats_nano_cores(&b, &back, &r)); /* a restart: unset, not negative */
    CHECK(!cgstats_nano_cores(&no_cpu, &b, &r));
    CHECK(!cgstats_nano_cores(&a, &no_cpu, &r));
    CHECK(cgstats_nano_cores(&a, &huge, &r));
    CHECK(r == UINT64_MAX); /* saturates instead of wrapping */
    return 0;
}

static int test_cache_rates_windows_and_restarts(void)
{
    struct cgstats_cache *c = cgstats_cache_new(4);
    struct cg_sample s;
    char long_key[CGSTATS_KEY_MAX + 2];
    uint64_t r = 0;

    s = cpu_at(1000000000, 10000000000);
    CHECK(!cgstats_cache_rate(c, "ctr", &s, &r)); /* first sight */
    s = cpu_at(6000000000, 20000000000);
    CHECK(cgstats_cache_rate(c, "ctr", &s, &r));
    CHECK_INT(r, 500000000);
    s = cpu_at(6900000000, 20100000000); /* 0.1 s later: the base stays */
    r = 0;
    CHECK(cgstats_cache_rate(c, "ctr", &s, &r));
    CHECK_INT(r, 500000000);
    s = cpu_at(9000000000, 22000000000); /* from the base at 20 s: 3 s over 2 s */
    CHECK(cgstats_cache_rate(c, "ctr", &s, &r));
    CHECK_INT(r, 1500000000);
    s = cpu_at(5, 23000000000); /* restarted: no rate, new base */
    CHECK(!cgstats_cache_rate(c, "ctr", &s, &r));
    s = cpu_at(250000005, 24000000000);
    CHECK(cgstats_cache_rate(c, "ctr", &s, &r));
    CHECK_INT(r, 250000000);
    cgstats_cache_forget(c, "ctr");
    s = cpu_at(300000000, 30000000000);
    CHECK(!cgstats_cache_rate(c, "ctr", &s, &r));
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    CHECK(!cgstats_cache_rate(c, long_key, &s, &r));
    s.has = 0;
    CHECK(!cgstats_cache_rate(c, "other", &s, &r));
    cgstats_cache_free(c);
    return 0;
}

static int test_cache_evicts_least_recently_used(void)
{
    struct cgstats_cache *c = cgstats_cache_new(2);
    struct cg_sample t0 = cpu_at(0, 1000000000), t1 = cpu_at(1000000000, 3000000000);
    struct cg_sample t2 = cpu_at(2000000000, 5000000000);
    uint64_t r;

    CHECK(!cgstats_cache_rate(c, "a", &t0, &r));
    CHECK(!cgstats_cache_rate(c, "b", &t0, &r));
    CHECK(cgstats_cache_rate(c, "a", &t1, &r));  /* a is now the most recent */
    CHECK(!cgstats_cache_rate(c, "c", &t1, &r)); /* full: b goes */
    CHECK(cgstats_cache_rate(c, "a", &t2, &r));
    CHECK_INT(r, 500000000);
    CHECK(cgstats_cache_rate(c, "c", &t2, &r));
    CHECK(!cgstats_cache_rate(c, "b", &t2, &r)); /* was evicted: starts over */
    cgstats_cache_free(c);
    return 0;
}

struct hammer {
    struct cgstats_cache *cache;
    char key[16];
    unsigned wrong, rates;
};

/* Each thread feeds its own key a steady half core; a torn entry would give
 * another rate. */
static void *hammer(void *arg)
{
    struct hammer *h = arg;

    for (int64_t i = 1; i <= 20000; i++) {
        struct cg_sample s = cpu_at((uint64_t)i * 1000000000, i * 2000000000);
        uint64_t r;

        if (cgstats_cache_rate(h->cache, h->key, &s, &r)) {
            h->rates++;
            h->wrong += r != 500000000;
        }
    }
    return NULL;
}

static int test_cache_is_thread_safe(void)
{
    struct hammer h[4];
    pthread_t t[4];
    struct cgstats_cache *c = cgstats_cache_new(8);

    for (size_t i = 0; i < 4; i++) {
        h[i] = (struct hammer){.cache = c};
        snprintf(h[i].key, sizeof(h[i].key), "pod-%zu", i);
        pthread_create(&t[i], NULL, hammer, &h[i]);
    }
    for (size_t i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(h[i].wrong, 0);
        CHECK_INT(h[i].rates, 19999);
    }
    cgstats_cache_free(c);
    return 0;
}

/* The path of controller (v1, "cpuacct") or of the v2 tree (NULL) in
 * /proc/self/cgroup, or NULL. */
static char *own_cgroup(const char *controller)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
    char line[4096];

    while (f && fgets(line, sizeof(line), f)) {
        char *list = strchr(line, ':'), *path = list ? strchr(list + 1, ':') : NULL;

        if (!path)
            continue;
        *path++ = '\0';
        path[strcspn(path, "\n")] = '\0';
        list++;
        if (controller ? strstr(list, controller) != NULL : *list == '\0')
            return xstrdup(path);
    }
    return NULL;
}

static int check_own(const struct cgroup_layout *l, const char *controller, uint32_t field)
{
    _cleanup_free_ char *path = own_cgroup(l->version == CGROUP_V2 ? NULL : controller);
    struct cg_sample s;
    struct crib_err err;

    if (l->version == CGROUP_V1 && !cgroup_v1_mount(l, controller)) {
        printf("  (no %s hierarchy on this host: not checked)\n", controller);
        return 0;
    }
    CHECK(path != NULL);
    if (!path)
        return 0;
    CHECK_INT(cgstats_read(l, path, &s, &err), 0);
    CHECK_INT(s.has & field, field);
    CHECK_INT(s.invalid, 0);
    if (field == CG_CPU_USAGE)
        CHECK(s.cpu_usage_ns > 0);
    if (field == CG_MEM_USAGE) {
        CHECK(s.mem_usage_bytes > 0);
        CHECK(!(s.has & CG_MEM_WORKING_SET) || s.mem_working_set_bytes <= s.mem_usage_bytes);
    }
    printf("  %s of %s: has 0x%x, cpu %llu ns, memory %llu bytes, psi %s\n", controller, path,
           s.has, (unsigned long long)s.cpu_usage_ns, (unsigned long long)s.mem_usage_bytes,
           s.has & CG_PSI_CPU ? "yes" : "no (v1 controllers, or no tasks in the v2 cgroup)");
    return 0;
}

static int test_reads_this_process_cgroup(void)
{
    struct cgroup_layout l;
    struct crib_err err;

    if (cgroup_layout_detect(NULL, &l, &err) < 0) {
        printf("  skip: %s\n", err.msg);
        return TEST_SKIP;
    }
    check_own(&l, "cpuacct", CG_CPU_USAGE);
    check_own(&l, "memory", CG_MEM_USAGE);
    cgroup_layout_done(&l);
    return 0;
}

int main(void)
{
    static const struct test_case cases[] = {
        TEST(test_v1_reads_every_field),
        TEST(test_v2_reads_every_field),
        TEST(test_hybrid_takes_psi_from_a_populated_v2_cgroup),
        TEST(test_missing_files_leave_fields_unset),
        TEST(test_cpuacct_stat_stands_in_for_a_missing_usage),
        TEST(test_garbage_files_are_marked_invalid),
        TEST(test_unknown_cgroup_and_bad_path),
        TEST(test_keyed_parse_cases),
        TEST(test_keyed_parse_refuses_a_long_line),
        TEST(test_value_parse_cases),
        TEST(test_psi_parse_cases),
        TEST(test_io_parse_cases),
        TEST(test_nano_cores_math),
        TEST(test_cache_rates_windows_and_restarts),
        TEST(test_cache_evicts_least_recently_used),
        TEST(test_cache_is_thread_safe),
        TEST(test_reads_this_process_cgroup),
    };
    struct crib_err err;
    int r;

    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    r = test_run(cases, ARRAY_SIZE(cases));
    if (fs_remove_tree_at(AT_FDCWD, root, &err) < 0)
        fprintf(stderr, "%s\n", err.msg);
    return r;
}
