/* The parsers of cgroupfs text behind cgstats_read (declared in cgstats.h, so
 * that tests and the fuzz target reach them). */
#include "sandbox/cgstats.h"

#include <string.h>

#include "common/cleanup.h"
#include "sandbox/internal.h"

#define KEYED_MAX 32

static int bad_line(struct crib_err *err, const struct scan *s, const char *what)
{
    return crib_fail(err, CRIB_INVALID, 0, "line %u: %s", s->lineno, what);
}

static int cut_line(struct crib_err *err, const struct scan *s)
{
    return crib_fail(err, CRIB_INVALID, 0,
                     "line %u: no newline at its end, or longer than %d bytes", s->lineno,
                     SCAN_LINE_MAX);
}

static size_t key_index(const char *const *keys, size_t n_keys, struct span word)
{
    size_t i;

    for (i = 0; i < n_keys; i++)
        if (scan_is(word, keys[i]))
            break;
    return i;
}

int cgstats_keyed_parse(const char *text, size_t len, const char *const *keys, size_t n_keys,
                        uint64_t *ret_values, uint32_t *ret_found, struct crib_err *err)
{
    struct scan s = scan_init(text, len);
    uint64_t values[KEYED_MAX];
    uint32_t found = 0;
    struct span line, key, value, extra;
    int r;

    if (n_keys > KEYED_MAX)
        return crib_fail(err, CRIB_INVALID, 0, "at most %d keys", KEYED_MAX);
    while ((r = scan_line(&s, &line)) > 0) {
        size_t i;

        if (!scan_word(&line, &key))
            continue;
        i = key_index(keys, n_keys, key);
        if (i == n_keys)
            continue; /* newer kernels add keys */
        if (!scan_word(&line, &value) || scan_word(&line, &extra) || !scan_u64(value, &values[i]))
            return bad_line(err, &s, "the value of a counter is not a decimal u64");
        found |= 1u << i;
    }
    if (r < 0)
        return cut_line(err, &s);
    for (size_t i = 0; i < n_keys; i++)
        if (found & (1u << i))
            ret_values[i] = values[i];
    *ret_found = found;
    return 0;
}

int cgstats_value_parse(const char *text, size_t len, uint64_t *ret_value, struct crib_err *err)
{
    struct scan s = scan_init(text, len);
    struct span line, word, extra;
    uint64_t v;
    int r = scan_line(&s, &line);

    if (r < 0)
        return cut_line(err, &s);
    if (r == 0 || !scan_word(&line, &word) || scan_word(&line, &extra) || s.p != s.end)
        return bad_line(err, &s, "expected one value on one line");
    if (scan_is(word, "max"))
        v = CGSTATS_UNLIMITED;
    else if (!scan_u64(word, &v))
        return bad_line(err, &s, "not a decimal u64 or \"max\"");
    *ret_value = v;
    return 0;
}

/* A PSI average, printed by the kernel as "%lu.%02lu": a percentage. */
static bool parse_avg(struct span s, double *ret)
{
    struct span whole, frac;
    uint64_t w, f, scale = 1;

    if (!scan_split(s, '.', &whole, &frac) || whole.n > 3 || frac.n > 6 || !scan_u64(whole, &w) ||
        !scan_u64(frac, &f))
        return false;
    for (size_t i = 0; i < frac.n; i++)
        scale *= 10;
    *ret = (double)w + (double)f / (double)scale;
    return *ret <= 100.0;
}

/* "avg10=A avg60=B avg300=C total=T", in any order; other words ignored. */
static bool parse_psi_data(struct span line, struct cg_psi_data *ret)
{
    static const char *const names[] = {"avg10", "avg60", "avg300", "total"};
    double *avgs[] = {&ret->avg10, &ret->avg60, &ret->avg300};
    struct span word, name, value;
    unsigned seen = 0;
    uint64_t total_us = 0;

    while (scan_word(&line, &word)) {
        size_t i;

        if (!scan_split(word, '=', &name, &value))
            return false;
        i = key_index(names, ARRAY_SIZE(names), name);
        if (i < 3 && !parse_avg(value, avgs[i]))
            return false;
        if (i == 3 && (!scan_u64(value, &total_us) || total_us > UINT64_MAX / 1000))
            return false;
        if (i < ARRAY_SIZE(names))
            seen |= 1u << i;
    }
    ret->total_ns = total_us * 1000;
    return seen == 0xf;
}

