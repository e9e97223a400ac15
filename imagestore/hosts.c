#include "imagestore/hosts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/xalloc.h"
#include "imagestore/toml.h"

#define ALL_CAPS (HOSTS_CAP_PULL | HOSTS_CAP_RESOLVE | HOSTS_CAP_PUSH)

/* What a section says beyond struct hosts_endpoint. It is applied when the
 * file has been read, because override_path may come after the URL. */
struct section {
    char *url; /* the name in [host."URL"] */
    bool override_path;
};

struct hosts_parser {
    const char *file;            /* HOST_DIR/hosts.toml, for messages */
    const char *host_dir;        /* relative paths are relative to it */
    struct hosts_config *config; /* the [host."URL"] sections so far */
    struct section sections[HOSTS_MAX_ENDPOINTS];
    struct hosts_endpoint origin;
    bool has_server;
    bool origin_override_path;
};

static int fail_at(const struct hosts_parser *hp, const struct toml_event *ev, enum crib_code code,
                   struct crib_err *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail_at(const struct hosts_parser *hp, const struct toml_event *ev, enum crib_code code,
                   struct crib_err *err, const char *fmt, ...)
{
    char msg[CRIB_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return crib_fail(err, code, 0, "%s:%u: %s", hp->file, ev->line, msg);
}

static int bad_type(const struct hosts_parser *hp, const struct toml_event *ev, const char *what,
                    struct crib_err *err)
{
    return fail_at(hp, ev, CRIB_INVALID, err, "'%s' must be %s", ev->key, what);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* ":PORT" with PORT in 1..65535, or nothing. */
static const char *check_port(const char *s, size_t n)
{
    unsigned port = 0;

    if (n == 0)
        return NULL;
    if (s[0] != ':' || n < 2 || n > 6)
        return "bad port";
    for (size_t i = 1; i < n; i++) {
        if (!is_digit(s[i]))
            return "bad port";
        port = port * 10 + (unsigned)(s[i] - '0');
    }
    return port == 0 || port > 65535 ? "bad port" : NULL;
}

/* host[:port] or [IPv6][:port], as a reference's domain and a URL's
 * authority are written. No user info: credentials do not belong here. */
static const char *check_authority(const char *s, size_t n)
{
    size_t i = 0;

    if (n == 0)
        return "no host";
    if (s[0] == '[') {
        for (i = 1; i < n && s[i] != ']'; i++)
            if (!is_digit(s[i]) && !strchr("abcdefABCDEF:.", s[i]))
                return "bad IPv6 address";
        if (i == n || i == 1)
            return "bad IPv6 address";
        return check_port(s + i + 1, n - i - 1);
    }
    while (i < n && (is_alnum(s[i]) || s[i] == '-' || s[i] == '.' || s[i] == '_'))
        i++;
    if (i == 0)
        return "no host";
    if (i < n && s[i] != ':')
        return "bad character in host";
    return check_port(s + i, n - i);
}

/* The path's segments joined by '/', without empty and "." segments, so
 * "/" and "/a//b/" become "" and "/a/b". */
static const char *clean_path(const char *path, char **ret)
{
    _cleanup_free_ char *out = xmalloc(strlen(path) + 1);
    size_t n = 0;

    for (const char *p = path; *p;) {
        size_t len = strcspn(p, "/");

        if (len == 2 && memcmp(p, "..", 2) == 0)
            return "'..' in path";
        if (len > 0 && !(len == 1 && *p == '.')) {
            out[n++] = '/';
            memcpy(out + n, p, len);
            n += len;
        }
        p += len;
        if (*p == '/')
            p++;
    }
    out[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(out[i]) && !strchr("/-._~!$&'()*+,;=:@%", out[i]))
            return "bad character in path";
    *ret = TAKE_PTR(out);
    return NULL;
}

/* Fills ep's scheme, host and (until finish_endpoint) bare path from url;
 * returns what is wrong with it, or NULL. Without "scheme://" it is https,
 * as containerd reads "mirror.example.com". */
static const char *parse_url(const char *url, struct hosts_endpoint *ep)
{
    const char *sep = strstr(url, "://"), *auth = url, *scheme = "https", *problem;
    char *path = NULL;
    size_t n_auth;

    if (sep) {
        if (sep - url == 4 && strncasecmp(url, "http", 4) == 0)
            scheme = "http";
        else if (sep - url != 5 || strncasecmp(url, "https", 5) != 0)
            return "the scheme must be http or https";
        auth = sep + 3;
    }
    n_auth = strcspn(auth, "/");
    problem = check_authority(auth, n_auth);
    if (!problem)
        problem = clean_path(auth + n_auth, &path);
    if (problem)
        return problem;
    ep->scheme = xstrdup(scheme);
    ep->host = xasprintf("%.*s", (int)n_auth, auth);
    ep->api_root = path;
    return NULL;
}

/* The API root is the URL's path + "/v2" (containerd leaves a path that
 * already ends in /v2 alone), or the path as is with override_path. No
 * capabilities, or an empty list, means all of them, as in containerd. */
static void finish_endpoint(struct hosts_endpoint *ep, bool override_path)
{
    size_t n = strlen(ep->api_root);
    char *root;

    if (!ep->capabilities)
        ep->capabilities = ALL_CAPS;
    if (override_path || (n >= 3 && strcmp(ep->api_root + n - 3, "/v2") == 0))
        return;
    root = xasprintf("%s/v2", ep->api_root);
    free(ep->api_root);
    ep->api_root = root;
}

static void default_origin(const char *host, struct hosts_endpoint *ep)
{
    ep->scheme = xstrdup("https");
    /* docker.io is a name for the index; its registry API is served here. */
    ep->host = xstrdup(strcmp(host, "docker.io") == 0 ? "registry-1.docker.io" : host);
    ep->api_root = xstrdup("");
}

static char *abs_path(const char *dir, const char *path)
{
    return path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", dir, path);
}

static int add_ca(const struct hosts_parser *hp, const struct toml_event *ev,
                  struct hosts_endpoint *ep, const char *path, struct crib_err *err)
{
    if (!*path)
        return fail_at(hp, ev, CRIB_INVALID, err, "'ca' has an empty path");
    if (ep->n_cas == HOSTS_MAX_FILES)
        return fail_at(hp, ev, CRIB_LIMIT, err, "more than %d CA files", HOSTS_MAX_FILES);
    ep->cas[ep->n_cas++] = abs_path(hp->host_dir, path);
    return 0;
}

static int set_cas(const struct hosts_parser *hp, const struct toml_event *ev,
                   struct hosts_endpoint *ep, struct crib_err *err)
{
    const struct toml_value *v = ev->value;
    int r;

    if (v->type == TOML_STRING)
        return add_ca(hp, ev, ep, v->str, err);
    if (v->type != TOML_ARRAY)
        return bad_type(hp, ev, "a path or an array of paths", err);
    for (size_t i = 0; i < v->n_items; i++) {
        if (v->items[i].type != TOML_STRING)
            return bad_type(hp, ev, "a path or an array of paths", err);
        r = add_ca(hp, ev, ep, v->items[i].str, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* key NULL or "" means the cert file holds the key too (containerd). */
static int add_client(const struct hosts_parser *hp, const struct toml_event *ev,
                      struct hosts_endpoint *ep, const char *cert, const char *key,
                      struct crib_err *err)
{
    struct hosts_client_cert *c;

    if (!*cert)
        return fail_at(hp, ev, CRIB_INVALID, err, "'client' has an empty path");
    if (ep->n_clients == HOSTS_MAX_FILES)
        return fail_at(hp, ev, CRIB_LIMIT, err, "more than %d client certificates",
                       HOSTS_MAX_FILES);
    c = &ep->clients[ep->n_clients++];
    c->cert = abs_path(hp->host_dir, cert);
    c->key = key && *key ? abs_path(hp->host_dir, key) : NULL;
    return 0;
}

static bool is_string_pair(const struct toml_value *v)
{
    return v->type == TOML_ARRAY && v->n_items == 2 && v->items[0].type == TOML_STRING &&
           v->items[1].type == TOML_STRING;
}

static int set_clients(const struct hosts_parser *hp, const struct toml_event *ev,
                       struct hosts_endpoint *ep, struct crib_err *err)
{
    static const char what[] = "a path, or an array of paths and [\"cert\", \"key\"] pairs";
    const struct toml_value *v = ev->value;
    int r;

    if (v->type == TOML_STRING)
        return add_client(hp, ev, ep, v->str, NULL, err);
    if (v->type != TOML_ARRAY)
        return bad_type(hp, ev, what, err);
    for (size_t i = 0; i < v->n_items; i++) {
        const struct toml_value *item = &v->items[i];

        if (item->type == TOML_STRING)
            r = add_client(hp, ev, ep, item->str, NULL, err);
        else if (is_string_pair(item))
            r = add_client(hp, ev, ep, item->items[0].str, item->items[1].str, err);
        else
            r = bad_type(hp, ev, what, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int set_capabilities(const struct hosts_parser *hp, const struct toml_event *ev,
                            struct hosts_endpoint *ep, struct crib_err *err)
{
    const struct toml_value *v = ev->value;

    if (v->type != TOML_ARRAY)
        return bad_type(hp, ev, "an array of strings", err);
    for (size_t i = 0; i < v->n_items; i++) {
        const char *cap = v->items[i].str;

        if (v->items[i].type != TOML_STRING)
            return bad_type(hp, ev, "an array of strings", err);
        if (strcasecmp(cap, "pull") == 0)
            ep->capabilities |= HOSTS_CAP_PULL;
        else if (strcasecmp(cap, "resolve") == 0)
            ep->capabilities |= HOSTS_CAP_RESOLVE;
        else if (strcasecmp(cap, "push") == 0)
            ep->capabilities |= HOSTS_CAP_PUSH;
        else if (strcasecmp(cap, "referrers") != 0) /* containerd 2's; crib asks no referrers */
            return fail_at(hp, ev, CRIB_INVALID, err, "unknown capability '%s'", cap);
    }
    return 0;
}

/* An HTTP field name is a token (RFC 9110 5.1); a value has no CR, LF or
 * other control character, so a header cannot smuggle another one in. */
static int add_header(const struct hosts_parser *hp, const struct toml_event *ev,
                      struct hosts_endpoint *ep, const char *value, struct crib_err *err)
{
    for (const char *c = ev->key; *c; c++)
        if (!is_alnum(*c) && !strchr("!#$%&'*+-.^_`|~", *c))
            return fail_at(hp, ev, CRIB_INVALID, err, "header name '%s' is not a token", ev->key);
    if (!*ev->key)
        return fail_at(hp, ev, CRIB_INVALID, err, "empty header name");
    for (const char *c = value; *c; c++)
        if ((*c > 0 && *c < ' ' && *c != '\t') || *c == 0x7f)
            return fail_at(hp, ev, CRIB_INVALID, err, "header '%s' has a control character",
                           ev->key);
    if (ep->n_headers == HOSTS_MAX_HEADERS)
        return fail_at(hp, ev, CRIB_LIMIT, err, "more than %d header values", HOSTS_MAX_HEADERS);
    ep->headers[ep->n_headers].name = xstrdup(ev->key);
    ep->headers[ep->n_headers++].value = xstrdup(value);
    return 0;
}

static int bad_header(const struct hosts_parser *hp, const struct toml_event *ev, const char *name,
                      struct crib_err *err)
{
    return fail_at(hp, ev, CRIB_INVALID, err, "header '%s' must be a string or an array of strings",
                   name);
}

/* A key of a [header] table: a string, or an array of strings that each
 * become one field line. */
static int set_header(const struct hosts_parser *hp, const struct toml_event *ev,
                      struct hosts_endpoint *ep, struct crib_err *err)
{
    const struct toml_value *v = ev->value;
    int r;

    if (v->type == TOML_STRING)
        return add_header(hp, ev, ep, v->str, err);
    for (size_t i = 0; v->type == TOML_ARRAY && i < v->n_items; i++) {
        if (v->items[i].type != TOML_STRING)
            return bad_header(hp, ev, ev->key, err);
        r = add_header(hp, ev, ep, v->items[i].str, err);
        if (r < 0)
            return r;
    }
    return v->type == TOML_ARRAY ? 0 : bad_header(hp, ev, ev->key, err);
}

static int set_bool(const struct hosts_parser *hp, const struct toml_event *ev, bool *out,
                    struct crib_err *err)
{
    if (ev->value->type != TOML_BOOL)
        return bad_type(hp, ev, "true or false", err);
    *out = ev->value->boolean;
    return 0;
}

/* Keys that mean the same at the top (the origin) and in [host."URL"]. */
static int endpoint_key(const struct hosts_parser *hp, const struct toml_event *ev,
                        struct hosts_endpoint *ep, bool *override_path, struct crib_err *err)
{
    const char *key = ev->key;

    if (strcmp(key, "capabilities") == 0)
        return set_capabilities(hp, ev, ep, err);
    if (strcmp(key, "ca") == 0)
        return set_cas(hp, ev, ep, err);
    if (strcmp(key, "client") == 0)
        return set_clients(hp, ev, ep, err);
    if (strcmp(key, "skip_verify") == 0)
        return set_bool(hp, ev, &ep->skip_verify, err);
    if (strcmp(key, "override_path") == 0)
        return set_bool(hp, ev, override_path, err);
    if (strcmp(key, "header") == 0)
        return bad_type(hp, ev, "a [table]", err);
    /* Other keys (dial_timeout, ...) are ignored, as containerd ignores unknown keys. */
    return 0;
}

static int origin_key(struct hosts_parser *hp, const struct toml_event *ev, struct crib_err *err)
{
    const char *problem;

    if (strcmp(ev->key, "host") == 0)
        return bad_type(hp, ev, "a [table]", err);
    if (strcmp(ev->key, "server") != 0)
        return endpoint_key(hp, ev, &hp->origin, &hp->origin_override_path, err);
    if (ev->value->type != TOML_STRING)
        return bad_type(hp, ev, "a URL string", err);
    problem = parse_url(ev->value->str, &hp->origin);
    if (problem)
        return fail_at(hp, ev, CRIB_INVALID, err, "server '%s': %s", ev->value->str, problem);
    hp->has_server = true;
    return 0;
}

/* The index of the [host."URL"] section, added at its first mention so that
 * endpoints keep file order, as containerd keeps it. */
static int find_mirror(struct hosts_parser *hp, const struct toml_event *ev, size_t *ret_index,
                       struct crib_err *err)
{
    struct hosts_config *c = hp->config;
    const char *url = ev->table[1], *problem;

    for (size_t i = 0; i < c->n_endpoints; i++)
        if (strcmp(hp->sections[i].url, url) == 0) {
            *ret_index = i;
            return 0;
        }
    /* One slot stays free for the origin. */
    if (c->n_endpoints + 1 == HOSTS_MAX_ENDPOINTS)
        return fail_at(hp, ev, CRIB_LIMIT, err, "more than %d endpoints", HOSTS_MAX_ENDPOINTS);
    problem = parse_url(url, &c->endpoints[c->n_endpoints]);
    if (problem)
        return fail_at(hp, ev, CRIB_INVALID, err, "host '%s': %s", url, problem);
    hp->sections[c->n_endpoints].url = xstrdup(url);
    *ret_index = c->n_endpoints++;
    return 0;
}

/* A [header] table's key, or a table below [header] (a type error). */
static int header_event(const struct hosts_parser *hp, const struct toml_event *ev, size_t depth,
                        struct hosts_endpoint *ep, struct crib_err *err)
{
    if (ev->n_table > depth)
        return bad_header(hp, ev, ev->table[depth], err);
    return ev->key ? set_header(hp, ev, ep, err) : 0;
}

static int on_event(void *userdata, const struct toml_event *ev, struct crib_err *err)
{
    struct hosts_parser *hp = userdata;
    size_t i = 0;
    int r;

    if (ev->n_table == 0)
        return origin_key(hp, ev, err);
    if (strcmp(ev->table[0], "header") == 0)
        return header_event(hp, ev, 1, &hp->origin, err);
    if (strcmp(ev->table[0], "host") != 0)
        return 0; /* an unknown table */
    if (ev->n_table == 1)
        return ev->key ? fail_at(hp, ev, CRIB_INVALID, err, "host '%s' must be a [table]", ev->key)
                       : 0;
    r = find_mirror(hp, ev, &i, err);
    if (r < 0)
        return r;
    if (ev->n_table == 2)
        return ev->key ? endpoint_key(hp, ev, &hp->config->endpoints[i],
                                      &hp->sections[i].override_path, err)
                       : 0;
    if (strcmp(ev->table[2], "header") == 0)
        return header_event(hp, ev, 3, &hp->config->endpoints[i], err);
    return 0;
}

static void endpoint_done(struct hosts_endpoint *ep)
{
    free(ep->scheme);
    free(ep->host);
    free(ep->api_root);
    for (size_t i = 0; i < ep->n_cas; i++)
        free(ep->cas[i]);
    for (size_t i = 0; i < ep->n_clients; i++) {
        free(ep->clients[i].cert);
        free(ep->clients[i].key);
    }
    for (size_t i = 0; i < ep->n_headers; i++) {
        free(ep->headers[i].name);
        free(ep->headers[i].value);
    }
    memset(ep, 0, sizeof(*ep));
}

void hosts_config_done(struct hosts_config *config)
{
    for (size_t i = 0; i < config->n_endpoints; i++)
        endpoint_done(&config->endpoints[i]);
    config->n_endpoints = 0;
}

static void hosts_config_freep(struct hosts_config **config)
{
    if (*config)
        hosts_config_done(*config);
    free(*config);
}

/* Moves the endpoints of from (a heap copy, kept off callers' stacks while
 * parsing) into to. */
static void move_config(struct hosts_config *to, struct hosts_config *from)
{
    memset(to, 0, sizeof(*to));
    memcpy(to->endpoints, from->endpoints, from->n_endpoints * sizeof(from->endpoints[0]));
    to->n_endpoints = from->n_endpoints;
    from->n_endpoints = 0;
}

static int check_host(const char *host, struct crib_err *err)
{
    const char *problem = check_authority(host, strlen(host));

    if (problem)
        return crib_fail(err, CRIB_INVALID, 0, "registry host '%s': %s", host, problem);
    return 0;
}

int hosts_parse(const char *text, size_t len, const char *host_dir, const char *host,
                struct hosts_config *ret_config, struct crib_err *err)
{
    _cleanup_free_ char *file = xasprintf("%s/hosts.toml", host_dir);
    _cleanup_(hosts_config_freep) struct hosts_config *c = xcalloc(1, sizeof(*c));
    struct hosts_parser hp = {.file = file, .host_dir = host_dir, .config = c};
    int r;

    if (len > HOSTS_TOML_MAX_BYTES)
        return crib_fail(err, CRIB_LIMIT, EFBIG, "%s: more than %u bytes", file,
                         HOSTS_TOML_MAX_BYTES);
    r = check_host(host, err);
    if (r >= 0)
        r = toml_parse(file, text, len, on_event, &hp, err);
    for (size_t i = 0; i < c->n_endpoints; i++)
        free(hp.sections[i].url);
    if (r < 0) {
        endpoint_done(&hp.origin);
        return r;
    }
    for (size_t i = 0; i < c->n_endpoints; i++)
        finish_endpoint(&c->endpoints[i], hp.sections[i].override_path);
    if (!hp.has_server)
        default_origin(host, &hp.origin);
    /* override_path applies to a configured server; the default one is /v2. */
    finish_endpoint(&hp.origin, hp.has_server && hp.origin_override_path);
    c->endpoints[c->n_endpoints++] = hp.origin;
    move_config(ret_config, c);
    return 0;
}

/* The directory for host in one certs.d dir: containerd 2 tries
 * "host_port_" before "host:port" (a name Windows can hold), then "_default".
 * *ret_dir is NULL when there is none. */
static int find_host_dir(const char *certs_dir, const char *host, char **ret_dir,
                         struct crib_err *err)
{
    const char *colon = strrchr(host, ':');
    _cleanup_free_ char *mangled = NULL;
    const char *names[3];
    size_t n = 0;

    if (colon && !strchr(colon, ']'))
        names[n++] = mangled = xasprintf("%.*s_%s_", (int)(colon - host), host, colon + 1);
    names[n++] = host;
    names[n++] = "_default";
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *path = xasprintf("%s/%s", certs_dir, names[i]);
        struct stat st;

        if (stat(path, &st) < 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                continue;
            return crib_fail(err, CRIB_INTERNAL, errno, "stat %s", path);
        }
        if (S_ISDIR(st.st_mode)) {
            *ret_dir = TAKE_PTR(path);
            return 0;
        }
    }
    *ret_dir = NULL;
    return 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n > m && strcmp(s + n - m, suffix) == 0;
}

/* Certificate file names of a Docker certs.d dir, sorted so that the order
 * does not depend on the file system. */
struct name_list {
    size_t n;
    char *names[2 * HOSTS_MAX_FILES];
};

static void name_list_done(struct name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_cert_files(const char *dir, DIR *d, struct name_list *l, struct crib_err *err)
{
    struct dirent *de;

    while ((de = readdir(d))) {
        const char *name = de->d_name;
        struct stat st;

        /* Dot files are editors' and kubelet's (..data), not certificates. */
        if (name[0] == '.' || !(has_suffix(name, ".crt") || has_suffix(name, ".cert")))
            continue;
        if (fstatat(dirfd(d), name, &st, 0) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (l->n == ARRAY_SIZE(l->names))
            return crib_fail(err, CRIB_LIMIT, 0, "%s: more than %zu certificate files", dir,
                             ARRAY_SIZE(l->names));
        l->names[l->n++] = xstrdup(name);
    }
    qsort(l->names, l->n, sizeof(l->names[0]), name_cmp);
    return 0;
}

/* X.cert's key is X.key beside it; Docker refuses a .cert without one. */
static int add_docker_client(const char *dir, const char *name, struct hosts_endpoint *ep,
                             struct crib_err *err)
{
    _cleanup_free_ char *cert = xasprintf("%s/%s", dir, name);
    _cleanup_free_ char *key =
        xasprintf("%s/%.*s.key", dir, (int)(strlen(name) - strlen(".cert")), name);
    struct stat st;

    if (stat(key, &st) < 0 || !S_ISREG(st.st_mode))
        return crib_fail(err, CRIB_INVALID, 0, "client certificate %s has no key file %s", cert,
                         key);
    if (ep->n_clients == HOSTS_MAX_FILES)
        return crib_fail(err, CRIB_LIMIT, 0, "%s: more than %d client certificates", dir,
                         HOSTS_MAX_FILES);
    ep->clients[ep->n_clients].cert = TAKE_PTR(cert);
    ep->clients[ep->n_clients++].key = TAKE_PTR(key);
    return 0;
}

/* Docker's layout: every *.crt is a CA for the origin, every X.cert with
 * X.key a client certificate. */
static int load_docker_files(const char *dir, struct hosts_endpoint *ep, struct crib_err *err)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    _cleanup_(name_list_done) struct name_list l = {0};
    int r;

    if (!d)
        return crib_fail(err, CRIB_INTERNAL, errno, "open %s", dir);
    r = list_cert_files(dir, d, &l, err);
    for (size_t i = 0; r >= 0 && i < l.n; i++) {
        if (has_suffix(l.names[i], ".cert"))
            r = add_docker_client(dir, l.names[i], ep, err);
        else if (ep->n_cas == HOSTS_MAX_FILES)
            r = crib_fail(err, CRIB_LIMIT, 0, "%s: more than %d CA files", dir, HOSTS_MAX_FILES);
        else
            ep->cas[ep->n_cas++] = xasprintf("%s/%s", dir, l.names[i]);
    }
    return r;
}

/* The origin alone, with the Docker files of dir if there is one. */
static int load_origin(const char *dir, const char *host, struct hosts_config *ret_config,
                       struct crib_err *err)
{
    _cleanup_(hosts_config_freep) struct hosts_config *c = xcalloc(1, sizeof(*c));
    int r;

    c->n_endpoints = 1;
    default_origin(host, &c->endpoints[0]);
    finish_endpoint(&c->endpoints[0], false);
    if (dir) {
        r = load_docker_files(dir, &c->endpoints[0], err);
        if (r < 0)
            return r;
    }
    move_config(ret_config, c);
    return 0;
}

static int load_dir(const char *dir, const char *host, struct hosts_config *ret_config,
                    struct crib_err *err)
{
    _cleanup_free_ char *path = xasprintf("%s/hosts.toml", dir);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    _cleanup_free_ char *text = NULL;
    size_t len = 0;

    if (fd < 0 && errno != ENOENT)
        return crib_fail(err, CRIB_INTERNAL, errno, "open %s", path);
    if (fd >= 0 && fs_read_fd(fd, HOSTS_TOML_MAX_BYTES, &text, &len, err) < 0)
        return crib_wrap(err, "%s", path);
    /* containerd reads an empty hosts.toml as no hosts.toml. */
    if (len == 0)
        return load_origin(dir, host, ret_config, err);
    return hosts_parse(text, len, dir, host, ret_config, err);
}

int hosts_load(const char *const *dirs, const char *host, struct hosts_config *ret_config,
               struct crib_err *err)
{
    _cleanup_free_ char *dir = NULL;
    int r = check_host(host, err);

    for (const char *const *d = dirs; r >= 0 && d && *d && !dir; d++)
        r = find_host_dir(*d, host, &dir, err);
    if (r < 0)
        return r;
    if (dir)
        return load_dir(dir, host, ret_config, err);
    return load_origin(NULL, host, ret_config, err);
}
