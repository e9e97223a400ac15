#include "netcni/cniresult.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "netcni/internal.h"

CRIB_DEFINE_CLEANUP(struct cni_result, cni_result_free)

/* Returns the array at key (NULL when absent), or fails when it is not one or too long. */
static int get_array(struct json_object *obj, const char *key, size_t max, struct json_object **ret,
                     struct crib_err *err)
{
    struct json_object *v;

    *ret = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_array))
        return crib_fail(err, CRIB_INVALID, 0, "\"%s\" is not an array", key);
    if (json_object_array_length(v) > max)
        return crib_fail(err, CRIB_LIMIT, 0, "\"%s\" has more than %zu entries", key, max);
    *ret = v;
    return 0;
}

/* Returns the string at key, NULL when absent; fails when it is not a string. */
static int get_string(struct json_object *obj, const char *key, const char **ret,
                      struct crib_err *err)
{
    struct json_object *v;

    *ret = NULL;
    if (!json_object_object_get_ex(obj, key, &v))
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return crib_fail(err, CRIB_INVALID, 0, "\"%s\" is not a string", key);
    *ret = json_object_get_string(v);
    return 0;
}

/* Returns the address family of the plain address s, or 0. */
static int addr_family(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];

    if (inet_pton(AF_INET, s, buf) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, s, buf) == 1)
        return AF_INET6;
    return 0;
}

/* Returns the family of "address/prefix", or 0 when it is not a valid CIDR. */
static int cidr_family(const char *s)
{
    char addr[INET6_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : 0;
    int family, prefix = 0;

    if (!slash || n == 0 || n >= sizeof(addr) || !slash[1] || strlen(slash + 1) > 3)
        return 0;
    for (const char *p = slash + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        prefix = prefix * 10 + (*p - '0');
    }
    memcpy(addr, s, n);
    addr[n] = '\0';
    family = addr_family(addr);
    if (prefix > (family == AF_INET ? 32 : 128))
        return 0;
    return family;
}

static int parse_ip(struct json_object *o, size_t i, struct cni_ip *ip, struct crib_err *err)
{
    const char *address, *gateway;
    struct json_object *v;
    int r;

    if (!json_object_is_type(o, json_type_object))
        return crib_fail(err, CRIB_INVALID, 0, "ips[%zu] is not an object", i);
    r = get_string(o, "address", &address, err);
    if (r == 0)
        r = get_string(o, "gateway", &gateway, err);
    if (r < 0)
        return crib_wrap(err, "ips[%zu]", i);
    if (!address || !(ip->family = cidr_family(address)))
        return crib_fail(err, CRIB_INVALID, 0, "ips[%zu].address is not a CIDR", i);
    if (gateway && addr_family(gateway) != ip->family)
        return crib_fail(err, CRIB_INVALID, 0, "ips[%zu].gateway is not an address", i);
    snprintf(ip->address, sizeof(ip->address), "%s", address);
    snprintf(ip->gateway, sizeof(ip->gateway), "%s", gateway ? gateway : "");
    ip->interface = -1;
    if (!json_object_object_get_ex(o, "interface", &v))
        return 0;
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
        json_object_get_int64(v) >= CNI_RESULT_MAX_INTERFACES)
        return crib_fail(err, CRIB_INVALID, 0, "ips[%zu].interface is not an index", i);
    ip->interface = (int)json_object_get_int64(v);
    return 0;
}

static int parse_interface(struct json_object *o, size_t i, struct cni_interface *iface,
                           struct crib_err *err)
{
    const char *name, *sandbox, *mac;
    int r;

    if (!json_object_is_type(o, json_type_object))
        return crib_fail(err, CRIB_INVALID, 0, "interfaces[%zu] is not an object", i);
    r = get_string(o, "name", &name, err);
    if (r == 0)
        r = get_string(o, "sandbox", &sandbox, err);
    if (r == 0)
        r = get_string(o, "mac", &mac, err);
    if (r < 0)
        return crib_wrap(err, "interfaces[%zu]", i);
    if (!name || !*name)
        return crib_fail(err, CRIB_INVALID, 0, "interfaces[%zu].name is missing", i);
    iface->name = xstrdup(name);
    iface->sandbox = sandbox && *sandbox ? xstrdup(sandbox) : NULL;
    iface->mac = mac && *mac ? xstrdup(mac) : NULL;
    return 0;
}