int cgstats_psi_parse(const char *text, size_t len, struct cg_psi *ret, struct crib_err *err)
{
    struct scan s = scan_init(text, len);
    struct cg_psi psi = {0};
    struct span line, kind;
    int r;

    while ((r = scan_line(&s, &line)) > 0) {
        bool is_some, is_full;

        if (!scan_word(&line, &kind))
            continue;
        is_some = scan_is(kind, "some");
        is_full = scan_is(kind, "full");
        if (!is_some && !is_full)
            continue;
        if (!parse_psi_data(line, is_some ? &psi.some : &psi.full))
            return bad_line(err, &s, "expected avg10=, avg60=, avg300= (percent) and total=");
        psi.has_some |= is_some;
        psi.has_full |= is_full;
    }
    if (r < 0)
        return cut_line(err, &s);
    *ret = psi;
    return 0;
}

/* A block device as "MAJ:MIN". */
static bool is_device(struct span word)
{
    struct span major, minor;
    uint64_t v;

    return scan_split(word, ':', &major, &minor) && scan_u64(major, &v) && scan_u64(minor, &v);
}

/* One io.stat line after its device: adds the four counters to sums. */
static bool add_io_line(struct span line, uint64_t sums[4])
{
    static const char *const names[] = {"rbytes", "wbytes", "rios", "wios"};
    struct span word, name, value;

    while (scan_word(&line, &word)) {
        uint64_t v;
        size_t i;

        if (!scan_split(word, '=', &name, &value))
            return false;
        i = key_index(names, ARRAY_SIZE(names), name);
        if (i == ARRAY_SIZE(names))
            continue; /* dbytes, dios, cost.* (not all integers) */
        if (!scan_u64(value, &v) || !scan_add(sums[i], v, &sums[i]))
            return false;
    }
    return true;
}

int cgstats_io_stat_parse(const char *text, size_t len, struct cg_sample *ret, struct crib_err *err)
{
    struct scan s = scan_init(text, len);
    uint64_t sums[4] = {0};
    struct span line, device;
    int r;

    while ((r = scan_line(&s, &line)) > 0) {
        if (!scan_word(&line, &device))
            continue;
        if (!is_device(device) || !add_io_line(line, sums))
            return bad_line(err, &s, "expected MAJ:MIN and key=u64 counters");
    }
    if (r < 0)
        return cut_line(err, &s);
    ret->io_read_bytes = sums[0];
    ret->io_write_bytes = sums[1];
    ret->io_reads = sums[2];
    ret->io_writes = sums[3];
    ret->has |= CG_IO_BYTES | CG_IO_OPS;
    return 0;
}

int cgstats_blkio_parse(const char *text, size_t len, uint64_t *ret_read, uint64_t *ret_write,
                        struct crib_err *err)
{
    struct scan s = scan_init(text, len);
    uint64_t read = 0, write = 0, v;
    struct span line, first, op, value, extra;
    int r;

    while ((r = scan_line(&s, &line)) > 0) {
        if (!scan_word(&line, &first))
            continue;
        if (scan_is(first, "Total") && scan_word(&line, &value) && scan_u64(value, &v) &&
            !scan_word(&line, &extra))
            continue; /* the grand total closes the file */
        if (!is_device(first) || !scan_word(&line, &op) || !scan_word(&line, &value) ||
            scan_word(&line, &extra) || !scan_u64(value, &v))
            return bad_line(err, &s, "expected MAJ:MIN OPERATION u64");
        if ((scan_is(op, "Read") && !scan_add(read, v, &read)) ||
            (scan_is(op, "Write") && !scan_add(write, v, &write)))
            return bad_line(err, &s, "the sum overflows");
    }
    if (r < 0)
        return cut_line(err, &s);
    *ret_read = read;
    *ret_write = write;
    return 0;
}
