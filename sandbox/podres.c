#include "sandbox/podres.h"

#include <json-c/json.h>
#include <stddef.h>

#include "common/xalloc.h"

#define DEFAULT_CPU_PERIOD_US 100000

static struct json_object *limits_to_json(const struct cgroup_limits *l)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "cpu_shares", json_object_new_int64(l->cpu_shares));
    json_object_object_add(o, "cpu_quota", json_object_new_int64(l->cpu_quota_us));
    json_object_object_add(o, "cpu_period", json_object_new_int64(l->cpu_period_us));
    json_object_object_add(o, "memory_limit_in_bytes", json_object_new_int64(l->memory_bytes));
    if (l->cpuset_cpus)
        json_object_object_add(o, "cpuset_cpus", json_object_new_string(l->cpuset_cpus));
    if (l->cpuset_mems)
        json_object_object_add(o, "cpuset_mems", json_object_new_string(l->cpuset_mems));
    return o;
}

char *podres_to_json(const struct cgroup_limits *overhead, const struct cgroup_limits *resources)
{
    struct json_object *o = json_object_new_object();
    char *text;

    if (overhead)
        json_object_object_add(o, "overhead", limits_to_json(overhead));
    if (resources)
        json_object_object_add(o, "resources", limits_to_json(resources));
    text = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return text;
}

/* A quota in microseconds per period_us. */
static int64_t quota_in_period(int64_t quota_us, int64_t of_period_us, int64_t period_us)
{
    return quota_us * period_us / of_period_us;
}

struct cgroup_limits podres_total(const struct cgroup_limits *overhead,
                                  const struct cgroup_limits *resources)
{
    struct cgroup_limits t = *resources;
    const struct cgroup_limits none = {0};
    const struct cgroup_limits *o = overhead ? overhead : &none;

    if (t.cpu_shares > 0 && o->cpu_shares > 0)
        t.cpu_shares += o->cpu_shares;
    if (t.memory_bytes > 0 && o->memory_bytes > 0)
        t.memory_bytes += o->memory_bytes;
    if (t.cpu_quota_us > 0 && o->cpu_quota_us > 0) {
        int64_t period = t.cpu_period_us ? t.cpu_period_us : DEFAULT_CPU_PERIOD_US;

        t.cpu_quota_us += quota_in_period(
            o->cpu_quota_us, o->cpu_period_us ? o->cpu_period_us : DEFAULT_CPU_PERIOD_US, period);
    }
    return t;
}