static int parse_route(struct json_object *o, size_t i, struct crib_err *err)
{
    const char *dst, *gw;
    int r;

    if (!json_object_is_type(o, json_type_object))
        return crib_fail(err, CRIB_INVALID, 0, "routes[%zu] is not an object", i);
    r = get_string(o, "dst", &dst, err);
    if (r == 0)
        r = get_string(o, "gw", &gw, err);
    if (r < 0)
        return crib_wrap(err, "routes[%zu]", i);
    if (!dst || !cidr_family(dst))
        return crib_fail(err, CRIB_INVALID, 0, "routes[%zu].dst is not a CIDR", i);
    if (gw && !addr_family(gw))
        return crib_fail(err, CRIB_INVALID, 0, "routes[%zu].gw is not an address", i);
    return 0;
}

static int parse_dns(struct json_object *root, struct crib_err *err)
{
    struct json_object *dns, *list;
    int r;

    if (!json_object_object_get_ex(root, "dns", &dns))
        return 0;
    if (!json_object_is_type(dns, json_type_object))
        return crib_fail(err, CRIB_INVALID, 0, "\"dns\" is not an object");
    r = get_array(dns, "nameservers", CNI_RESULT_MAX_DNS_ENTRIES, &list, err);
    if (r < 0)
        return crib_wrap(err, "dns");
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        struct json_object *ns = json_object_array_get_idx(list, i);

        if (!json_object_is_type(ns, json_type_string) || !addr_family(json_object_get_string(ns)))
            return crib_fail(err, CRIB_INVALID, 0, "dns.nameservers[%zu] is not an address", i);
    }
    return 0;
}

static int parse_lists(struct json_object *root, struct cni_result *res, struct crib_err *err)
{
    struct json_object *ips, *ifaces, *routes;
    int r;

    r = get_array(root, "interfaces", CNI_RESULT_MAX_INTERFACES, &ifaces, err);
    for (size_t i = 0; r == 0 && ifaces && i < json_object_array_length(ifaces); i++) {
        r = parse_interface(json_object_array_get_idx(ifaces, i), i, &res->interfaces[i], err);
        res->n_interfaces += r == 0;
    }
    if (r == 0)
        r = get_array(root, "ips", CNI_RESULT_MAX_IPS, &ips, err);
    if (r == 0 && (!ips || json_object_array_length(ips) == 0))
        return crib_fail(err, CRIB_INVALID, 0, "no \"ips\": the pod would have no address");
    for (size_t i = 0; r == 0 && i < json_object_array_length(ips); i++) {
        r = parse_ip(json_object_array_get_idx(ips, i), i, &res->ips[i], err);
        if (r == 0 && res->ips[i].interface >= (int)res->n_interfaces)
            r = crib_fail(err, CRIB_INVALID, 0, "ips[%zu].interface is out of range", i);
        res->n_ips += r == 0;
    }
    if (r == 0)
        r = get_array(root, "routes", CNI_RESULT_MAX_ROUTES, &routes, err);
    for (size_t i = 0; r == 0 && routes && i < json_object_array_length(routes); i++)
        r = parse_route(json_object_array_get_idx(routes, i), i, err);
    return r < 0 ? r : parse_dns(root, err);
}

static bool only_space(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!strchr(" \t\r\n", s[i]) || !s[i])
            return false;
    return true;
}

int cni_result_parse(const char *json, size_t len, struct cni_result **ret_result,
                     struct crib_err *err)
{
    _cleanup_(json_putp) struct json_object *root = NULL;
    _cleanup_(cni_result_freep) struct cni_result *res = NULL;
    struct json_tokener *tok;
    enum json_tokener_error jerr;
    int r;

    if (len > CNI_RESULT_MAX_BYTES)
        return crib_fail(err, CRIB_LIMIT, 0, "CNI result over %u bytes", CNI_RESULT_MAX_BYTES);
    tok = json_tokener_new();
    root = json_tokener_parse_ex(tok, json, (int)len);
    jerr = json_tokener_get_error(tok);
    if (jerr == json_tokener_success &&
        !only_space(json + json_tokener_get_parse_end(tok), len - json_tokener_get_parse_end(tok)))
        jerr = json_tokener_error_parse_unexpected;
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success)
        return crib_fail(err, CRIB_INVALID, 0, "CNI result is not valid JSON: %s",
                         json_tokener_error_desc(jerr));
    if (!json_object_is_type(root, json_type_object))
        return crib_fail(err, CRIB_INVALID, 0, "CNI result is not a JSON object");
    res = xcalloc(1, sizeof(*res));
    r = parse_lists(root, res, err);
    if (r < 0)
        return crib_wrap(err, "CNI result");
    res->json = xstrndup(json, len);
    res->json_len = strlen(res->json);
    *ret_result = TAKE_PTR(res);
    return 0;
}

void cni_result_free(struct cni_result *result)
{
    if (!result)
        return;
    for (size_t i = 0; i < result->n_interfaces; i++) {
        free(result->interfaces[i].name);
        free(result->interfaces[i].sandbox);
        free(result->interfaces[i].mac);
    }
    free(result->json);
    free(result);
}
